/* hk_mmap.c: the mmap box (see hk_mmap.h).
 *
 * Layout of a region: [header page(s) | user memory], the user pointer page-aligned (or
 * aligned as asked), the header at the mapping's start. The registry is a fixed array of
 * buckets (static storage: usable before init, and it never allocates), each chained through
 * the headers themselves; 256 locks stripe it, so no global lock is ever taken.
 *
 * munmap can fail (ENOMEM when it would split a mapping at vm.max_map_count): a region is
 * never forgotten while it is still mapped. region_unmap() keeps a region the OS refused to
 * unmap on a list (its pages released with MADV_DONTNEED), reuses it for a later allocation,
 * and unmaps it again at malloc_trim; every kept byte is counted.
 */
#define _GNU_SOURCE
#include "hk_mmap.h"

#include "hk_purge.h"
#include "hk_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HK_OS_MAGIC 0x686b6d6d61702121ULL /* "hkmmap!!" */
#define HK_OS_KEPT 0x686b6b6570742121ULL  /* "hkkept!!": a region munmap refused */
#define HK_OS_NBUCKETS 65536
#define HK_OS_NSTRIPES 256

typedef struct hk_os_hdr {
    uint64_t magic;
    struct hk_os_hdr *next;
    uintptr_t user;
    size_t map_size;
    bool fresh; /* straight from mmap: still zero-filled */
    /* The largest request (header page included) it served: past it, pages are resident only
     * if a program wrote beyond its request, into the usable size. */
    size_t hw;
} hk_os_hdr;

/* Freed regions kept for reuse, so that a program cycling through multi-MiB blocks does not
 * pay mmap, munmap and a page fault per page every time. Bounded: HK_OS_CACHE_SLOTS regions,
 * none above 16 MiB, and a byte budget: the bytes the box has live (at least HK_OS_CACHE_MIN,
 * at most HK_OS_CACHE_BYTES), or what the cache learnt, whichever is more. HK_OS_CACHE_MIN is
 * 32 MiB: the 80/15/4/1 % mix of issue 13 (bench_mixed, 1 % of 2-4 MiB blocks, 2 threads)
 * mapped 95 fresh regions with 16 MiB, 88 k page faults against tcmalloc's 20 k.
 * Learnt like the page heap's dirty budget: a region mapped fresh less than a second after
 * the cache let regions go (evicted over the budget, or unmapped by the delayed purge) raises
 * the budget by its size, up to the bytes let go (each counts once) and HK_OS_CACHE_LEARN_MAX
 * (256 MiB); a second without one lowers it by a quarter of its excess over HK_OS_CACHE_MIN,
 * and malloc_trim resets it. (The live bytes rise and fall: the same mix's cache was full,
 * 8 regions and 29-31 MiB of its 32, while 2-3 blocks (7-10 MiB) were live, and a region it
 * let go was mapped again, 768 page faults for 3 MiB, plus the munmap's and mremap's TLB
 * flushes: 13 % more kernel time than mimalloc in perf, the cause of its miss; README.) A region cached for
 * HAKMEM_PURGE_DELAY_MS is unmapped by the purge clock, which the slow paths drive: a program
 * that only idles (or only takes the fast paths) after its frees keeps up to the budget
 * cached until its next slow path or malloc_trim. Delay 0: nothing is cached; -1: up to the
 * most bytes the box had live (cache_put). */
#define HK_OS_CACHE_SLOTS 64
#define HK_OS_CACHE_BYTES ((size_t)64 << 20)
#define HK_OS_CACHE_MAX_REGION ((size_t)16 << 20)
#define HK_OS_CACHE_MIN ((size_t)32 << 20)
#define HK_OS_CACHE_LEARN_MAX ((size_t)256 << 20)
#define HK_OS_CACHE_LEARN_MS 1000
typedef struct {
    uintptr_t base;
    size_t size;
    size_t hw;      /* as in its header */
    uint32_t freed; /* hk_purge_now() when it was cached */
} hk_os_cached;
static hk_os_cached cache[HK_OS_CACHE_SLOTS];
static int cache_n;
static size_t cache_bytes;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
/* The budget learnt; the bytes the cache let go in the second since cache_let_go, not yet
 * mapped again; when a fresh map last raised the budget or it was last lowered
 * (hk_purge_now(); under cache_lock). */
static size_t cache_learnt = HK_OS_CACHE_MIN, cache_let_bytes;
static uint32_t cache_let_go, cache_raised, cache_lowered;

/* The cache lets `bytes` go at `now` (cache_lock held). */
static void cache_let(uint32_t now, size_t bytes)
{
    if (cache_let_bytes == 0 || (uint32_t)(now - cache_let_go) >= HK_OS_CACHE_LEARN_MS) {
        cache_let_bytes = 0;
        cache_let_go = now;
    }
    cache_let_bytes += bytes;
}

/* Regions the OS refused to unmap, chained through their headers (under cache_lock). */
static hk_os_hdr *kept;
static _Atomic size_t kept_bytes; /* written under cache_lock, read without it too */
/* The last user pointers freed (fault messages name a second free of one a double free),
 * and the largest region ever mapped (how far back a pointer's region may start). */
#define HK_OS_RECENT 256
static _Atomic uintptr_t recent[HK_OS_RECENT];
static atomic_uint recent_next;
static _Atomic size_t max_region;

static hk_os_hdr *buckets[HK_OS_NBUCKETS];
static pthread_mutex_t stripes[HK_OS_NSTRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t st_allocs, st_frees, st_bytes_now, st_bytes_total, st_reused, st_purged;
/* The most bytes the box had live at once since the start or the last malloc_trim: the
 * cache's budget while the purge is off (cache_put). */
static _Atomic uint64_t st_bytes_peak;

/* st_bytes_now grew by `by`: the peak follows. */
static void bytes_grew(size_t by)
{
    uint64_t now = atomic_fetch_add_explicit(&st_bytes_now, by, memory_order_relaxed) + by;
    uint64_t peak = atomic_load_explicit(&st_bytes_peak, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&st_bytes_peak, &peak, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void note_region(size_t size)
{
    size_t m = atomic_load_explicit(&max_region, memory_order_relaxed);
    while (size > m && !atomic_compare_exchange_weak(&max_region, &m, size))
        ;
}

static void stripes_init(void)
{
    for (int i = 0; i < HK_OS_NSTRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
}

static inline size_t bucket_of(uintptr_t p)
{
    uint64_t h = (uint64_t)p * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> (64 - 16));
}
static inline pthread_mutex_t *stripe_of(size_t b) { return &stripes[b % HK_OS_NSTRIPES]; }

static void registry_insert(hk_os_hdr *h)
{
    size_t b = bucket_of(h->user);
    pthread_mutex_lock(stripe_of(b));
    h->next = buckets[b];
    buckets[b] = h;
    pthread_mutex_unlock(stripe_of(b));
}

/* Remove and return the header of user pointer p, or NULL. */
static hk_os_hdr *registry_remove(uintptr_t p)
{
    size_t b = bucket_of(p);
    pthread_once(&stripes_once, stripes_init);
    pthread_mutex_lock(stripe_of(b));
    hk_os_hdr **pp = &buckets[b], *h;
    while ((h = *pp) && h->user != p)
        pp = &h->next;
    if (h)
        *pp = h->next;
    pthread_mutex_unlock(stripe_of(b));
    return h;
}

static hk_os_hdr *registry_find(uintptr_t p, size_t *usable)
{
    size_t b = bucket_of(p);
    pthread_once(&stripes_once, stripes_init);
    pthread_mutex_lock(stripe_of(b));
    hk_os_hdr *h = buckets[b];
    while (h && h->user != p)
        h = h->next;
    if (h && usable)
        *usable = (uintptr_t)h + h->map_size - p;
    pthread_mutex_unlock(stripe_of(b));
    return h;
}

static void kept_push(hk_os_hdr *h)
{
    pthread_mutex_lock(&cache_lock);
    h->next = kept;
    kept = h;
    kept_bytes += h->map_size;
    pthread_mutex_unlock(&cache_lock);
}

/* Unmap [base, base + size), writable whole pages; when the OS refuses, keep the region
 * (user: the pointer it was handed out as, base + one page, or 0 for a piece never handed
 * out). True when unmapped now. */
static bool region_unmap(uintptr_t base, size_t size, uintptr_t user)
{
    if (hk_sys_munmap((void *)base, size) == 0)
        return true;
    hk_os_hdr *h = (hk_os_hdr *)base;
    h->magic = HK_OS_KEPT;
    h->user = user;
    h->map_size = size;
    h->fresh = size > HK_PAGE_SIZE && hk_sys_madvise((void *)(base + HK_PAGE_SIZE),
                                                     size - HK_PAGE_SIZE, MADV_DONTNEED) == 0;
    kept_push(h);
    return false;
}

/* A kept region that serves `need` bytes without wasting much; 0 when none. */
static uintptr_t kept_take(size_t need, size_t *got, bool *fresh)
{
    hk_os_hdr *h = NULL;
    pthread_mutex_lock(&cache_lock);
    hk_os_hdr **pp = &kept;
    for (int i = 0; *pp && i < 64; i++, pp = &(*pp)->next) {
        size_t sz = (*pp)->map_size;
        if (sz >= need && (sz <= 2 * need || sz - need <= (64u << 10))) {
            h = *pp;
            *pp = h->next;
            kept_bytes -= h->map_size;
            break;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (!h)
        return 0;
    *got = h->map_size;
    *fresh = h->fresh;
    return (uintptr_t)h;
}

/* Unmap the kept regions the OS accepts now; returns the bytes released. */
static size_t kept_retry(void)
{
    pthread_mutex_lock(&cache_lock);
    hk_os_hdr *list = kept;
    kept = NULL;
    kept_bytes = 0;
    pthread_mutex_unlock(&cache_lock);
    size_t released = 0;
    while (list) {
        hk_os_hdr *h = list;
        list = h->next;
        size_t size = h->map_size;
        if (hk_sys_munmap(h, size) == 0)
            released += size;
        else
            kept_push(h);
    }
    return released;
}

/* The purge off (-1): the room the cache has when `live` bytes are live, so that live and
 * cached bytes stay within the box's peak (cache_put, and a fresh map: hostile review 20, an
 * aligned request, which the cache never serves, mapped fresh while a wave of freed regions
 * stayed cached, twice the peak). */
static size_t never_room(size_t live)
{
    size_t peak = (size_t)atomic_load_explicit(&st_bytes_peak, memory_order_relaxed);
    return peak > live ? peak - live : 0;
}

/* Evict the oldest cached regions until the cache holds at most `keep` bytes. */
static void cache_shrink_to(size_t keep)
{
    hk_os_cached evict[HK_OS_CACHE_SLOTS];
    int nevict = 0;
    pthread_mutex_lock(&cache_lock);
    while (cache_n > 0 && cache_bytes > keep) {
        evict[nevict++] = cache[0];
        cache_bytes -= cache[0].size;
        for (int i = 1; i < cache_n; i++)
            cache[i - 1] = cache[i];
        cache_n--;
    }
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < nevict; i++)
        region_unmap(evict[i].base, evict[i].size, evict[i].base + HK_PAGE_SIZE);
}

/* Whether a class's slack is free: no RLIMIT_AS (the slack counts against it: hostile review 24
 * held half as many 8.1 MiB blocks under `ulimit -v`), and the kernel not in strict
 * overcommit (vm.overcommit_memory 2 charges a writable mapping whole). Read at every fresh
 * map (a program may set a limit at any time); the sysctl once. */
static int overcommit_strict = -1; /* -1: not read yet */
static bool slack_free(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur != RLIM_INFINITY)
        return false;
    int strict = __atomic_load_n(&overcommit_strict, __ATOMIC_RELAXED);
    if (strict < 0) {
        char c = '2'; /* unreadable: assume strict */
        int fd = hk_sys_open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC, 0);
        if (fd >= 0) {
            if (hk_sys_read(fd, &c, 1) != 1)
                c = '2';
            hk_sys_close(fd);
        }
        strict = c == '2';
        __atomic_store_n(&overcommit_strict, strict, __ATOMIC_RELAXED);
    }
    return !strict;
}

/* The size a region the cache may keep is mapped at, for `need` bytes: the power of two at
 * or above it (up to HK_OS_CACHE_MAX_REGION; above, `need`), when its slack is free
 * (slack_free). The pages past the request become resident only if a program writes past its
 * request. A cached region then serves any later request of its octave as it is: growing a
 * smaller one with mremap moves its page tables, and the first touch of each moved page cost
 * about 2 us on the AMD machine (a probe timed 2.1 ms for a 4 MiB region against 14 us for
 * its second touch), more than the region's reuse saved. With the choice in cache_take,
 * `bench/pair.sh 21 <ba812b8> <c602ac4> bench/bench_mixed 2 150000 42 256` with the 80/15/4/1
 * % mix: 1.101; `bench_mixed 2 400000 42`: 1.147 (15 pairs). */
static size_t region_class(size_t need)
{
    if (need > HK_OS_CACHE_MAX_REGION)
        return need;
    size_t c = (size_t)1 << (63 - __builtin_clzl(need));
    return c == need ? c : c << 1;
}

/* A cached region for a default-aligned request of `need` bytes; *got is its size and *hw
 * its header's hw. Among the regions that fit, the one whose largest request served (hw) is
 * nearest above `need` (its pages are resident, and the fewest past the request), else the
 * one with the largest hw (the fewest pages to fault in); the newest among equals (its pages
 * and page tables are the likeliest still in the caches). The smallest fit taken newest first
 * had a peak RSS of 1.115 of ba812b8 on the 80/15/4/1 % mix (`bench/compare.sh`, 11 rounds:
 * a 4 MiB region that once served 4 MiB kept them resident under a 2 MiB block); this
 * choice: medians of 9 runs 70.4 MB against ba812b8's 75.9. A region taken keeps its mapping
 * (its slack is only address space, so a block alternating 3 and 5 MiB is served without a
 * system call: cutting it at the class cost a munmap and an mremap a cycle, 0.10x ba812b8,
 * hostile review 25); what it holds resident past the request goes back when that is more
 * than the request again (7.9 MiB written, then 2.1 MiB served: 2.1 resident, as ba812b8).
 * Without free slack (slack_free) the address space counts: a region over twice the request
 * is cut at it (ba812b8's rule). None fits: the biggest smaller region, grown with mremap to
 * the class, or to the request without free slack (its pages stay resident, so only the
 * added part faults in, not the whole region as with a fresh mmap). 0 when the cache is
 * empty. The cache stays oldest first (eviction). */
static uintptr_t cache_take(size_t need, size_t *got, size_t *hw)
{
    uintptr_t base = 0;
    bool slack = slack_free();
    size_t have = 0, cls = slack ? region_class(need) : need;
    pthread_mutex_lock(&cache_lock);
    int best = -1, below = -1;
    for (int i = cache_n - 1; i >= 0; i--) {
        if (cache[i].size >= need) {
            if (best < 0) {
                best = i;
                continue;
            }
            size_t h = cache[i].hw, bh = cache[best].hw;
            bool in = h >= need, bin = bh >= need; /* resident up to the request */
            if (in != bin ? in : in ? h < bh : h > bh)
                best = i;
        } else if (below < 0 || cache[i].size > cache[below].size) {
            below = i;
        }
    }
    if (best < 0)
        best = below;
    if (best >= 0) {
        base = cache[best].base;
        have = cache[best].size;
        *hw = cache[best].hw;
        cache_bytes -= have;
        for (int i = best + 1; i < cache_n; i++)
            cache[i - 1] = cache[i];
        cache_n--;
    }
    pthread_mutex_unlock(&cache_lock);
    if (base && have < need) {
        void *m = hk_sys_mremap((void *)base, have, cls);
        if (m == MAP_FAILED && cls > need)
            m = hk_sys_mremap((void *)base, have, cls = need); /* without the slack */
        if (m == MAP_FAILED) {
            region_unmap(base, have, base + HK_PAGE_SIZE);
            base = 0;
            have = 0;
        } else {
            base = (uintptr_t)m;
            have = cls;
        }
    } else if (base && !slack && have > 2 * need) {
        /* Give back the excess; when the OS refuses, the region serves whole. */
        if (hk_sys_munmap((void *)(base + need), have - need) == 0) {
            have = need;
            if (*hw > need)
                *hw = need;
        }
    } else if (base && *hw > 2 * need) {
        /* Resident past twice the request: the pages past it go back (when the OS refuses,
         * they serve). */
        size_t res = *hw < have ? *hw : have;
        if (hk_sys_madvise((void *)(base + need), res - need, MADV_DONTNEED) == 0)
            *hw = need;
    }
    *got = have;
    return base;
}

/* Keep a freed region for reuse; false when it does not fit the cache's bounds. */
static bool cache_put(uintptr_t base, size_t size, size_t hw)
{
    long delay = hk_purge_delay; /* one reading: a mallopt may change it meanwhile */
    if (size > HK_OS_CACHE_MAX_REGION || delay == 0)
        return false;
    uint32_t now = hk_purge_now(); /* at -1 too: a mallopt may turn the purge on later */
    hk_os_cached evict[HK_OS_CACHE_SLOTS];
    int nevict = 0;
    size_t live = atomic_load_explicit(&st_bytes_now, memory_order_relaxed);
    size_t budget = live < HK_OS_CACHE_MIN     ? HK_OS_CACHE_MIN
                    : live > HK_OS_CACHE_BYTES ? HK_OS_CACHE_BYTES
                                               : live;
    /* The purge off (-1): nothing learns the budget (the purge clock does, and it does not
     * run), so the cache keeps up to the most the box ever had live: a program's freed
     * regions are all kept for its next wave, and no more than its peak footprint. (With the
     * default's budget, `bench_mixed 2 30000 42 256 1:2097152-4194304` at -1 mapped 1500 more
     * fresh regions than at the default delay, 0.34x as fast; keeping every region whatever
     * its size made a program alternating 3 and 20 MiB blocks grow by 20 MiB a round.) */
    if (delay < 0) {
        size_t room = never_room(live - size); /* live still counts the region freed */
        budget = room > HK_OS_CACHE_MIN ? room : HK_OS_CACHE_MIN;
    }
    pthread_mutex_lock(&cache_lock);
    if (cache_learnt > budget)
        budget = cache_learnt;
    if (size > budget) {
        pthread_mutex_unlock(&cache_lock);
        return false;
    }
    while (cache_n > 0 && (cache_n == HK_OS_CACHE_SLOTS || cache_bytes + size > budget)) {
        evict[nevict++] = cache[0]; /* the oldest */
        cache_bytes -= cache[0].size;
        for (int i = 1; i < cache_n; i++)
            cache[i - 1] = cache[i];
        cache_n--;
    }
    for (int i = 0; i < nevict; i++)
        cache_let(hk_purge_now(), evict[i].size);
    cache[cache_n++] = (hk_os_cached){base, size, hw, now};
    cache_bytes += size;
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < nevict; i++)
        region_unmap(evict[i].base, evict[i].size, evict[i].base + HK_PAGE_SIZE);
    /* Also when a mallopt turned the purge on since `delay` was read: its recomputation ran
     * before this region was in the cache. */
    if (delay > 0 || hk_purge_delay >= 0)
        hk_purge_schedule(hk_purge_deadline(now));
    return true;
}

/* Unmap the cached regions due at `now` (all when `all`); *released counts their bytes.
 * A region whose munmap fails is kept (region_unmap: still mapped, counted, reused, unmapped
 * at a later trim). Returns the next deadline. */
static uint32_t cache_purge(uint32_t now, bool all, size_t *released)
{
    hk_os_cached due[HK_OS_CACHE_SLOTS];
    int ndue = 0;
    uint32_t next = HK_PURGE_NEVER;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_n;) {
        if (all || hk_purge_due(hk_purge_deadline(cache[i].freed), now)) {
            due[ndue++] = cache[i];
            cache_bytes -= cache[i].size;
            for (int j = i + 1; j < cache_n; j++) /* keep the order: oldest first */
                cache[j - 1] = cache[j];
            cache_n--;
        } else {
            i++;
        }
    }
    for (int i = 0; i < ndue && !all; i++)
        cache_let(now, due[i].size);
    /* A second without a region mapped again: a quarter of the excess learnt goes. */
    if (cache_learnt > HK_OS_CACHE_MIN && (uint32_t)(now - cache_raised) >= HK_OS_CACHE_LEARN_MS &&
        (uint32_t)(now - cache_lowered) >= HK_OS_CACHE_LEARN_MS) {
        cache_learnt -= (cache_learnt - HK_OS_CACHE_MIN + 3) / 4;
        cache_lowered = now;
    }
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < ndue; i++) {
        if (region_unmap(due[i].base, due[i].size, due[i].base + HK_PAGE_SIZE)) {
            *released += due[i].size;
            atomic_fetch_add_explicit(&st_purged, due[i].size, memory_order_relaxed);
        }
    }
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_n; i++) {
        uint32_t d = hk_purge_deadline(cache[i].freed);
        if (next == HK_PURGE_NEVER || (d != HK_PURGE_NEVER && (int32_t)(d - next) < 0))
            next = d;
    }
    pthread_mutex_unlock(&cache_lock);
    return hk_purge_delay < 0 ? HK_PURGE_NEVER : next;
}

uint32_t hk_os_purge(uint32_t now, bool all)
{
    size_t released = 0;
    if (hk_purge_delay < 0 && !all)
        return HK_PURGE_NEVER;
    return cache_purge(now, all, &released);
}

size_t hk_os_trim(void)
{
    size_t released = kept_retry();
    cache_purge(0, true, &released); /* what munmap refuses is kept: tried at the next trim */
    /* The program wants its memory back (or the kernel refused a map): what the cache learnt
     * goes too. */
    pthread_mutex_lock(&cache_lock);
    cache_learnt = HK_OS_CACHE_MIN;
    cache_let_bytes = 0;
    pthread_mutex_unlock(&cache_lock);
    atomic_store_explicit(&st_bytes_peak, atomic_load(&st_bytes_now), memory_order_relaxed);
    return released;
}

void *hk_os_alloc(size_t size, size_t align)
{
    void *p = hk_os_alloc_dirty(size, align);
    if (p && !hk_os_fresh(p))
        memset(p, 0, size);
    return p;
}

bool hk_os_fresh(const void *p)
{
    hk_os_hdr *h = (hk_os_hdr *)((uintptr_t)p - HK_PAGE_SIZE);
    return h->fresh;
}

/* A region of map bytes at base (header page first) handed out: its header, the registry,
 * the statistics; fresh when its pages are known to be zero. Returns the user pointer. */
static void *region_publish(uintptr_t base, size_t map, bool fresh, size_t hw)
{
    hk_os_hdr *h = (hk_os_hdr *)base;
    h->hw = hw;
    h->magic = HK_OS_MAGIC;
    h->user = base + HK_PAGE_SIZE;
    h->map_size = map;
    h->fresh = fresh;
    registry_insert(h);
    note_region(map);
    atomic_fetch_add_explicit(&st_allocs, 1, memory_order_relaxed);
    bytes_grew(map);
    atomic_fetch_add_explicit(&st_bytes_total, map, memory_order_relaxed);
    hk_purge_tick();
    return (void *)h->user;
}

/* A region of `need` bytes just mapped fresh: had the cache kept what it let go less than a
 * second ago, this one was not needed. The budget grows by its size, up to the bytes let go
 * (each byte let go counts once: a program whose large blocks only grow in number maps fresh
 * regions after a single one was let go, and must not teach the cache to keep them all). */
static void cache_learn(size_t need)
{
    if (hk_purge_delay <= 0) /* 0: nothing cached; -1: nothing would ever unlearn it */
        return;
    uint32_t now = hk_purge_now();
    pthread_mutex_lock(&cache_lock);
    if (cache_let_bytes && (uint32_t)(now - cache_let_go) < HK_OS_CACHE_LEARN_MS) {
        size_t credit = need < cache_let_bytes ? need : cache_let_bytes;
        cache_let_bytes -= credit;
        cache_learnt = cache_learnt + credit > HK_OS_CACHE_LEARN_MAX ? HK_OS_CACHE_LEARN_MAX
                                                                     : cache_learnt + credit;
        cache_raised = now;
    }
    pthread_mutex_unlock(&cache_lock);
}

void *hk_os_alloc_dirty(size_t size, size_t align)
{
    pthread_once(&stripes_once, stripes_init);
    if (align < HK_PAGE_SIZE)
        align = HK_PAGE_SIZE;
    if (size > HK_MAX_REQUEST || align > HK_MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    /* The header needs one page before the user pointer. */
    size_t need = hk_align_up(size ? size : 1, HK_PAGE_SIZE) + HK_PAGE_SIZE; /* usable > 0 */
    size_t map = need + (align > HK_PAGE_SIZE ? align : 0);
    size_t got = 0;
    bool fresh = false;
    size_t hw = 0;
    uintptr_t cached = align == HK_PAGE_SIZE ? cache_take(need, &got, &hw) : 0;
    if (!cached && align == HK_PAGE_SIZE &&
        HK_UNLIKELY(atomic_load_explicit(&kept_bytes, memory_order_relaxed) != 0)) {
        cached = kept_take(need, &got, &fresh);
        hw = got;
    }
    if (cached) {
        atomic_fetch_add_explicit(&st_reused, 1, memory_order_relaxed);
        return region_publish(cached, got, fresh, hw > need ? hw : need);
    }
    if (align == HK_PAGE_SIZE && slack_free())
        map = region_class(need);
    if (hk_purge_delay < 0) {
        size_t live = (size_t)atomic_load_explicit(&st_bytes_now, memory_order_relaxed);
        size_t room = never_room(live + map);
        cache_shrink_to(room > HK_OS_CACHE_MIN ? room : HK_OS_CACHE_MIN);
    }
    void *m = hk_sys_mmap(map, PROT_READ | PROT_WRITE, 0);
    if (m == MAP_FAILED && map > need && align == HK_PAGE_SIZE) {
        map = need; /* refused with its class's slack: without it, before emptying the cache */
        m = hk_sys_mmap(map, PROT_READ | PROT_WRITE, 0);
    }
    if (m == MAP_FAILED) {
        hk_os_trim(); /* the cache may hold what the kernel refused; try once more */
        m = hk_sys_mmap(map, PROT_READ | PROT_WRITE, 0);
    }
    if (m == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    if (align == HK_PAGE_SIZE && map <= HK_OS_CACHE_MAX_REGION)
        cache_learn(map);
    uintptr_t base = (uintptr_t)m;
    if (align > HK_PAGE_SIZE) {
        /* Trim so that base + one page is aligned. */
        uintptr_t user = hk_align_up(base + HK_PAGE_SIZE, align);
        uintptr_t nbase = user - HK_PAGE_SIZE;
        if (nbase > base)
            region_unmap(base, nbase - base, 0);
        uintptr_t end = nbase + need, mend = base + map;
        if (mend > end)
            region_unmap(end, mend - end, 0);
        base = nbase;
        map = need;
    }
    return region_publish(base, map, true, need);
}

bool hk_os_owns(const void *p) { return registry_find((uintptr_t)p, NULL) != NULL; }

hk_ptr_kind hk_os_classify(const void *p, hk_ptr_info *info)
{
    uintptr_t a = (uintptr_t)p;
    size_t usable = 0;
    *info = (hk_ptr_info){HK_PTR_FOREIGN, HK_WHY_NONE, HAK_BOX_NONE, 0, 0, 0, false};
    if (registry_find(a, &usable)) {
        *info = (hk_ptr_info){HK_PTR_LIVE, HK_WHY_NONE, HAK_BOX_MMAP, a, usable, 0, false};
        return HK_PTR_LIVE;
    }
    /* Inside a live region? Its header is page-aligned, at most max_region bytes below p,
     * and registered under header + one page. */
    size_t maxr = atomic_load(&max_region);
    for (uintptr_t c = a & ~(HK_PAGE_SIZE - 1); c >= HK_PAGE_SIZE && a - c < maxr;
         c -= HK_PAGE_SIZE) {
        size_t u = 0;
        hk_os_hdr *h = registry_find(c + HK_PAGE_SIZE, &u);
        if (!h)
            continue;
        if (a - c < h->map_size) {
            *info = (hk_ptr_info){HK_PTR_INVALID,
                                  a < h->user ? HK_WHY_HEADER : HK_WHY_INTERIOR,
                                  HAK_BOX_MMAP,
                                  h->user,
                                  u,
                                  0,
                                  false};
            return HK_PTR_INVALID;
        }
        break; /* regions do not overlap: none further down reaches p */
    }
    /* In a region kept for reuse (cached, or refused by munmap)? Its first user page is a
     * pointer hakmem returned and took back. */
    hk_ptr_kind k = HK_PTR_FOREIGN;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < cache_n && k == HK_PTR_FOREIGN; i++)
        if (a - cache[i].base < cache[i].size)
            k = a == cache[i].base + HK_PAGE_SIZE ? HK_PTR_FREED : HK_PTR_INVALID;
    for (hk_os_hdr *h = kept; h && k == HK_PTR_FOREIGN; h = h->next)
        if (a - (uintptr_t)h < h->map_size)
            k = a == h->user ? HK_PTR_FREED : HK_PTR_INVALID;
    pthread_mutex_unlock(&cache_lock);
    if (k != HK_PTR_FOREIGN) {
        *info = (hk_ptr_info){k, HK_WHY_CACHED, HAK_BOX_MMAP, 0, 0, 0, true};
        return k;
    }
    for (unsigned i = 0; i < HK_OS_RECENT; i++)
        if (a && atomic_load_explicit(&recent[i], memory_order_relaxed) == a) {
            *info = (hk_ptr_info){HK_PTR_FREED, HK_WHY_RECENT, HAK_BOX_MMAP, 0, 0, 0, true};
            return HK_PTR_FREED;
        }
    return HK_PTR_FOREIGN;
}

size_t hk_os_usable(const void *p)
{
    size_t u = 0;
    return registry_find((uintptr_t)p, &u) ? u : 0;
}

bool hk_os_free(void *p)
{
    hk_os_hdr *h = registry_remove((uintptr_t)p);
    if (!h)
        return false;
    hk_assert(h->magic == HK_OS_MAGIC);
    size_t map = h->map_size;
    h->magic = 0;
    atomic_store_explicit(&recent[atomic_fetch_add_explicit(&recent_next, 1, memory_order_relaxed) %
                                  HK_OS_RECENT],
                          (uintptr_t)p, memory_order_relaxed);
    if (!cache_put((uintptr_t)h, map, h->hw))
        region_unmap((uintptr_t)h, map, (uintptr_t)p);
    atomic_fetch_add_explicit(&st_frees, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&st_bytes_now, map, memory_order_relaxed);
    hk_purge_tick();
    return true;
}

void *hk_os_resize(void *p, size_t size)
{
    if (size > HK_MAX_REQUEST)
        return NULL;
    size_t need = hk_align_up(size ? size : 1, HK_PAGE_SIZE) + HK_PAGE_SIZE; /* usable > 0 */
    hk_os_hdr *h = registry_remove((uintptr_t)p);
    if (!h)
        return NULL;
    size_t old = h->map_size;
    if (need <= old && need >= old / 2) {
        if (need > h->hw)
            h->hw = need;
        registry_insert(h); /* fits and not much too big: keep it */
        return p;
    }
    /* Grown: to the power of two at or above the request (region_class) when its slack is
     * free, a quarter more above the cache's largest region, so that a block grown a step at
     * a time moves once an octave: 2 to 16 MiB by 64 KiB moved 224 times, each move costing
     * its resident pages' first touch again (region_class). */
    size_t map = need;
    if (need > old && slack_free())
        map = need > HK_OS_CACHE_MAX_REGION && need <= HK_MAX_REQUEST - need / 4
                  ? hk_align_up(need + need / 4, HK_PAGE_SIZE)
                  : region_class(need);
    void *m = hk_sys_mremap(h, old, map);
    if (m == MAP_FAILED && map > need)
        m = hk_sys_mremap(h, old, map = need); /* refused with the slack: without it */
    if (m == MAP_FAILED) {
        registry_insert(h);
        return NULL;
    }
    h = m;
    h->map_size = map;
    if (need > old || h->hw > need)
        h->hw = need; /* grown: the program may write it all; shrunk: the rest is gone */
    h->user = (uintptr_t)m + HK_PAGE_SIZE;
    registry_insert(h);
    note_region(map);
    if (map > old) {
        bytes_grew(map - old);
        atomic_fetch_add_explicit(&st_bytes_total, map - old, memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(&st_bytes_now, old - map, memory_order_relaxed);
    }
    return (void *)h->user;
}

void hk_os_get_stats(hk_os_stats *o)
{
    o->allocs = atomic_load(&st_allocs);
    o->frees = atomic_load(&st_frees);
    o->bytes_mapped_now = atomic_load(&st_bytes_now);
    o->bytes_total = atomic_load(&st_bytes_total);
    o->reused = atomic_load(&st_reused);
    o->bytes_purged = atomic_load(&st_purged);
    pthread_mutex_lock(&cache_lock);
    o->bytes_cached = cache_bytes;
    o->cache_budget = cache_learnt;
    o->bytes_kept = kept_bytes;
    pthread_mutex_unlock(&cache_lock);
}

void hk_os_atfork_prepare(void)
{
    pthread_once(&stripes_once, stripes_init);
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < HK_OS_NSTRIPES; i++)
        pthread_mutex_lock(&stripes[i]);
}

void hk_os_atfork_parent(void)
{
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < HK_OS_NSTRIPES; i++)
        pthread_mutex_unlock(&stripes[i]);
}

void hk_os_atfork_child(void)
{
    /* The child's only thread holds every lock taken in prepare: release them. */
    hk_os_atfork_parent();
}
