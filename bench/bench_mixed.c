/* bench_mixed: a size profile spanning every hakmem box, from several threads. Each thread
 * keeps `ws` slots (default 256); each cycle picks a random slot: a full slot is verified and
 * freed, an empty one gets a block drawn from the profile below, stamped (first/last 8 bytes
 * and one byte per page, so every page of a big block is touched).
 *   80.0 %  tiny   16 B - 1 KiB
 *    8.0 %  pool   1 KiB+1 - 8 KiB
 *    2.0 %  pool   the Bridge classes: 32 KiB+1 - 40 KiB, 40 KiB+1 - 52 KiB (1 % each)
 *    6.0 %  mid    8 KiB+1 - 32 KiB
 *    3.9 %  l25    64 KiB - 1 MiB
 *    0.1 %  mmap   2 - 4 MiB
 * or the profile given as the fifth argument: comma-separated `weight:lo-hi` entries (sizes in
 * bytes, inclusive; an entry is drawn with probability weight / sum of weights, then a size
 * uniform in lo..hi), e.g. "1:1024-32768" (1-32 KiB uniform) or
 * "80:16-1024,15:1025-32768,4:32769-1048576,1:2097152-4194304".
 * ops/s = threads * cycles over the wall time until the last thread is done. Exits 1 on a
 * corrupted block or a failed allocation.
 * Usage: bench_mixed threads cycles seed [ws [profile]]
 */
#include <pthread.h>

#include "bench_util.h"

#define USAGE "bench_mixed threads cycles seed [ws [profile]]"
#define MAXPROF 16
static _Atomic double t0; /* bu_started */
static const char *prog = "bench_mixed";

struct worker {
    pthread_t tid;
    long id;
    long long cycles;
    size_t ws;
    uint64_t seed;
    pthread_barrier_t *start;
    unsigned long long per_box[MAXPROF];
};

/* The profile given on the command line (nprof 0: the built-in one). */
static int nprof;
static unsigned prof_w[MAXPROF];
static size_t prof_lo[MAXPROF], prof_hi[MAXPROF];
static unsigned prof_sum;

static void parse_profile(const char *s)
{
    const char *p = s;
    while (*p) {
        unsigned w;
        size_t lo, hi;
        int used;
        if (nprof == MAXPROF || sscanf(p, "%u:%zu-%zu%n", &w, &lo, &hi, &used) != 3 || w == 0 ||
            lo == 0 || hi < lo) {
            fprintf(stderr,
                    "bad profile '%s' (want weight:lo-hi,... with 1 <= lo <= hi, at most %d "
                    "entries)\nusage: %s\n",
                    s, MAXPROF, USAGE);
            exit(2);
        }
        prof_w[nprof] = w;
        prof_lo[nprof] = lo;
        prof_hi[nprof] = hi;
        prof_sum += w;
        nprof++;
        p += used;
        if (*p == ',')
            p++;
        else if (*p) {
            fprintf(stderr, "bad profile '%s'\nusage: %s\n", s, USAGE);
            exit(2);
        }
    }
}

static size_t draw(uint64_t *rng, int *box)
{
    if (nprof) {
        unsigned r = (unsigned)(bu_rng_next(rng) % prof_sum);
        int i = 0;
        while (r >= prof_w[i])
            r -= prof_w[i++];
        *box = i;
        return bu_rng_range(rng, prof_lo[i], prof_hi[i]);
    }
    unsigned r = (unsigned)(bu_rng_next(rng) % 1000);
    if (r < 800)
        return *box = 0, bu_rng_range(rng, 16, 1024);
    if (r < 880)
        return *box = 1, bu_rng_range(rng, 1025, 8192);
    if (r < 890)
        return *box = 2, bu_rng_range(rng, 32769, 40960);
    if (r < 900)
        return *box = 2, bu_rng_range(rng, 40961, 53248);
    if (r < 960)
        return *box = 3, bu_rng_range(rng, 8193, 32768);
    if (r < 999)
        return *box = 4, bu_rng_range(rng, 65536, 1048576);
    return *box = 5, bu_rng_range(rng, 2u << 20, 4u << 20);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    unsigned char **slot = calloc(w->ws, sizeof *slot);
    size_t *len = calloc(w->ws, sizeof *len);
    if (!slot || !len)
        bu_die(prog, "thread %ld: slot array allocation failed", w->id);
    uint64_t rng = bu_rng_seed(w->seed, (uint64_t)w->id);
    pthread_barrier_wait(w->start);
    bu_started(&t0);
    for (long long i = 0; i < w->cycles; i++) {
        size_t k = (size_t)(bu_rng_next(&rng) % w->ws);
        uint64_t tag = (uint64_t)w->id << 32 | k;
        if (slot[k]) {
            if (!bu_check(slot[k], len[k], tag))
                bu_die(prog, "thread %ld: corrupted block %p (%zu bytes)", w->id, (void *)slot[k],
                       len[k]);
            free(slot[k]);
            slot[k] = NULL;
        } else {
            int box;
            size_t n = draw(&rng, &box);
            unsigned char *p = malloc(n);
            if (!p)
                bu_die(prog, "thread %ld: malloc(%zu) failed", w->id, n);
            bu_stamp(p, n, tag);
            slot[k] = p;
            len[k] = n;
            w->per_box[box]++;
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
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long threads = (long)bu_arg(argv[1], USAGE, 1);
    long long cycles = bu_arg(argv[2], USAGE, 1);
    uint64_t seed = (uint64_t)bu_arg(argv[3], USAGE, 0);
    size_t ws = argc >= 5 ? (size_t)bu_arg(argv[4], USAGE, 1) : 256;
    if (argc == 6)
        parse_profile(argv[5]);
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
    unsigned long long box[MAXPROF] = {0};
    for (long t = 0; t < threads; t++) {
        pthread_join(w[t].tid, NULL);
        for (int b = 0; b < MAXPROF; b++)
            box[b] += w[t].per_box[b];
    }
    double s = bu_now() - atomic_load(&t0);
    if (nprof) {
        printf("bench_mixed threads=%ld cycles=%lld seed=%llu ws=%zu profile=%s allocs", threads,
               cycles, (unsigned long long)seed, ws, argv[5]);
        for (int i = 0; i < nprof; i++)
            printf("%c%llu", i ? ',' : '=', box[i]);
        printf(" ops/s=%.0f\n", (double)threads * (double)cycles / s);
    } else {
        printf("bench_mixed threads=%ld cycles=%lld seed=%llu ws=%zu allocs tiny=%llu pool=%llu "
               "bridge=%llu "
               "mid=%llu l25=%llu mmap=%llu ops/s=%.0f\n",
               threads, cycles, (unsigned long long)seed, ws, box[0], box[1], box[2], box[3],
               box[4], box[5], (double)threads * (double)cycles / s);
    }
    pthread_barrier_destroy(&start);
    free(w);
    return 0;
}
