/* bench_mid_large_mt: mid/large blocks from several threads. Each thread keeps `ws` slots;
 * each cycle picks a random slot: a full slot is verified and freed, an empty one gets a block
 * of 8, 16 or 32 KiB plus 0..2 KiB (8-34 KiB: the Mid box and the 40 KiB Pool Bridge class),
 * stamped (first/last 8 bytes and one byte per page). Every thread starts together; ops/s is
 * threads * cycles over the wall time until the last thread is done. Exits 1 on a corrupted
 * block or a failed allocation.
 * Usage: bench_mid_large_mt threads cycles ws seed
 */
#include <pthread.h>

#include "bench_util.h"

#define USAGE "bench_mid_large_mt threads cycles ws seed"
static _Atomic double t0; /* bu_started */
static const char *prog = "bench_mid_large_mt";

struct worker {
    pthread_t tid;
    long id;
    long long cycles;
    size_t ws;
    uint64_t seed;
    pthread_barrier_t *start;
    unsigned long long checksum;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    unsigned char **slot = calloc(w->ws, sizeof *slot);
    size_t *len = calloc(w->ws, sizeof *len);
    if (!slot || !len)
        bu_die(prog, "thread %ld: slot array allocation failed", w->id);
    uint64_t rng = bu_rng_seed(w->seed, (uint64_t)w->id);
    static const size_t base[3] = {8192, 16384, 32768};
    unsigned long long sum = 0;
    pthread_barrier_wait(w->start);
    bu_started(&t0);
    for (long long i = 0; i < w->cycles; i++) {
        size_t k = (size_t)(bu_rng_next(&rng) % w->ws);
        uint64_t tag = (uint64_t)w->id << 32 | k;
        if (slot[k]) {
            if (!bu_check(slot[k], len[k], tag))
                bu_die(prog, "thread %ld: corrupted block %p (%zu bytes)", w->id, (void *)slot[k],
                       len[k]);
            sum += slot[k][0];
            free(slot[k]);
            slot[k] = NULL;
        } else {
            uint64_t r = bu_rng_next(&rng);
            size_t n = base[r % 3] + (size_t)((r >> 8) % 2049);
            unsigned char *p = malloc(n);
            if (!p)
                bu_die(prog, "thread %ld: malloc(%zu) failed", w->id, n);
            bu_stamp(p, n, tag);
            slot[k] = p;
            len[k] = n;
        }
    }
    for (size_t k = 0; k < w->ws; k++)
        if (slot[k]) {
            if (!bu_check(slot[k], len[k], (uint64_t)w->id << 32 | k))
                bu_die(prog, "thread %ld: corrupted block %p (%zu bytes)", w->id, (void *)slot[k],
                       len[k]);
            free(slot[k]);
        }
    free(slot);
    free(len);
    w->checksum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long threads = (long)bu_arg(argv[1], USAGE, 1);
    long long cycles = bu_arg(argv[2], USAGE, 1);
    size_t ws = (size_t)bu_arg(argv[3], USAGE, 1);
    uint64_t seed = (uint64_t)bu_arg(argv[4], USAGE, 0);
    struct worker *w = calloc((size_t)threads, sizeof *w);
    pthread_barrier_t start;
    if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1))
        bu_die(prog, "setup failed");
    for (long t = 0; t < threads; t++) {
        w[t] = (struct worker){.id = t, .cycles = cycles, .ws = ws, .seed = seed, .start = &start};
        if (pthread_create(&w[t].tid, NULL, run, &w[t]))
            bu_die(prog, "pthread_create failed");
    }
    pthread_barrier_wait(&start);
    unsigned long long sum = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(w[t].tid, NULL);
        sum += w[t].checksum;
    }
    double s = bu_now() - atomic_load(&t0);
    printf("bench_mid_large_mt threads=%ld cycles=%lld ws=%zu seed=%llu size=8-34KiB ops/s=%.0f "
           "(checksum %llu)\n",
           threads, cycles, ws, (unsigned long long)seed, (double)threads * (double)cycles / s,
           sum & 0xffff);
    pthread_barrier_destroy(&start);
    free(w);
    return 0;
}
