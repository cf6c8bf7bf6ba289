/* bench_remote: remote frees, in the shape of the hakmem lineage's benchmark: threads x
 * iterations x working set x size range x remote %. Each of `threads` threads keeps `ws` slots;
 * each iteration picks a random slot: a block in it is verified, then with probability
 * remote_pct % handed to the next thread ((t + 1) mod threads) through that thread's ring (a
 * single-producer/single-consumer ring of 1024 entries), else freed here; then the slot gets
 * a new block of a random size in [min, max], stamped (first/last 8 bytes and one byte per
 * page). Every iteration, a thread first verifies and frees what its ring holds (blocks that
 * another thread allocated). A full ring makes its producer drain its own ring and yield
 * until there is room, so no thread can block the others for long; with more threads than
 * cores this measures the allocator under oversubscription. At the end a thread frees its
 * slots and drains its ring until its producer is done. ops/s = threads * iterations over the
 * wall time until the last thread is done. Exits 1 on a corrupted block or a failed
 * allocation.
 * Usage: bench_remote threads iterations ws min max remote_pct seed
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "bench_util.h"

#define USAGE "bench_remote threads iterations ws min max remote_pct seed"
#define RING 1024u
static _Atomic double t0; /* bu_started */
static const char *prog = "bench_remote";

struct item {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

/* The ring a thread receives on: written by the thread before it, read by its owner. */
struct worker {
    _Alignas(64) atomic_size_t head; /* written by the producer */
    _Alignas(64) atomic_size_t tail; /* written by the owner */
    _Alignas(64) atomic_int done;    /* the owner's producing phase is over */
    pthread_t tid;
    long id;
    long long iters, remote, freed_remote;
    size_t ws, min, max;
    unsigned pct;
    uint64_t seed;
    struct worker *next; /* the thread this one hands blocks to */
    struct worker *prev; /* the thread that hands blocks to this one */
    pthread_barrier_t *start;
    struct item ring[RING];
};

static void check_free(struct worker *w, const struct item *it, const char *what)
{
    if (!bu_check(it->p, it->n, it->tag))
        bu_die(prog, "thread %ld: corrupted %s block %p (%zu bytes)", w->id, what, (void *)it->p,
               it->n);
    free(it->p);
}

/* Free what the ring holds; returns how many. */
static size_t drain(struct worker *w)
{
    size_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&w->head, memory_order_acquire);
    for (size_t i = tail; i != head; i++)
        check_free(w, &w->ring[i % RING], "remote");
    if (head != tail)
        atomic_store_explicit(&w->tail, head, memory_order_release);
    w->freed_remote += (long long)(head - tail);
    return head - tail;
}

static void hand_over(struct worker *w, struct item it)
{
    struct worker *to = w->next;
    size_t head = atomic_load_explicit(&to->head, memory_order_relaxed);
    while (head - atomic_load_explicit(&to->tail, memory_order_acquire) >= RING) {
        if (to == w)
            drain(w); /* one thread: its own ring */
        else if (!drain(w))
            sched_yield();
    }
    to->ring[head % RING] = it;
    atomic_store_explicit(&to->head, head + 1, memory_order_release);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct item *slot = calloc(w->ws, sizeof *slot);
    if (!slot)
        bu_die(prog, "thread %ld: slot array allocation failed", w->id);
    uint64_t rng = bu_rng_seed(w->seed, (uint64_t)w->id);
    uint64_t serial = 0;
    pthread_barrier_wait(w->start);
    bu_started(&t0);
    for (long long i = 0; i < w->iters; i++) {
        if (atomic_load_explicit(&w->head, memory_order_relaxed) !=
            atomic_load_explicit(&w->tail, memory_order_relaxed))
            drain(w);
        struct item *s = &slot[bu_rng_next(&rng) % w->ws];
        if (s->p) {
            if (bu_rng_next(&rng) % 100 < w->pct) {
                if (!bu_check(s->p, s->n, s->tag))
                    bu_die(prog, "thread %ld: corrupted block %p (%zu bytes)", w->id, (void *)s->p,
                           s->n);
                hand_over(w, *s);
                w->remote++;
            } else {
                check_free(w, s, "local");
            }
        }
        size_t n = bu_rng_range(&rng, w->min, w->max);
        unsigned char *p = malloc(n);
        if (!p)
            bu_die(prog, "thread %ld: malloc(%zu) failed", w->id, n);
        uint64_t tag = (uint64_t)w->id << 40 ^ serial++;
        bu_stamp(p, n, tag);
        *s = (struct item){p, n, tag};
    }
    for (size_t k = 0; k < w->ws; k++)
        if (slot[k].p)
            check_free(w, &slot[k], "local");
    free(slot);
    atomic_store_explicit(&w->done, 1, memory_order_release);
    /* What the thread before this one still hands over. */
    for (;;) {
        int over = atomic_load_explicit(&w->prev->done, memory_order_acquire);
        if (!drain(w)) {
            if (over && atomic_load_explicit(&w->head, memory_order_acquire) ==
                            atomic_load_explicit(&w->tail, memory_order_relaxed))
                break;
            sched_yield();
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long threads = (long)bu_arg(argv[1], USAGE, 1);
    long long iters = bu_arg(argv[2], USAGE, 1);
    size_t ws = (size_t)bu_arg(argv[3], USAGE, 1);
    size_t min = (size_t)bu_arg(argv[4], USAGE, 1);
    size_t max = (size_t)bu_arg(argv[5], USAGE, 1);
    long long pct = bu_arg(argv[6], USAGE, 0);
    uint64_t seed = (uint64_t)bu_arg(argv[7], USAGE, 0);
    if (max < min || pct > 100) {
        fprintf(stderr, "bad arguments: need min <= max and remote_pct <= 100\nusage: %s\n", USAGE);
        return 2;
    }
    /* the worker array's size and the barrier's count (threads + 1, an unsigned) must not
     * wrap */
    size_t wbytes;
    if ((unsigned long long)threads >= UINT_MAX ||
        __builtin_mul_overflow(sizeof(struct worker), (size_t)threads, &wbytes)) {
        fprintf(stderr, "bad argument '%s': too many threads\nusage: %s\n", argv[1], USAGE);
        return 2;
    }
    struct worker *w = aligned_alloc(64, wbytes);
    pthread_barrier_t start;
    if (!w || pthread_barrier_init(&start, NULL, (unsigned)threads + 1))
        bu_die(prog, "setup failed");
    for (long t = 0; t < threads; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].id = t;
        w[t].iters = iters;
        w[t].ws = ws;
        w[t].min = min;
        w[t].max = max;
        w[t].pct = (unsigned)pct;
        w[t].seed = seed;
        w[t].start = &start;
        w[t].next = &w[(t + 1) % threads];
        w[t].prev = &w[(t + threads - 1) % threads];
        atomic_init(&w[t].head, 0);
        atomic_init(&w[t].tail, 0);
        atomic_init(&w[t].done, 0);
    }
    for (long t = 0; t < threads; t++)
        if (pthread_create(&w[t].tid, NULL, run, &w[t]))
            bu_die(prog, "pthread_create failed");
    pthread_barrier_wait(&start);
    long long remote = 0, freed = 0;
    for (long t = 0; t < threads; t++) {
        pthread_join(w[t].tid, NULL);
        remote += w[t].remote;
        freed += w[t].freed_remote;
    }
    double s = bu_now() - atomic_load(&t0);
    if (remote != freed)
        bu_die(prog, "%lld blocks handed over, %lld freed by their receivers", remote, freed);
    printf("bench_remote threads=%ld iterations=%lld ws=%zu size=%zu..%zu remote_pct=%lld "
           "seed=%llu remote=%lld "
           "ops/s=%.0f\n",
           threads, iters, ws, min, max, pct, (unsigned long long)seed, remote,
           (double)threads * (double)iters / s);
    pthread_barrier_destroy(&start);
    free(w);
    return 0;
}
