/* bench_prodcons: cross-thread frees through producer/consumer pairs. Each of `pairs` producers
 * allocates `ops` blocks of random sizes in [16 B, 4 KiB] and stamps them; cross_pct % of them
 * go to its consumer thread through a lock-free single-producer/single-consumer ring (4096
 * entries; a full ring or an empty one yields), where they are verified and freed; the
 * producer verifies and frees the rest itself. ops/s = pairs * ops (blocks) over the wall time
 * until every consumer has drained its queue. Exits 1 on a corrupted block or a failed
 * allocation.
 * Usage: bench_prodcons pairs ops cross_pct seed
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "bench_util.h"

#define USAGE "bench_prodcons pairs ops cross_pct seed"
#define RING 4096u
static _Atomic double t0; /* bu_started */
static const char *prog = "bench_prodcons";

struct item {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

struct pair {
    pthread_t prod, cons;
    long id;
    long long ops;
    unsigned cross_pct;
    uint64_t seed;
    pthread_barrier_t *start;
    _Alignas(64) atomic_size_t head; /* written by the producer */
    _Alignas(64) atomic_size_t tail; /* written by the consumer */
    _Alignas(64) atomic_int done;
    long long consumed;
    struct item ring[RING];
};

static void *producer(void *arg)
{
    struct pair *q = arg;
    uint64_t rng = bu_rng_seed(q->seed, (uint64_t)q->id);
    size_t head = 0;
    pthread_barrier_wait(q->start);
    bu_started(&t0);
    for (long long i = 0; i < q->ops; i++) {
        size_t n = bu_rng_range(&rng, 16, 4096);
        unsigned char *p = malloc(n);
        if (!p)
            bu_die(prog, "producer %ld: malloc(%zu) failed", q->id, n);
        uint64_t tag = (uint64_t)q->id << 40 ^ (uint64_t)i;
        bu_stamp(p, n, tag);
        if (bu_rng_next(&rng) % 100 < q->cross_pct) {
            while (head - atomic_load_explicit(&q->tail, memory_order_acquire) >= RING)
                sched_yield();
            q->ring[head % RING] = (struct item){p, n, tag};
            atomic_store_explicit(&q->head, ++head, memory_order_release);
        } else {
            if (!bu_check(p, n, tag))
                bu_die(prog, "producer %ld: corrupted block %p (%zu bytes)", q->id, (void *)p, n);
            free(p);
        }
    }
    atomic_store_explicit(&q->done, 1, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    struct pair *q = arg;
    size_t tail = 0;
    pthread_barrier_wait(q->start);
    bu_started(&t0);
    for (;;) {
        size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
        if (tail == head) {
            if (atomic_load_explicit(&q->done, memory_order_acquire) &&
                atomic_load_explicit(&q->head, memory_order_acquire) == tail)
                break;
            sched_yield();
            continue;
        }
        while (tail != head) {
            struct item it = q->ring[tail % RING];
            if (!bu_check(it.p, it.n, it.tag))
                bu_die(prog, "consumer %ld: corrupted block %p (%zu bytes)", q->id, (void *)it.p,
                       it.n);
            free(it.p);
            tail++;
            q->consumed++;
            if ((tail & 63) == 0)
                atomic_store_explicit(&q->tail, tail, memory_order_release);
        }
        atomic_store_explicit(&q->tail, tail, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    long pairs = (long)bu_arg(argv[1], USAGE, 1);
    long long ops = bu_arg(argv[2], USAGE, 1);
    long long pct = bu_arg(argv[3], USAGE, 0);
    uint64_t seed = (uint64_t)bu_arg(argv[4], USAGE, 0);
    if (pct > 100) {
        fprintf(stderr, "bad argument: cross_pct > 100\nusage: %s\n", USAGE);
        return 2;
    }
    struct pair *q = aligned_alloc(64, sizeof *q * (size_t)pairs);
    pthread_barrier_t start;
    if (!q || pthread_barrier_init(&start, NULL, 2 * (unsigned)pairs + 1))
        bu_die(prog, "setup failed");
    for (long i = 0; i < pairs; i++) {
        memset(&q[i], 0, sizeof q[i]);
        q[i].id = i;
        q[i].ops = ops;
        q[i].cross_pct = (unsigned)pct;
        q[i].seed = seed;
        q[i].start = &start;
        atomic_init(&q[i].head, 0);
        atomic_init(&q[i].tail, 0);
        atomic_init(&q[i].done, 0);
        if (pthread_create(&q[i].prod, NULL, producer, &q[i]) ||
            pthread_create(&q[i].cons, NULL, consumer, &q[i]))
            bu_die(prog, "pthread_create failed");
    }
    pthread_barrier_wait(&start);
    long long crossed = 0;
    for (long i = 0; i < pairs; i++) {
        pthread_join(q[i].prod, NULL);
        pthread_join(q[i].cons, NULL);
        crossed += q[i].consumed;
    }
    double s = bu_now() - atomic_load(&t0);
    printf("bench_prodcons pairs=%ld ops=%lld cross_pct=%lld seed=%llu size=16..4096 crossed=%lld "
           "ops/s=%.0f\n",
           pairs, ops, pct, (unsigned long long)seed, crossed, (double)pairs * (double)ops / s);
    pthread_barrier_destroy(&start);
    free(q);
    return 0;
}
