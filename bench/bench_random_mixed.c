/* bench_random_mixed: one thread, random slot replacement. Each cycle picks a random slot of
 * `ws`; a full slot is verified and freed, an empty one gets a block of a random size in
 * [min, max] (default 16..1040 B), stamped. Prints one line with ops/s; exits 1 on a
 * corrupted block. Usage: bench_random_mixed cycles ws seed [min max]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng;
static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: bench_random_mixed cycles ws seed [min max]\n");
        return 2;
    }
    long cycles = atol(argv[1]);
    size_t ws = (size_t)atol(argv[2]);
    rng = (uint64_t)atoll(argv[3]) * 2654435761u + 88172645463325252ull;
    size_t lo = argc == 6 ? (size_t)atol(argv[4]) : 16,
           hi = argc == 6 ? (size_t)atol(argv[5]) : 1040;
    if (!cycles || !ws || lo < 1 || hi < lo) {
        fprintf(stderr, "bench_random_mixed: bad arguments\n");
        return 2;
    }
    unsigned char **slot = calloc(ws, sizeof *slot);
    size_t *len = calloc(ws, sizeof *len);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < cycles; i++) {
        size_t k = next() % ws;
        if (slot[k]) {
            unsigned char tag = (unsigned char)(k * 31 + len[k]);
            if (slot[k][0] != tag || slot[k][len[k] - 1] != tag) {
                fprintf(stderr, "bench_random_mixed: corrupted block %p\n", (void *)slot[k]);
                return 1;
            }
            free(slot[k]);
            slot[k] = NULL;
        } else {
            size_t n = lo + next() % (hi - lo + 1);
            unsigned char *p = malloc(n);
            if (!p) {
                fprintf(stderr, "bench_random_mixed: malloc(%zu) failed\n", n);
                return 1;
            }
            p[0] = p[n - 1] = (unsigned char)(k * 31 + n);
            slot[k] = p;
            len[k] = n;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t k = 0; k < ws; k++)
        free(slot[k]);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("bench_random_mixed cycles=%ld ws=%zu size=%zu..%zu ops/s=%.0f\n", cycles, ws, lo, hi,
           (double)cycles / s);
    free(slot);
    free(len);
    return 0;
}
