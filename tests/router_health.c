/* router_health.c: the Central Router's counters in a real process. Linked against the real
 * libhakmem (public API only): ~1000 mallocs and frees of mixed sizes through the malloc
 * family, then prints the router's view:
 *   total_routes=N route_failures=N fallback_count=N
 * tests/router.sh checks N against the build flag and HAKMEM_USE_CENTRAL_ROUTER.
 */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static const size_t sizes[] = {1,    24,    100,   512,   1024,  1025,  4096,   8192,
                                   8193, 20000, 32768, 40000, 53248, 70000, 300000, 3 << 20};
    const size_t n = sizeof sizes / sizeof sizes[0];
    void *live[64] = {0};
    for (int i = 0; i < 1000; i++) {
        size_t s = sizes[(size_t)i * 7 % n];
        int slot = i % 64;
        free(live[slot]);
        live[slot] = malloc(s);
        if (!live[slot]) {
            fprintf(stderr, "router_health: malloc(%zu) failed\n", s);
            return 1;
        }
        memset(live[slot], i & 0xff, s);
    }
    for (int i = 0; i < 64; i++)
        free(live[i]);
    RouterHealth h = hak_router_health_check();
    if (!h.tiny_ready || !h.pool_ready || !h.mid_ready || !h.l25_ready || !h.ace_ready ||
        !h.mmap_ready) {
        fprintf(stderr, "router_health: a box is not ready after init\n");
        return 1;
    }
    printf("total_routes=%llu route_failures=%llu fallback_count=%llu\n",
           (unsigned long long)h.total_routes, (unsigned long long)h.route_failures,
           (unsigned long long)h.fallback_count);
    return 0;
}
