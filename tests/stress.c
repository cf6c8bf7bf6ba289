/*
 * stress.c - long multi-threaded stress of the whole malloc family, with leak and RSS checks.
 *
 * Plain malloc API only: run it under LD_PRELOAD=libhakmem.so (tests/check-stress.sh, `make
 * check-stress'); without hakmem it still runs (a baseline for the program itself) but skips
 * the checks that need hakmem's statistics.
 *
 * Usage: stress [threads] [ops_per_thread] [seed] [cross_pct]     (defaults: 4 200000 1 25)
 *
 * `threads' lanes run at once. Each lane's ops are done by a succession of worker threads
 * (generations): a worker does a random share of the lane's ops and exits while its blocks are
 * still live; the main thread joins it and starts its successor, which inherits the lane's
 * blocks. An exiting worker also leaves some of its blocks in a shared orphanage, from which
 * workers of every lane adopt blocks (verify them, keep them, later realloc or free them). So
 * blocks outlive the thread that allocated them and are freed by other, later threads.
 *
 * One op on a random slot of the lane:
 *   empty slot: malloc / calloc / realloc(NULL) / memalign / posix_memalign / aligned_alloc,
 *     size log-uniform over 0 B..4 MiB (and 1 in 16 at a box edge +-1: every box is hit),
 *     alignment 1 B..64 KiB; checks: non-NULL, 16-byte and requested alignment,
 *     malloc_usable_size >= size, calloc's zeroes; then the block is stamped with a pattern of
 *     its own key (every byte up to 16 KiB; above, both 64-byte ends and 8 bytes per 4 KiB).
 *   live slot: realloc (prefix verified, restamped; realloc(p, 0) sometimes), or verify and
 *     free, or (cross_pct % of the frees) hand it to another lane's inbox, whose worker
 *     verifies and frees it.
 * The main thread forks twice in the middle (at 1/3 and 2/3 of the ops) while the workers
 * run: the child verifies and frees blocks inherited from the parent, runs its own mixed
 * workload with a thread, checks that hakmem's live-byte count returns to where it started,
 * and exits with status 0 (exit(), so hakmem's exit handlers run in the child too).
 *
 * At the end everything is verified and freed, then the leak check: mallinfo2() (exported by
 * hakmem: uordblks = live bytes of the small boxes, hblks = live mmap-box regions) must be
 * back at its value before the run. glibc's own malloc use (stdio buffers, thread DTVs) is
 * paid before the first measurement by a warm-up (threads with the same stack size, a fork)
 * and measured: a second identical warm-up must not move the numbers (libc_keep, the
 * tolerance). RSS: peak RSS (getrusage) must stay below
 *   rss_base + 2 x peak_live + 64 MiB + 24 MiB
 * where peak_live is the largest sum of live requested bytes the program ever held (counted
 * exactly), 2x covers hakmem's class rounding and per-class high-water (touched pages of
 * freed blocks stay resident in the small boxes: pages are not returned to the OS), 64 MiB is
 * the mmap box's region cache (HK_OS_CACHE_BYTES, core/box/hk_mmap.c) and 24 MiB the per-thread caches
 * (256 KiB per class per thread) and metadata.
 *
 * Output: one line
 *   stress: threads=T ops=N corruptions=0 leaks=0 ... peak_rss=...KiB rss_bound=...KiB
 * exit 0 when all is well, 1 on any corruption, leak, RSS or child failure, 2 on usage error.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LANES 64
#define NSLOTS 64
#define QCAP 128
#define ORPH_CAP 256
#define NRESIDENT 48
#define FULL_LIMIT 16384 /* blocks up to this size are stamped whole */
#define EDGE 64
#define STRIDE 4096
#define SAMPLE 8
#define MAX_SIZE ((size_t)4 << 20)
#define STACK_SIZE ((size_t)512 << 10)

enum kind {
    K_MALLOC,
    K_CALLOC,
    K_REALLOC_NEW,
    K_MEMALIGN,
    K_POSIX_MEMALIGN,
    K_ALIGNED_ALLOC,
    K_NKINDS
};

struct blk {
    unsigned char *p;
    size_t size;
    uint64_t key;
};

struct lane {
    pthread_t th;
    unsigned id;
    unsigned gen;
    uint64_t rng;
    unsigned long remaining, chunk;
    atomic_int done;
    int running;
    struct blk slots[NSLOTS];
    pthread_mutex_t qlock;
    unsigned qhead, qcount;
    struct blk q[QCAP];
    /* statistics (written by the lane's current worker only) */
    uint64_t allocs, frees, cross_sent, cross_freed, reallocs, adopted, orphaned;
    uint64_t box[6];
};

static unsigned g_lanes = 4;
static unsigned long g_ops = 200000;
static uint64_t g_seed = 1;
static unsigned g_cross = 25;
static struct lane *lanes;

static pthread_mutex_t orph_lock = PTHREAD_MUTEX_INITIALIZER;
static struct blk orph[ORPH_CAP];
static unsigned orph_n;

static atomic_ulong g_corruptions, g_progress;
static _Atomic int64_t g_live, g_peak_live;
static atomic_ulong g_seq;
static int (*p_box_of)(const void *); /* hak_box_of, when hakmem is preloaded */

static const size_t edges[] = {0,      1,       16,      1024,    1025,    8192,    8193,
                               32768,  32769,   40960,   40961,   53248,   53249,   65536,
                               131072, 1 << 20, 2097151, 2097152, 3 << 20, MAX_SIZE};

/* ---------------------------------------------------------------- helpers */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void complain(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    if (write(2, line, (size_t)n) < 0) { /* nothing more to do */
    }
}

static void corrupt(const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (atomic_fetch_add(&g_corruptions, 1) < 20)
        complain("stress: CORRUPTION %s", line);
}

static size_t rand_size(uint64_t *rng)
{
    uint64_t r = rnd(rng);
    if (r % 16 == 0) {
        size_t e = edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
        int d = (int)((r >> 20) % 3) - 1;
        if (d < 0 && e == 0)
            d = 0;
        if (d > 0 && e == MAX_SIZE)
            d = 0;
        return e + (size_t)(ptrdiff_t)d;
    }
    unsigned e = (unsigned)((r >> 8) % 23); /* 0: [0,1]; e: [2^(e-1), 2^e], up to 4 MiB */
    if (e == 0)
        return (r >> 16) & 1;
    size_t lo = (size_t)1 << (e - 1), hi = (size_t)1 << e;
    return lo + (size_t)((r >> 16) % (hi - lo + 1));
}

static inline unsigned char pat(uint64_t key, size_t i)
{
    uint64_t x = key ^ ((uint64_t)(i >> 3) * 0x9E3779B97F4A7C15ULL);
    return (unsigned char)(x >> ((i & 7) * 8)) ^ (unsigned char)(i >> 11);
}

enum { M_STAMP, M_CHECK, M_ZERO };

/* Apply mode m to the stamped bytes of a block of `size` bytes that lie below `limit`.
 * Returns the first bad offset, or SIZE_MAX. */
static size_t range(int m, unsigned char *p, uint64_t key, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        if (m == M_STAMP)
            p[i] = pat(key, i);
        else if (p[i] != (m == M_ZERO ? 0 : pat(key, i)))
            return i;
    }
    return SIZE_MAX;
}

static size_t walk(int m, unsigned char *p, uint64_t key, size_t size, size_t limit)
{
    size_t bad, end = size < limit ? size : limit;
    if (size <= FULL_LIMIT)
        return range(m, p, key, 0, end);
    if ((bad = range(m, p, key, 0, EDGE < end ? EDGE : end)) != SIZE_MAX)
        return bad;
    for (size_t k = STRIDE; k + SAMPLE <= size - EDGE && k < end; k += STRIDE)
        if ((bad = range(m, p, key, k, k + SAMPLE < end ? k + SAMPLE : end)) != SIZE_MAX)
            return bad;
    if (size - EDGE < end)
        return range(m, p, key, size - EDGE, end);
    return SIZE_MAX;
}

static void live_add(int64_t d)
{
    int64_t v = atomic_fetch_add(&g_live, d) + d, pk = atomic_load(&g_peak_live);
    while (v > pk && !atomic_compare_exchange_weak(&g_peak_live, &pk, v))
        ;
}

static bool check_block(const struct blk *b, const char *what, unsigned who)
{
    size_t bad = walk(M_CHECK, b->p, b->key, b->size, SIZE_MAX);
    if (bad != SIZE_MAX) {
        corrupt("%s (lane %u): block %p size %zu key %" PRIx64 ": byte %zu is 0x%02x, want 0x%02x",
                what, who, (void *)b->p, b->size, b->key, bad, b->p[bad], pat(b->key, bad));
        return false;
    }
    size_t us = malloc_usable_size(b->p);
    if (us < b->size) {
        corrupt("%s (lane %u): malloc_usable_size(%p) = %zu < size %zu", what, who, (void *)b->p,
                us, b->size);
        return false;
    }
    return true;
}

/* verify and free; a corrupt block is leaked on purpose (it may not be ours any more) */
static void release(struct blk *b, const char *what, unsigned who)
{
    if (check_block(b, what, who))
        free(b->p);
    live_add(-(int64_t)b->size);
    b->p = NULL;
}

/* Allocate a fresh block into *b with a random function; false on a (reported) failure. */
static bool fresh(struct blk *b, uint64_t *rng, unsigned who, uint64_t *boxc)
{
    size_t size = rand_size(rng);
    uint64_t r = rnd(rng);
    unsigned k = (unsigned)(r % 100);
    enum kind kind = k < 30   ? K_MALLOC
                     : k < 45 ? K_CALLOC
                     : k < 55 ? K_REALLOC_NEW
                     : k < 70 ? K_MEMALIGN
                     : k < 85 ? K_POSIX_MEMALIGN
                              : K_ALIGNED_ALLOC;
    size_t align = (size_t)1 << ((r >> 8) % 17); /* 1 B .. 64 KiB */
    void *p = NULL;
    errno = 0;
    switch (kind) {
    case K_MALLOC: p = malloc(size); break;
    case K_CALLOC: {
        size_t n = 1 + (r >> 20) % 8, each = size / n; /* n * each <= size */
        size = n * each;
        p = calloc(n, each);
        break;
    }
    case K_REALLOC_NEW: p = realloc(NULL, size); break;
    case K_MEMALIGN: p = memalign(align, size); break;
    case K_POSIX_MEMALIGN: {
        if (align < sizeof(void *))
            align = sizeof(void *);
        int rc = posix_memalign(&p, align, size);
        if (rc != 0) {
            corrupt("posix_memalign(%zu, %zu) = %d (lane %u)", align, size, rc, who);
            return false;
        }
        break;
    }
    case K_ALIGNED_ALLOC: p = aligned_alloc(align, size); break;
    default: break;
    }
    if (!p) {
        corrupt("allocation kind %d of %zu bytes (align %zu) returned NULL, errno %d (lane %u)",
                (int)kind, size, align, errno, who);
        return false;
    }
    size_t want = align > 16 && kind >= K_MEMALIGN ? align : 16;
    if ((uintptr_t)p % want) {
        corrupt("%p (kind %d, size %zu) is not %zu-byte aligned (lane %u)", p, (int)kind, size,
                want, who);
        free(p);
        return false;
    }
    size_t us = malloc_usable_size(p);
    if (us < size) {
        corrupt("malloc_usable_size(%p) = %zu < %zu (lane %u)", p, us, size, who);
        free(p);
        return false;
    }
    b->p = p;
    b->size = size;
    b->key = rnd(rng) ^ (atomic_fetch_add(&g_seq, 1) << 1);
    if (kind == K_CALLOC) {
        size_t bad = walk(M_ZERO, b->p, 0, size, SIZE_MAX);
        if (bad != SIZE_MAX)
            corrupt("calloc block %p size %zu: byte %zu is 0x%02x, not 0 (lane %u)", p, size, bad,
                    b->p[bad], who);
    }
    walk(M_STAMP, b->p, b->key, size, SIZE_MAX);
    live_add((int64_t)size);
    if (boxc) {
        int bx = p_box_of ? p_box_of(p) : 0;
        boxc[bx >= 0 && bx < 6 ? bx : 0]++;
    }
    return true;
}

static void do_realloc(struct blk *b, uint64_t *rng, unsigned who)
{
    uint64_t r = rnd(rng);
    size_t ns = r % 64 == 0 ? 0 : rand_size(rng);
    if (!check_block(b, "before realloc", who)) {
        live_add(-(int64_t)b->size);
        b->p = NULL;
        return;
    }
    errno = 0;
    unsigned char *q = realloc(b->p, ns);
    if (ns == 0) { /* glibc: frees and returns NULL */
        if (q) {
            corrupt("realloc(%p, 0) returned %p, not NULL (lane %u)", (void *)b->p, (void *)q, who);
            free(q);
        }
        live_add(-(int64_t)b->size);
        b->p = NULL;
        return;
    }
    if (!q) {
        corrupt("realloc(%p, %zu) returned NULL, errno %d (lane %u)", (void *)b->p, ns, errno, who);
        return; /* the old block stays valid and stamped */
    }
    if ((uintptr_t)q % 16)
        corrupt("realloc returned misaligned %p (lane %u)", (void *)q, who);
    size_t bad = walk(M_CHECK, q, b->key, b->size, ns);
    if (bad != SIZE_MAX)
        corrupt("realloc %zu -> %zu (lane %u): preserved byte %zu is 0x%02x, want 0x%02x", b->size,
                ns, who, bad, q[bad], pat(b->key, bad));
    live_add((int64_t)ns - (int64_t)b->size);
    b->p = q;
    b->size = ns;
    b->key = rnd(rng) ^ (atomic_fetch_add(&g_seq, 1) << 1);
    walk(M_STAMP, q, b->key, ns, SIZE_MAX);
}

/* ---------------------------------------------------------------- workers */

static void drain_inbox(struct lane *l, unsigned max)
{
    struct blk tmp[16];
    unsigned n = 0;
    pthread_mutex_lock(&l->qlock);
    while (l->qcount && n < max && n < 16) {
        tmp[n++] = l->q[l->qhead];
        l->qhead = (l->qhead + 1) % QCAP;
        l->qcount--;
    }
    pthread_mutex_unlock(&l->qlock);
    for (unsigned i = 0; i < n; i++) {
        release(&tmp[i], "cross-thread free", l->id);
        l->cross_freed++;
        l->frees++;
    }
}

static bool send_to(struct lane *dst, struct blk *b)
{
    bool ok = false;
    pthread_mutex_lock(&dst->qlock);
    if (dst->qcount < QCAP) {
        dst->q[(dst->qhead + dst->qcount) % QCAP] = *b;
        dst->qcount++;
        ok = true;
    }
    pthread_mutex_unlock(&dst->qlock);
    return ok;
}

static void adopt(struct lane *l)
{
    pthread_mutex_lock(&orph_lock);
    for (unsigned i = 0; i < NSLOTS && orph_n > 0; i++) {
        if (l->slots[i].p)
            continue;
        l->slots[i] = orph[--orph_n];
        l->adopted++;
        if (l->adopted % 8 == 0)
            break;
    }
    pthread_mutex_unlock(&orph_lock);
}

static void *worker(void *arg)
{
    struct lane *l = arg;
    unsigned long n = l->chunk;
    for (unsigned long op = 0; op < n; op++) {
        if ((op & 1023) == 1023)
            atomic_fetch_add(&g_progress, 1024);
        if (l->qcount) /* racy peek; the drain takes the lock */
            drain_inbox(l, 4);
        uint64_t r = rnd(&l->rng);
        if (r % 512 == 0)
            adopt(l);
        struct blk *b = &l->slots[(r >> 10) % NSLOTS];
        if (!b->p) {
            if (fresh(b, &l->rng, l->id, l->box))
                l->allocs++;
            continue;
        }
        unsigned c = (unsigned)((r >> 20) % 100);
        if (c < 20) {
            do_realloc(b, &l->rng, l->id);
            l->reallocs++;
        } else if (c < 24) {
            check_block(b, "spot check", l->id);
        } else if (g_lanes > 1 && (unsigned)((r >> 32) % 100) < g_cross) {
            unsigned to = (l->id + 1 + (unsigned)((r >> 40) % (g_lanes - 1))) % g_lanes;
            if (send_to(&lanes[to], b)) {
                b->p = NULL;
                l->cross_sent++;
            } else {
                release(b, "local free", l->id);
                l->frees++;
            }
        } else {
            release(b, "local free", l->id);
            l->frees++;
        }
    }
    atomic_fetch_add(&g_progress, n & 1023);
    /* Leave: a share of the live blocks to the orphanage (any lane adopts them), the rest to
     * the lane's next worker; the inbox stays for the successor too. */
    pthread_mutex_lock(&orph_lock);
    for (unsigned i = 0; i < NSLOTS && orph_n < ORPH_CAP; i++) {
        if (l->slots[i].p && (i % 3) == (l->gen % 3)) {
            orph[orph_n++] = l->slots[i];
            l->slots[i].p = NULL;
            l->orphaned++;
        }
    }
    pthread_mutex_unlock(&orph_lock);
    atomic_store(&l->done, 1);
    return NULL;
}

/* ---------------------------------------------------------------- fork child */

static struct blk resident[NRESIDENT];

static void *child_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    struct blk s[32];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 4000; i++) {
        struct blk *b = &s[rnd(&rng) % 32];
        if (b->p)
            release(b, "child thread free", 1000);
        else
            fresh(b, &rng, 1000, NULL);
    }
    for (int i = 0; i < 32; i++)
        if (s[i].p)
            release(&s[i], "child thread free", 1000);
    return NULL;
}

static int child_spawn(pthread_attr_t *attr, uint64_t seed)
{
    pthread_t t;
    if (pthread_create(&t, attr, child_thread, (void *)(uintptr_t)seed) != 0)
        return -1;
    return pthread_join(t, NULL);
}

static int child_main(unsigned which, pthread_attr_t *attr)
{
    unsigned long c0 = atomic_load(&g_corruptions);
    /* Blocks inherited from the parent: still intact, and freeable here. */
    for (unsigned i = which; i < NRESIDENT; i += 2)
        if (resident[i].p)
            release(&resident[i], "child: inherited block", 999);
    if (child_spawn(attr, g_seed * 77 + which) != 0) /* warm-up: the child's first thread */
        return 4;
    struct mallinfo2 a = mallinfo2();
    uint64_t rng = g_seed * 1000003 + which;
    static struct blk s[64];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 20000; i++) {
        struct blk *b = &s[rnd(&rng) % 64];
        if (!b->p)
            fresh(b, &rng, 999, NULL);
        else if (rnd(&rng) % 4 == 0)
            do_realloc(b, &rng, 999);
        else
            release(b, "child free", 999);
    }
    if (child_spawn(attr, g_seed * 31 + which) != 0)
        return 4;
    for (int i = 0; i < 64; i++)
        if (s[i].p)
            release(&s[i], "child free", 999);
    struct mallinfo2 z = mallinfo2();
    if (p_box_of && (z.uordblks != a.uordblks || z.hblks != a.hblks)) {
        complain("stress: child: hakmem statistics do not balance: uordblks %zu -> %zu, hblks "
                 "%zu -> %zu",
                 a.uordblks, z.uordblks, a.hblks, z.hblks);
        return 3;
    }
    return atomic_load(&g_corruptions) != c0 ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void *warm(void *arg)
{
    free(malloc((size_t)(uintptr_t)arg));
    return NULL;
}

/* What glibc itself allocates for threads and fork: spawn n threads at once, join, fork. */
static void warm_up(pthread_attr_t *attr, unsigned n)
{
    pthread_t t[MAX_LANES + 2];
    for (unsigned i = 0; i < n; i++)
        if (pthread_create(&t[i], attr, warm, (void *)(uintptr_t)(16 << (i % 8))) != 0)
            t[i] = 0;
    for (unsigned i = 0; i < n; i++)
        if (t[i])
            pthread_join(t[i], NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long cur_rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void start_gen(struct lane *l, pthread_attr_t *attr, uint64_t *rng)
{
    unsigned long lo = g_ops / 8 ? g_ops / 8 : 1, hi = g_ops / 3 ? g_ops / 3 : 1;
    if (l->remaining <= hi)
        l->chunk = l->remaining;
    else
        l->chunk = lo + rnd(rng) % (hi - lo + 1);
    l->remaining -= l->chunk;
    l->gen++;
    atomic_store(&l->done, 0);
    if (pthread_create(&l->th, attr, worker, l) != 0) {
        complain("stress: pthread_create failed");
        exit(1);
    }
    l->running = 1;
}

int main(int argc, char **argv)
{
    if (argc > 5 || (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(stderr, "usage: %s [threads] [ops_per_thread] [seed] [cross_pct]\n", argv[0]);
        return 2;
    }
    if (argc > 1)
        g_lanes = (unsigned)strtoul(argv[1], NULL, 10);
    if (argc > 2)
        g_ops = strtoul(argv[2], NULL, 10);
    if (argc > 3)
        g_seed = strtoull(argv[3], NULL, 10);
    if (argc > 4)
        g_cross = (unsigned)strtoul(argv[4], NULL, 10);
    if (g_lanes < 1 || g_lanes > MAX_LANES || g_ops < 1 || g_cross > 100) {
        fprintf(stderr, "stress: threads must be 1..%d, ops >= 1, cross_pct 0..100\n", MAX_LANES);
        return 2;
    }
    p_box_of = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hak_box_of");
    const bool hakmem = p_box_of != NULL;
    printf("# stress: threads=%u ops_per_thread=%lu seed=%" PRIu64 " cross_pct=%u allocator=%s\n",
           g_lanes, g_ops, g_seed, g_cross, hakmem ? "hakmem" : "other (leak check skipped)");
    fflush(stdout);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    /* The program's own bookkeeping comes from mmap-free static/one-off storage allocated
     * before the baseline and freed after the final measurement. */
    lanes = calloc(g_lanes, sizeof *lanes);
    if (!lanes)
        return 1;

    /* Baseline: pay glibc's one-off costs, then check that doing it again costs nothing. */
    warm_up(&attr, g_lanes + 2);
    struct mallinfo2 w0 = mallinfo2();
    warm_up(&attr, g_lanes + 2);
    struct mallinfo2 m0 = mallinfo2();
    long libc_keep = labs((long)m0.uordblks - (long)w0.uordblks);
    long libc_keep_h = labs((long)m0.hblks - (long)w0.hblks);
    long rss_base = cur_rss_kib();
    double t0 = now();

    uint64_t mrng = g_seed * 0x2545F4914F6CDD1DULL + 7;
    /* Resident blocks of the main thread, across every box: the fork children inherit them. */
    for (unsigned i = 0; i < NRESIDENT; i++)
        fresh(&resident[i], &mrng, 998, NULL);
    for (unsigned i = 0; i < g_lanes; i++) {
        struct lane *l = &lanes[i];
        l->id = i;
        l->rng = g_seed * 0x9E3779B97F4A7C15ULL + i * 0x632BE59BD9B4E019ULL + 1;
        l->remaining = g_ops;
        pthread_mutex_init(&l->qlock, NULL);
    }
    for (unsigned i = 0; i < g_lanes; i++)
        start_gen(&lanes[i], &attr, &mrng);

    const unsigned long total = (unsigned long)g_lanes * g_ops;
    unsigned forks = 0, fork_fail = 0, threads_started = g_lanes;
    pid_t child = 0;
    for (;;) {
        unsigned active = 0;
        for (unsigned i = 0; i < g_lanes; i++) {
            struct lane *l = &lanes[i];
            if (l->running && atomic_load(&l->done)) {
                pthread_join(l->th, NULL);
                l->running = 0;
                if (l->remaining) {
                    start_gen(l, &attr, &mrng);
                    threads_started++;
                }
            }
            active += l->running;
        }
        if (child > 0) { /* the fork child runs while the workers go on */
            int st = 0;
            pid_t w = waitpid(child, &st, WNOHANG);
            if (w == child) {
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                    complain("stress: fork child %u: %s %d", forks,
                             WIFSIGNALED(st) ? "killed by signal" : "exit status",
                             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                    fork_fail++;
                }
                child = 0;
            } else if (w < 0) {
                complain("stress: waitpid: errno %d", errno);
                fork_fail++;
                child = 0;
            }
        }
        if (!active && child <= 0)
            break;
        if (child <= 0 && active && forks < 2 &&
            atomic_load(&g_progress) >= total * (forks + 1) / 3) {
            fflush(NULL);
            child = fork();
            if (child == 0)
                exit(child_main(forks, &attr));
            if (child < 0) {
                complain("stress: fork failed, errno %d", errno);
                fork_fail++;
            }
            forks++;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    double t1 = now();

    /* Free everything that is left: lanes' slots and inboxes, the orphanage, residents. */
    uint64_t left = 0;
    for (unsigned i = 0; i < g_lanes; i++) {
        struct lane *l = &lanes[i];
        for (unsigned s = 0; s < NSLOTS; s++)
            if (l->slots[s].p) {
                release(&l->slots[s], "final free", i);
                left++;
            }
        while (l->qcount) {
            left += l->qcount < 16 ? l->qcount : 16;
            drain_inbox(l, 16);
        }
    }
    for (unsigned i = 0; i < orph_n; i++) {
        release(&orph[i], "final free (orphan)", 997);
        left++;
    }
    orph_n = 0;
    for (unsigned i = 0; i < NRESIDENT; i++)
        if (resident[i].p)
            release(&resident[i], "final free (resident)", 998);
    struct mallinfo2 m1 = mallinfo2();
    long peak_rss = rss_kib();

    uint64_t allocs = 0, frees = 0, cross = 0, reallocs = 0, adopted = 0, orphaned = 0;
    uint64_t box[6] = {0};
    for (unsigned i = 0; i < g_lanes; i++) {
        struct lane *l = &lanes[i];
        allocs += l->allocs;
        frees += l->frees;
        cross += l->cross_freed;
        reallocs += l->reallocs;
        adopted += l->adopted;
        orphaned += l->orphaned;
        for (int b = 0; b < 6; b++)
            box[b] += l->box[b];
    }
    long d_live = (long)m1.uordblks - (long)m0.uordblks;
    long d_h = (long)m1.hblks - (long)m0.hblks;
    unsigned long leaks = 0;
    if (hakmem) {
        if (labs(d_live) > libc_keep)
            leaks += (unsigned long)(labs(d_live) - libc_keep);
        if (labs(d_h) > libc_keep_h)
            leaks += (unsigned long)(labs(d_h) - libc_keep_h);
    }
    int64_t peak_live = atomic_load(&g_peak_live);
    long rss_bound = rss_base + (long)(2 * peak_live / 1024) + 64 * 1024 + 24 * 1024;
    unsigned long corr = atomic_load(&g_corruptions);
    char leakstr[32];
    if (hakmem)
        snprintf(leakstr, sizeof leakstr, "%lu", leaks);
    else
        snprintf(leakstr, sizeof leakstr, "n/a");
    printf("stress: threads=%u ops=%lu corruptions=%lu leaks=%s live_delta=%ldB hblks_delta=%ld "
           "libc_keep=%ldB allocs=%" PRIu64 " frees=%" PRIu64 " cross_thread_frees=%" PRIu64
           " reallocs=%" PRIu64 " worker_threads=%u adopted=%" PRIu64 " orphaned=%" PRIu64
           " left_at_end=%" PRIu64 " forks=%u fork_failures=%u boxes=tiny:%" PRIu64 ",pool:%" PRIu64
           ",mid:%" PRIu64 ",l25:%" PRIu64 ",mmap:%" PRIu64 " peak_live=%" PRId64
           "KiB peak_rss=%ldKiB rss_base=%ldKiB rss_bound=%ldKiB "
           "time=%.1fs seed=%" PRIu64 " cross_pct=%u\n",
           g_lanes, total, corr, leakstr, d_live, d_h, libc_keep, allocs, frees, cross, reallocs,
           threads_started, adopted, orphaned, left, forks, fork_fail, box[1], box[2], box[3],
           box[4], box[5], peak_live / 1024, peak_rss, rss_base, rss_bound, t1 - t0, g_seed,
           g_cross);
    int rc = 0;
    if (corr) {
        complain("stress: FAIL: %lu corruptions", corr);
        rc = 1;
    }
    if (hakmem && leaks) {
        complain("stress: FAIL: leak: hakmem's live bytes %zu -> %zu, live mmap regions %zu -> %zu "
                 "(glibc's own allowance %ld B, %ld regions)",
                 m0.uordblks, m1.uordblks, m0.hblks, m1.hblks, libc_keep, libc_keep_h);
        rc = 1;
    }
    if (peak_rss > rss_bound) {
        complain("stress: FAIL: peak RSS %ld KiB above the bound %ld KiB", peak_rss, rss_bound);
        rc = 1;
    }
    if (fork_fail || forks != 2) {
        complain("stress: FAIL: %u of %u fork children failed", fork_fail, forks);
        rc = 1;
    }
    free(lanes);
    pthread_attr_destroy(&attr);
    return rc;
}
