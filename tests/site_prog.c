/* site_prog.c: 64 distinct call sites of malloc in one program, for tests/rollout.sh (run
 * under LD_PRELOAD with the candidate table that sends 1010 bytes to Pool).
 *   site_prog SIZE   prints "base 0x..." (where the program is loaded), then one line per
 *                    site: "site K usable N" (N: malloc_usable_size of that site's block:
 *                    1024 from legacy's Tiny, 2048 from the candidate's Pool)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

static size_t size;
/* macros that define functions: clang-format cannot parse them (it would read (k) * 0 as a cast) */
/* clang-format off */
#define SITE(k)                                                                             \
    __attribute__((noinline)) static size_t site_##k(void)                                 \
    {                                                                                       \
        void *p = malloc(size + (k) * 0);                                                   \
        size_t u = malloc_usable_size(p);                                                   \
        __asm__ volatile("" ::: "memory");                                                  \
        free(p);                                                                            \
        return u + (k) * 0;                                                                 \
    }
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
SITES8(1) SITES8(2) SITES8(3) SITES8(4) SITES8(5) SITES8(6) SITES8(7) SITES8(8)
#define REF8(a) site_##a##0, site_##a##1, site_##a##2, site_##a##3, site_##a##4, site_##a##5, site_##a##6, site_##a##7
static size_t (*const sites[64])(void) = {REF8(1), REF8(2), REF8(3), REF8(4), REF8(5), REF8(6), REF8(7), REF8(8)};
/* clang-format on */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: site_prog SIZE\n");
        return 2;
    }
    size = strtoul(argv[1], NULL, 10);
    printf("base %p\n", (void *)main);
    for (int k = 0; k < 64; k++)
        printf("site %d usable %zu\n", k, sites[k]());
    return 0;
}
