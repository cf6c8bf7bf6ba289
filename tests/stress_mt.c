/*
 * stress_mt.c - multi-threaded malloc stress / corruption detector.
 *
 * Uses only the standard allocation API, so it can be run against any
 * allocator via LD_PRELOAD (hakmem, glibc, jemalloc, ...).
 *
 * Usage: stress_mt [threads] [ops_per_thread] [min_size] [max_size] [seed]
 *        defaults: 2 200000 8 4194304 1
 *
 * Every thread owns an array of slots.  Each op picks a random slot:
 *   - empty slot:    allocate (malloc / calloc / realloc(NULL) /
 *                    posix_memalign / aligned_alloc) a block whose size is
 *                    drawn log-uniformly in [min_size, max_size], check
 *                    alignment, malloc_usable_size and (calloc) zeroing,
 *                    then stamp it with a pattern derived from
 *                    (pointer, size, thread, seq).
 *   - occupied slot: either realloc it (grow or shrink, verify the
 *                    preserved prefix), or verify the pattern and free it
 *                    locally, or (~25 %) hand it to the neighbour thread
 *                    through a mutex-protected queue; the neighbour
 *                    verifies and frees it (cross-thread free).
 *
 * Any mismatch prints "stress_mt: CORRUPTION ..." to stderr and exits 1.
 * On success prints one line
 *   "stress_mt: threads=T ops=N corruptions=0 ..."
 * and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOTS 512
#define QUEUE_CAP 256
#define FULL_STAMP_LIMIT 8192 /* blocks up to this size are stamped fully */
#define EDGE 64               /* bytes stamped at both ends of big blocks */
#define PAGE_STRIDE 4096      /* one sample every PAGE_STRIDE bytes */
#define PAGE_SAMPLE 8         /* bytes per sample */

enum kind { K_MALLOC, K_CALLOC, K_REALLOC_NEW, K_MEMALIGN, K_ALIGNED_ALLOC, K_REALLOC, K_NKINDS };
static const char *kind_name[K_NKINDS] = {"malloc",         "calloc",        "realloc(NULL)",
                                          "posix_memalign", "aligned_alloc", "realloc"};

struct block {
    unsigned char *p;
    size_t size;
    uint64_t seq;
    unsigned tid;  /* thread that stamped the block */
    unsigned kind; /* how it was (last) obtained */
};

struct queue {
    pthread_mutex_t lock;
    unsigned head, count;
    struct block items[QUEUE_CAP];
};

struct thread {
    pthread_t th;
    unsigned id;
    uint64_t rng;
    uint64_t seq;
    struct block slots[NSLOTS];
    struct queue inbox;
    /* stats */
    uint64_t allocs, frees, cross_sent, cross_freed, reallocs, bytes;
};

static unsigned g_threads = 2;
static unsigned long g_ops = 200000;
static size_t g_min = 8, g_max = 4194304;
static uint64_t g_seed = 1;
static struct thread *g_thr;
static atomic_uint g_finished;

/* ------------------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("stress_mt: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    fflush(stdout);
    _Exit(1);
}

static inline uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t block_key(const void *p, size_t size, unsigned tid, uint64_t seq)
{
    return mix64((uint64_t)(uintptr_t)p ^ ((uint64_t)size * 0x9E3779B97F4A7C15ULL) ^
                 ((uint64_t)tid << 48) ^ (seq * 0xD6E8FEB86659FD93ULL));
}

static inline unsigned char pat(uint64_t key, size_t i)
{
    return (unsigned char)((unsigned char)(key >> ((i & 7) * 8)) ^ (unsigned char)(i >> 3) ^
                           (unsigned char)(i >> 11));
}

/* log-uniform size in [lo, hi] without libm */
static size_t rand_size(uint64_t *rng, size_t lo, size_t hi)
{
    if (lo >= hi)
        return lo;
    unsigned blo = 63 - (unsigned)__builtin_clzll((unsigned long long)lo);
    unsigned bhi = 63 - (unsigned)__builtin_clzll((unsigned long long)hi);
    for (;;) {
        unsigned b = blo + (unsigned)(xorshift64s(rng) % (bhi - blo + 1));
        size_t base = (size_t)1 << b;
        size_t s = base + (size_t)(xorshift64s(rng) % base);
        if (s >= lo && s <= hi)
            return s;
    }
}

/* ------------------------------------------------------------------ */
/* Stamped regions: whole block if small, otherwise both 64-byte edges
 * plus PAGE_SAMPLE bytes at every multiple of PAGE_STRIDE.  `limit`
 * restricts to offsets < limit (used for the realloc prefix check).  */

enum rmode { R_STAMP, R_VERIFY, R_ZERO };

static void report(const char *what, const struct block *b, size_t off, unsigned got, unsigned want,
                   unsigned by)
{
    die("CORRUPTION %s: ptr=%p size=%zu kind=%s owner_tid=%u seq=%" PRIu64
        " checked_by_tid=%u offset=%zu got=0x%02x want=0x%02x",
        what, (void *)b->p, b->size, kind_name[b->kind], b->tid, b->seq, by, off, got, want);
}

/* on mismatch reports and exits */
static void range_op(enum rmode m, unsigned char *base, uint64_t key, size_t from, size_t to,
                     const struct block *b, const char *what, unsigned by)
{
    size_t i;
    switch (m) {
    case R_STAMP:
        for (i = from; i < to; i++)
            base[i] = pat(key, i);
        break;
    case R_VERIFY:
        for (i = from; i < to; i++)
            if (base[i] != pat(key, i))
                report(what, b, i, base[i], pat(key, i), by);
        break;
    case R_ZERO:
        for (i = from; i < to; i++)
            if (base[i] != 0)
                report(what, b, i, base[i], 0, by);
        break;
    }
}

/* apply mode m to the stamped regions of block b (pattern key = b's key),
 * reading/writing memory at `mem` (which may differ from b->p after a
 * realloc), restricted to offsets < limit */
static void regions(enum rmode m, unsigned char *mem, const struct block *b, size_t limit,
                    const char *what, unsigned by)
{
    size_t n = b->size < limit ? b->size : limit;
    uint64_t key = block_key(b->p, b->size, b->tid, b->seq);
    if (b->size <= FULL_STAMP_LIMIT) {
        range_op(m, mem, key, 0, n, b, what, by);
        return;
    }
    /* head */
    range_op(m, mem, key, 0, EDGE < n ? EDGE : n, b, what, by);
    /* page samples */
    for (size_t k = PAGE_STRIDE; k < n; k += PAGE_STRIDE) {
        size_t e = k + PAGE_SAMPLE;
        range_op(m, mem, key, k, e < n ? e : n, b, what, by);
    }
    /* tail (of the full block, clipped to limit) */
    size_t ts = b->size - EDGE;
    if (ts < n)
        range_op(m, mem, key, ts, n, b, what, by);
}

/* ------------------------------------------------------------------ */

static void check_new(const struct block *b, size_t align, unsigned by)
{
    /* 16-byte alignment for every request >= 16 bytes (x86-64 ABI /
     * max_align_t).  Requests < 16 bytes cannot hold a 16-aligned object,
     * so C11 only requires the largest power of two <= size (jemalloc
     * returns 8-aligned blocks for 8-byte requests, for instance). */
    size_t need = 16; /* hakmem, like glibc, aligns every block to 16 (C11 allows less) */
    if (((uintptr_t)b->p & (need - 1)) != 0)
        die("CORRUPTION misaligned pointer %p from %s(size=%zu) (need %zu-byte alignment)",
            (void *)b->p, kind_name[b->kind], b->size, need);
    if (align && ((uintptr_t)b->p & (align - 1)) != 0)
        die("CORRUPTION misaligned pointer %p from %s(size=%zu, align=%zu)", (void *)b->p,
            kind_name[b->kind], b->size, align);
    size_t us = malloc_usable_size(b->p);
    if (us < b->size)
        die("CORRUPTION malloc_usable_size(%p)=%zu < requested %zu (%s) tid=%u", (void *)b->p, us,
            b->size, kind_name[b->kind], by);
}

static void free_block(struct block *b, const char *what, unsigned by)
{
    regions(R_VERIFY, b->p, b, SIZE_MAX, what, by);
    size_t us = malloc_usable_size(b->p);
    if (us < b->size)
        die("CORRUPTION malloc_usable_size(%p)=%zu < size %zu before free (%s) tid=%u",
            (void *)b->p, us, b->size, what, by);
    free(b->p);
    b->p = NULL;
}

static void drain_inbox(struct thread *t)
{
    struct block local[QUEUE_CAP];
    unsigned n = 0;
    pthread_mutex_lock(&t->inbox.lock);
    while (t->inbox.count) {
        local[n++] = t->inbox.items[t->inbox.head];
        t->inbox.head = (t->inbox.head + 1) % QUEUE_CAP;
        t->inbox.count--;
    }
    pthread_mutex_unlock(&t->inbox.lock);
    for (unsigned i = 0; i < n; i++) {
        free_block(&local[i], "cross-thread free", t->id);
        t->cross_freed++;
    }
}

/* returns 1 if queued, 0 if neighbour queue was full */
static int send_to(struct thread *dst, const struct block *b)
{
    int ok = 0;
    pthread_mutex_lock(&dst->inbox.lock);
    if (dst->inbox.count < QUEUE_CAP) {
        dst->inbox.items[(dst->inbox.head + dst->inbox.count) % QUEUE_CAP] = *b;
        dst->inbox.count++;
        ok = 1;
    }
    pthread_mutex_unlock(&dst->inbox.lock);
    return ok;
}

static void do_alloc(struct thread *t, struct block *b)
{
    size_t size = rand_size(&t->rng, g_min, g_max);
    unsigned r = (unsigned)(xorshift64s(&t->rng) % 100);
    size_t align = 0;
    void *p = NULL;

    if (r < 40) {
        b->kind = K_MALLOC;
        p = malloc(size);
    } else if (r < 60) {
        b->kind = K_CALLOC;
        if ((size % 8) == 0 && (r & 1))
            p = calloc(size / 8, 8);
        else
            p = calloc(1, size);
    } else if (r < 75) {
        b->kind = K_REALLOC_NEW;
        p = realloc(NULL, size);
    } else if (r < 90) {
        b->kind = K_MEMALIGN;
        align = (size_t)16 << (xorshift64s(&t->rng) % 9); /* 16 .. 4096 */
        int rc = posix_memalign(&p, align, size);
        if (rc != 0)
            die("ALLOCATION FAILURE posix_memalign(align=%zu, size=%zu) = %d", align, size, rc);
    } else {
        b->kind = K_ALIGNED_ALLOC;
        align = (size_t)16 << (xorshift64s(&t->rng) % 9); /* 16 .. 4096 */
        size = (size + align - 1) & ~(align - 1);         /* C11: multiple of alignment */
        p = aligned_alloc(align, size);
    }
    if (!p)
        die("ALLOCATION FAILURE %s(size=%zu) returned NULL (errno=%d)", kind_name[b->kind], size,
            errno);
    b->p = p;
    b->size = size;
    b->tid = t->id;
    b->seq = ++t->seq;
    check_new(b, align, t->id);
    if (b->kind == K_CALLOC)
        regions(R_ZERO, b->p, b, SIZE_MAX, "calloc memory not zeroed", t->id);
    regions(R_STAMP, b->p, b, SIZE_MAX, "stamp", t->id);
    t->allocs++;
    t->bytes += size;
}

static void do_realloc(struct thread *t, struct block *b)
{
    size_t nsize;
    if (xorshift64s(&t->rng) & 1) {
        /* small change: +-25% (exercises in-place grow/shrink) */
        size_t d = b->size / 4 + 1;
        size_t delta = (size_t)(xorshift64s(&t->rng) % d);
        if (xorshift64s(&t->rng) & 1)
            nsize = b->size + delta;
        else
            nsize = b->size > delta ? b->size - delta : 1;
        if (nsize < g_min)
            nsize = g_min;
        if (nsize > g_max)
            nsize = g_max;
    } else {
        nsize = rand_size(&t->rng, g_min, g_max);
    }
    /* verify the whole block before the realloc (detects earlier damage) */
    regions(R_VERIFY, b->p, b, SIZE_MAX, "before realloc", t->id);
    struct block old = *b;
    unsigned char *np = realloc(b->p, nsize);
    if (!np)
        die("ALLOCATION FAILURE realloc(%p, %zu) returned NULL", (void *)old.p, nsize);
    /* the preserved prefix must still carry the old pattern */
    regions(R_VERIFY, np, &old, nsize, "realloc lost data in preserved prefix", t->id);
    b->p = np;
    b->size = nsize;
    b->kind = K_REALLOC;
    b->tid = t->id;
    b->seq = ++t->seq;
    check_new(b, 0, t->id);
    regions(R_STAMP, b->p, b, SIZE_MAX, "stamp", t->id);
    t->reallocs++;
}

static void *worker(void *arg)
{
    struct thread *t = arg;
    struct thread *nb = &g_thr[(t->id + 1) % g_threads];

    for (unsigned long op = 0; op < g_ops; op++) {
        if ((op & 15) == 0)
            drain_inbox(t);
        struct block *b = &t->slots[xorshift64s(&t->rng) % NSLOTS];
        if (!b->p) {
            do_alloc(t, b);
            continue;
        }
        unsigned r = (unsigned)(xorshift64s(&t->rng) % 100);
        if (r < 20) {
            do_realloc(t, b);
        } else if (r < 45) {
            /* hand over to neighbour: verify now, the receiver verifies again */
            regions(R_VERIFY, b->p, b, SIZE_MAX, "before cross-thread handoff", t->id);
            if (send_to(nb, b)) {
                b->p = NULL;
                t->cross_sent++;
            } else {
                free_block(b, "local free (queue full)", t->id);
                t->frees++;
            }
        } else {
            free_block(b, "local free", t->id);
            t->frees++;
        }
    }
    /* free everything still owned */
    for (unsigned i = 0; i < NSLOTS; i++) {
        if (t->slots[i].p) {
            free_block(&t->slots[i], "final free", t->id);
            t->frees++;
        }
    }
    /* keep draining until every thread stopped sending */
    atomic_fetch_add(&g_finished, 1);
    while (atomic_load(&g_finished) < g_threads) {
        drain_inbox(t);
        sched_yield();
    }
    drain_inbox(t);
    return NULL;
}

static unsigned long parse_ul(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || end == s)
        die("bad %s argument '%s'", what, s);
    return (unsigned long)v;
}

static void sanity_checks(void)
{
    /* free(NULL) must be a no-op */
    free(NULL);
    /* malloc(0) returns NULL or a unique freeable pointer */
    void *z = malloc(0);
    free(z);
    /* calloc overflow must fail */
    volatile size_t big = (SIZE_MAX / 4) + 1; /* volatile: hide from -Walloc-size */
    void *o = calloc(big, 16);
    if (o) {
        die("CORRUPTION calloc(%zu, 16) overflow returned non-NULL %p", big, o);
    }
    /* realloc(NULL, n) behaves like malloc */
    char *r = realloc(NULL, 100);
    if (!r)
        die("ALLOCATION FAILURE realloc(NULL, 100)");
    memset(r, 0x5a, 100);
    free(r);
}

int main(int argc, char **argv)
{
    if (argc > 6) {
        fprintf(stderr, "usage: %s [threads] [ops_per_thread] [min_size] [max_size] [seed]\n",
                argv[0]);
        return 2;
    }
    if (argc > 1)
        g_threads = (unsigned)parse_ul(argv[1], "threads");
    if (argc > 2)
        g_ops = parse_ul(argv[2], "ops_per_thread");
    if (argc > 3)
        g_min = parse_ul(argv[3], "min_size");
    if (argc > 4)
        g_max = parse_ul(argv[4], "max_size");
    if (argc > 5)
        g_seed = parse_ul(argv[5], "seed");
    if (g_threads < 1 || g_threads > 1024)
        die("threads must be in 1..1024");
    if (g_min < 1 || g_max < g_min)
        die("need 1 <= min_size <= max_size");

    sanity_checks();

    g_thr = calloc(g_threads, sizeof *g_thr);
    if (!g_thr)
        die("ALLOCATION FAILURE thread table");
    for (unsigned i = 0; i < g_threads; i++) {
        struct thread *t = &g_thr[i];
        t->id = i;
        t->rng = mix64(g_seed * 0x9E3779B97F4A7C15ULL + i + 1) | 1;
        pthread_mutex_init(&t->inbox.lock, NULL);
    }
    for (unsigned i = 0; i < g_threads; i++) {
        int rc = pthread_create(&g_thr[i].th, NULL, worker, &g_thr[i]);
        if (rc)
            die("pthread_create failed: %s", strerror(rc));
    }
    uint64_t allocs = 0, frees = 0, cross = 0, xfreed = 0, reallocs = 0, bytes = 0;
    for (unsigned i = 0; i < g_threads; i++) {
        pthread_join(g_thr[i].th, NULL);
    }
    for (unsigned i = 0; i < g_threads; i++) {
        struct thread *t = &g_thr[i];
        allocs += t->allocs;
        frees += t->frees;
        cross += t->cross_sent;
        xfreed += t->cross_freed;
        reallocs += t->reallocs;
        bytes += t->bytes;
        for (unsigned s = 0; s < NSLOTS; s++)
            if (t->slots[s].p)
                die("internal error: slot %u of thread %u not freed", s, i);
        if (t->inbox.count)
            die("internal error: inbox of thread %u not drained", i);
        pthread_mutex_destroy(&t->inbox.lock);
    }
    if (cross != xfreed)
        die("internal error: cross-thread sent=%" PRIu64 " freed=%" PRIu64, cross, xfreed);
    if (allocs != frees + xfreed)
        die("internal error: allocs=%" PRIu64 " != frees=%" PRIu64 " + cross=%" PRIu64, allocs,
            frees, xfreed);
    free(g_thr);

    printf("stress_mt: threads=%u ops=%" PRIu64 " corruptions=0 allocs=%" PRIu64
           " reallocs=%" PRIu64 " local_frees=%" PRIu64 " cross_thread_frees=%" PRIu64
           " bytes_allocated=%" PRIu64 " sizes=%zu..%zu seed=%" PRIu64 "\n",
           g_threads, (uint64_t)g_threads * g_ops, allocs, reallocs, frees, xfreed, bytes, g_min,
           g_max, g_seed);
    return 0;
}
