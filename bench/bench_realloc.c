/* bench_realloc: growing and shrinking buffers with realloc. Each round takes 4 buffers
 * (interleaved, so a buffer cannot always grow in place) from 16 B up to `max` bytes, each
 * step doubling the size and adding 0..63 random bytes (the last step is exactly `max`), then
 * back down to 16 B, each step halving it and subtracting 0..15; this crosses every size box
 * up to `max`. Content: byte i of a buffer is a function of (buffer, round, i); every new byte
 * on the way up is written at a stride of 512 bytes plus the last byte, and after every realloc
 * the preserved part is checked at the same positions (and the old last byte). One op is one
 * realloc (plus the round's malloc and free); ops/s = ops / time. Exits 1 on lost content or
 * a failed allocation.
 * With a fourth argument `count`, also what the allocator had to copy: each realloc's block
 * kept where it was, or moved (the bytes it must copy then: its old usable size, or the new
 * size when smaller), printed per round, for the way up and the way down (the calls to
 * malloc_usable_size make that run no timing).
 * Usage: bench_realloc rounds max seed [count]
 */
#include <inttypes.h>
#include <malloc.h>
#include <string.h>

#include "bench_util.h"

#define USAGE "bench_realloc rounds max seed [count]"
#define NBUF 4
#define STEP 512
static const char *prog = "bench_realloc";

static inline unsigned char val(uint64_t key, size_t i)
{
    return (unsigned char)((key >> (i & 31)) + i * 131 + (i >> 8));
}

static void fill(unsigned char *p, size_t from, size_t to, uint64_t key)
{
    for (size_t i = (from + STEP - 1) / STEP * STEP; i < to; i += STEP)
        p[i] = val(key, i);
    if (to > from)
        p[to - 1] = val(key, to - 1);
}

/* positions written by fill() over [0, n) in steps, of which [0, keep) must hold */
static int check(const unsigned char *p, size_t keep, const size_t *edges, int nedges, uint64_t key)
{
    for (size_t i = 0; i < keep; i += STEP)
        if (p[i] != val(key, i))
            return 0;
    for (int e = 0; e < nedges; e++)
        if (edges[e] > 0 && edges[e] <= keep && p[edges[e] - 1] != val(key, edges[e] - 1))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "count") == 0)) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long long rounds = bu_arg(argv[1], USAGE, 1);
    size_t max = (size_t)bu_arg(argv[2], USAGE, 16);
    uint64_t seed = (uint64_t)bu_arg(argv[3], USAGE, 0);
    uint64_t rng = bu_rng_seed(seed, 0);
    unsigned long long ops = 0, sum = 0;
    const int count = argc == 5;
    unsigned long long kept[2] = {0, 0}, moved[2] = {0, 0}, copied[2] = {0, 0};
    double t0 = bu_now();
    for (long long r = 0; r < rounds; r++) {
        unsigned char *p[NBUF];
        size_t n[NBUF];
        uint64_t key[NBUF];
        /* the sizes each buffer went through on the way up: the last byte of each was written */
        size_t edges[NBUF][64];
        int nedges[NBUF];
        for (int b = 0; b < NBUF; b++) {
            n[b] = 16;
            key[b] = bu_rng_next(&rng);
            if (!(p[b] = malloc(16)))
                bu_die(prog, "malloc(16) failed");
            fill(p[b], 0, 16, key[b]);
            edges[b][0] = 16;
            nedges[b] = 1;
        }
        ops += NBUF;
        for (int up = 1; up >= 0; up--) {
            int moving = NBUF;
            while (moving) {
                moving = 0;
                for (int b = 0; b < NBUF; b++) {
                    size_t m;
                    if (up) {
                        if (n[b] >= max)
                            continue;
                        m = n[b] * 2 + (size_t)(bu_rng_next(&rng) % 64);
                        if (m > max || nedges[b] == 63)
                            m = max;
                    } else {
                        if (n[b] <= 16)
                            continue;
                        size_t d = (size_t)(bu_rng_next(&rng) % 16);
                        m = n[b] / 2 > 16 + d ? n[b] / 2 - d : 16;
                    }
                    moving++;
                    uintptr_t old = (uintptr_t)p[b];
                    size_t usable = count ? malloc_usable_size(p[b]) : 0;
                    unsigned char *q = realloc(p[b], m);
                    if (!q)
                        bu_die(prog, "realloc(%#jx, %zu) failed", (uintmax_t)old, m);
                    if (count) {
                        kept[up] += (uintptr_t)q == old;
                        moved[up] += (uintptr_t)q != old;
                        copied[up] += (uintptr_t)q != old ? (usable < m ? usable : m) : 0;
                    }
                    ops++;
                    size_t keep = m < n[b] ? m : n[b];
                    if (!check(q, keep, edges[b], nedges[b], key[b]))
                        bu_die(prog, "realloc %zu -> %zu bytes lost content (%#jx -> %p)", n[b], m,
                               (uintmax_t)old, (void *)q);
                    if (up) {
                        fill(q, n[b], m, key[b]);
                        edges[b][nedges[b]++] = m;
                    }
                    sum += q[keep - 1];
                    p[b] = q;
                    n[b] = m;
                }
            }
        }
        for (int b = 0; b < NBUF; b++) {
            if (!check(p[b], n[b], edges[b], nedges[b], key[b]))
                bu_die(prog, "buffer %p (%zu bytes) lost content", (void *)p[b], n[b]);
            free(p[b]);
        }
        ops += NBUF;
    }
    double s = bu_now() - t0;
    printf("bench_realloc rounds=%lld max=%zu seed=%llu buffers=%d ops=%llu ops/s=%.0f (checksum "
           "%llu)\n",
           rounds, max, (unsigned long long)seed, NBUF, ops, (double)ops / s, sum & 0xffff);
    if (count)
        printf("copies per round: up %.2f MiB (%llu kept in place, %llu moved), down %.2f MiB "
               "(%llu kept in place, %llu moved)\n",
               (double)copied[1] / 1048576.0 / (double)rounds, kept[1], moved[1],
               (double)copied[0] / 1048576.0 / (double)rounds, kept[0], moved[0]);
    return 0;
}
