/* bench_larson: Larson-style server churn. There are `threads` lineages; each owns an array of
 * `slots` blocks of random sizes in [min, max]. The main thread fills every array (untimed),
 * then one thread per lineage replaces random blocks: verify and free the old block, malloc a
 * new one of a random size, stamp it (one op = one replacement). Every `handover` ops
 * (default 8192) the thread hands its whole array to a new thread it creates and exits, so
 * blocks are freed by threads other than the one that allocated them (the first generation
 * frees the main thread's blocks; the main thread frees the last generation's at the end).
 * seconds_or_ops: "N" = N ops per lineage (fixed work), "Ts" (e.g. "2s", "0.5s") = run for T
 * seconds. ops/s = all replacements / wall time. Exits 1 on a corrupted block or a failed
 * allocation.
 * Usage: bench_larson threads seconds_or_ops min max slots seed [handover]
 */
#include <pthread.h>

#include "bench_util.h"

#define USAGE "bench_larson threads seconds_or_ops min max slots seed [handover]"
static const char *prog = "bench_larson";

static double deadline; /* 0: ops mode */
static pthread_barrier_t start;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static long lineages_done;

struct lineage {
    long id;
    size_t slots, min, max;
    long long target, handover, ops;
    long generation;
    uint64_t rng, serial;
    unsigned char **blk;
    size_t *len;
    uint64_t *tag;
};

static void *run(void *arg);

static void spawn(struct lineage *l)
{
    pthread_t t;
    pthread_attr_t a;
    if (pthread_attr_init(&a) || pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) ||
        pthread_create(&t, &a, run, l))
        bu_die(prog, "lineage %ld: pthread_create failed", l->id);
    pthread_attr_destroy(&a);
}

static void replace(struct lineage *l, size_t k)
{
    if (!bu_check(l->blk[k], l->len[k], l->tag[k]))
        bu_die(prog, "lineage %ld generation %ld: corrupted block %p (%zu bytes)", l->id,
               l->generation, (void *)l->blk[k], l->len[k]);
    free(l->blk[k]);
    size_t n = bu_rng_range(&l->rng, l->min, l->max);
    unsigned char *p = malloc(n);
    if (!p)
        bu_die(prog, "lineage %ld: malloc(%zu) failed", l->id, n);
    uint64_t tag = (uint64_t)l->id << 48 ^ l->serial++;
    bu_stamp(p, n, tag);
    l->blk[k] = p;
    l->len[k] = n;
    l->tag[k] = tag;
}

static void *run(void *arg)
{
    struct lineage *l = arg;
    if (l->generation == 0)
        pthread_barrier_wait(&start);
    long long left = l->handover;
    for (;;) {
        if (deadline > 0) {
            if ((l->ops & 255) == 0 && bu_now() >= deadline)
                break;
        } else if (l->ops >= l->target) {
            break;
        }
        replace(l, (size_t)(bu_rng_next(&l->rng) % l->slots));
        l->ops++;
        if (--left == 0) { /* hand the whole array over to a new thread, and exit */
            l->generation++;
            spawn(l);
            return NULL;
        }
    }
    pthread_mutex_lock(&done_mu);
    lineages_done++;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&done_mu);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long threads = (long)bu_arg(argv[1], USAGE, 1);
    double seconds = 0;
    long long target = 0;
    size_t alen = strlen(argv[2]);
    if (alen > 1 && argv[2][alen - 1] == 's') {
        char *end;
        seconds = strtod(argv[2], &end);
        if (end != argv[2] + alen - 1 || !(seconds > 0)) {
            fprintf(stderr, "bad argument '%s'\nusage: %s\n", argv[2], USAGE);
            return 2;
        }
    } else {
        target = bu_arg(argv[2], USAGE, 1);
    }
    size_t min = (size_t)bu_arg(argv[3], USAGE, 1), max = (size_t)bu_arg(argv[4], USAGE, 1);
    size_t slots = (size_t)bu_arg(argv[5], USAGE, 1);
    uint64_t seed = (uint64_t)bu_arg(argv[6], USAGE, 0);
    long long handover = argc == 8 ? bu_arg(argv[7], USAGE, 1) : 8192;
    if (max < min) {
        fprintf(stderr, "bad arguments: max < min\nusage: %s\n", USAGE);
        return 2;
    }
    struct lineage *lin = calloc((size_t)threads, sizeof *lin);
    if (!lin || pthread_barrier_init(&start, NULL, (unsigned)threads + 1))
        bu_die(prog, "setup failed");
    for (long i = 0; i < threads; i++) {
        struct lineage *l = &lin[i];
        *l = (struct lineage){.id = i,
                              .slots = slots,
                              .min = min,
                              .max = max,
                              .target = target,
                              .handover = handover,
                              .rng = bu_rng_seed(seed, (uint64_t)i)};
        l->blk = calloc(slots, sizeof *l->blk);
        l->len = calloc(slots, sizeof *l->len);
        l->tag = calloc(slots, sizeof *l->tag);
        if (!l->blk || !l->len || !l->tag)
            bu_die(prog, "slot arrays: allocation failed");
        for (size_t k = 0; k < slots; k++) { /* allocated by the main thread */
            size_t n = bu_rng_range(&l->rng, min, max);
            if (!(l->blk[k] = malloc(n)))
                bu_die(prog, "malloc(%zu) failed", n);
            l->len[k] = n;
            l->tag[k] = (uint64_t)i << 48 ^ l->serial++;
            bu_stamp(l->blk[k], n, l->tag[k]);
        }
        spawn(l);
    }
    double t0 = bu_now();
    if (seconds > 0)
        deadline = t0 + seconds;
    pthread_barrier_wait(&start);
    pthread_mutex_lock(&done_mu);
    while (lineages_done < threads)
        pthread_cond_wait(&done_cv, &done_mu);
    pthread_mutex_unlock(&done_mu);
    double s = bu_now() - t0;
    long long ops = 0;
    long gens = 0;
    for (long i = 0; i < threads; i++) {
        struct lineage *l = &lin[i];
        ops += l->ops;
        gens += l->generation + 1;
        for (size_t k = 0; k < slots; k++) { /* freed by the main thread */
            if (!bu_check(l->blk[k], l->len[k], l->tag[k]))
                bu_die(prog, "corrupted block %p (%zu bytes) at the end", (void *)l->blk[k],
                       l->len[k]);
            free(l->blk[k]);
        }
        free(l->blk);
        free(l->len);
        free(l->tag);
    }
    printf("bench_larson threads=%ld %s=%s size=%zu..%zu slots=%zu seed=%llu handover=%lld "
           "threads_created=%ld "
           "ops=%lld ops/s=%.0f\n",
           threads, seconds > 0 ? "seconds" : "ops_per_thread", argv[2], min, max, slots,
           (unsigned long long)seed, handover, gens, ops, (double)ops / s);
    free(lin);
    return 0;
}
