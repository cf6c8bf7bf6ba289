/* routes_env.c: integration check of routing as configured from the environment. Linked
 * against the real libhakmem (public API only). Allocates at every boundary through both
 * entries (malloc, hak_alloc_at) and checks hak_box_of against the README's routing table
 * for the knobs given in the environment (HAKMEM_ACE_ENABLED, HAKMEM_WRAP_L2).
 * Prints one line per mismatch and "routes_env: N checked, M wrong"; exits 1 on any mismatch.
 */
#include <hakmem.h>

#include "hk_expect.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int env_knob(const char *name)
{
    const char *s = getenv(name);
    return s ? atoi(s) : 1;
}

int main(void)
{
    static const size_t sizes[] = {0,     1,       16,      1023,    1024,    1025,   2048,
                                   4097,  8191,    8192,    8193,    16384,   32767,  32768,
                                   32769, 33792,   40960,   40961,   53248,   53249,  65536,
                                   65537, 1 << 20, 2097151, 2097152, 2097153, 4 << 20};
    int ace = env_knob("HAKMEM_ACE_ENABLED"), wrap = env_knob("HAKMEM_WRAP_L2");
    int checked = 0, wrong = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int via = 0; via < 2; via++) {
            size_t n = sizes[i];
            void *p = via ? malloc(n) : hak_alloc_at(n, (hak_callsite_t)&main);
            if (!p) {
                printf("size %zu via %s: NULL\n", n, via ? "malloc" : "hak_alloc_at");
                wrong++;
                continue;
            }
            memset(p, 0xab, n);
            hak_box_t got = hak_box_of(p), want = hk_expect_box(n, via, ace, wrap);
            checked++;
            if (got != want) {
                printf("size %zu via %s: box %s, expected %s\n", n, via ? "malloc" : "hak_alloc_at",
                       hak_box_name(got), hak_box_name(want));
                wrong++;
            }
            if (via)
                free(p);
            else
                hak_free(p);
        }
    }
    printf("routes_env: ACE_ENABLED=%d WRAP_L2=%d: %d checked, %d wrong\n", ace, wrap, checked,
           wrong);
    return wrong ? 1 : 0;
}
