/* hk_tcache.c: thread caches (see hk_slab.c): set-up on first use, the budget and GC,
 * the slow allocation path, settling the fast path's counts, and the exit destructor. */
#include "hk_slab_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_ptr.h"
#include "hk_purge.h"
#include "hk_sys.h"

static atomic_uint shard_counter;

/* ---------------------------------------------------------------- thread caches */

bool hk_slab_tcache_setup(void)
{
    if (hk_tc.state == 1)
        return true;
    if (hk_tc.state == 2)
        return false; /* exiting thread: no caching */
    if (!hk_ready())
        return false; /* before init is done (the front door inits first): caller falls back */
    hk_tc.shard = atomic_fetch_add(&shard_counter, 1) % HK_NSHARDS;
    pthread_mutex_lock(&hk_slab_registry_lock);
    hk_tc.prev = NULL;
    hk_tc.next = hk_slab_registry;
    if (hk_slab_registry)
        hk_slab_registry->prev = &hk_tc;
    hk_slab_registry = &hk_tc;
    pthread_mutex_unlock(&hk_slab_registry_lock);
    hk_tc.gc_last = hk_purge_now();
    hk_tc.state = 1;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        hk_slab_bin_arm(c);
    pthread_setspecific(hk_slab_exit_key, &hk_tc);
    return true;
}

/* Move all but `keep` blocks of bin cls back to the transfer cache (or the pages), in batches
 * of the class's size at most, so that a refill takes each whole (a whole bin going back at
 * once would otherwise make one long batch, split by walking it when taken). The blocks
 * leave the bin before any goes further (putting them can free pages, and freeing pages can
 * run the pressure hook, which flushes this bin too). */
void hk_slab_flush_bin(unsigned cls, uint32_t keep)
{
    uint64_t count = hk_slab_bin_count(cls);
    if (count <= keep)
        return;
    uint32_t n = (uint32_t)(count - keep), batch = hk_classes[cls].batch;
    void *head = hk_tc.head[cls], *tail = head;
    for (uint32_t i = 1; i < n; i++)
        tail = *(void **)tail;
    hk_tc.head[cls] = *(void **)tail;
    hk_tc.in[cls] -= n;
    hk_slab_bin_arm(cls);
    while (n) {
        uint32_t k = n < batch ? n : batch;
        void *first = head, *last = head;
        for (uint32_t i = 1; i < k; i++)
            last = *(void **)last;
        head = *(void **)last;
        hk_slab_xfer_put(cls, hk_tc.shard, first, last, k);
        n -= k;
    }
}

/* The thread cache's byte budget: over it, the bins of the biggest blocks are emptied
 * first (all but `keep_cls`, the bin in use) until the cache holds half the budget. */
static void tcache_budget(unsigned keep_cls)
{
    size_t total = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        total += (size_t)hk_slab_bin_count(c) * hk_classes[c].bsize;
    if (HK_LIKELY(total <= HK_TC_BYTES))
        return;
    for (unsigned c = HK_NCLASSES - 1; c >= 1 && total > HK_TC_BYTES / 2; c--) {
        uint64_t n = hk_slab_bin_count(c);
        if (c == keep_cls || n == 0)
            continue;
        total -= (size_t)n * hk_classes[c].bsize;
        hk_slab_flush_bin(c, 0);
        hk_slab_bin_reset(c);
    }
    if (total > HK_TC_BYTES / 2)
        hk_slab_flush_bin(keep_cls, (uint32_t)(hk_slab_bin_count(keep_cls) / 2));
}

/* Idle bins (no refill or flush for a purge delay, at least 10 ms) go back to the transfer
 * caches, so that a thread that stopped using a class does not pin its pages. A bin in use
 * only by its fast paths goes back too, and pays one refill per period. */
static void tcache_gc(uint32_t now)
{
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        if (!(hk_tc.active >> c & 1)) {
            if (hk_tc.head[c])
                hk_slab_flush_bin(c, 0);
            hk_slab_bin_reset(c);
        }
    hk_tc.active = 0;
    hk_tc.gc_last = now;
}

/* The purge clock's per-thread hook (every tick: one slow path in 8 here, every mmap box
 * call). */
void hk_slab_tcache_tick(uint32_t now)
{
    /* The period under the delay as it is now, not as it was at the last collection (hostile
     * review 21: a mallopt lowering the delay from an hour left the bins pinned an hour). */
    long delay = hk_purge_delay;
    if (hk_tc.state == 1 && now - hk_tc.gc_last >= (uint32_t)(delay > 10 ? delay : 10))
        tcache_gc(now);
}

HK_NOINLINE void hk_slab_slow_tick_run(unsigned cls)
{
    if ((hk_tc.ticks & 63) == 0)
        tcache_budget(cls);
    hk_purge_tick();
}

uint64_t hk_slab_fast_allocs(const hk_tcache *t)
{
    uint64_t n = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        n += t->nalloc[c];
    return n - t->tctr[HK_TCTR_POPS_OTHER];
}

/* A thread's counts into the retired totals: its classes', its counters, and the front door's
 * fast-path allocations not yet attributed, to the path the fast path serves (registry_lock
 * held). */
void hk_slab_fold_thread(hk_tcache *t)
{
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        atomic_fetch_add_explicit(&hk_slab_retired_nalloc[c], t->nalloc[c], memory_order_relaxed);
        atomic_fetch_add_explicit(&hk_slab_retired_nfree[c], hk_slab_bin_nfree(t, c),
                                  memory_order_relaxed);
    }
    for (unsigned i = 0; i < HK_TCTR_COUNT; i++)
        atomic_fetch_add_explicit(&hk_slab_retired_tctr[i], t->tctr[i], memory_order_relaxed);
    atomic_fetch_add_explicit(&hk_slab_retired_tctr[HK_TCTR_SERVED_LEGACY + hk_slab_fast_central],
                              hk_slab_fast_allocs(t) - t->fast_mark, memory_order_relaxed);
}

void hk_slab_fast_settle(bool hk_slab_central)
{
    pthread_mutex_lock(&hk_slab_registry_lock);
    if (hk_slab_central != hk_slab_fast_central) {
        for (hk_tcache *t = hk_slab_registry; t; t = t->next) {
            uint64_t n = hk_slab_fast_allocs(t);
            atomic_fetch_add_explicit(&hk_slab_retired_tctr[HK_TCTR_SERVED_LEGACY +
                                                            hk_slab_fast_central],
                                      n - t->fast_mark, memory_order_relaxed);
            t->fast_mark = n;
        }
        hk_slab_fast_central = hk_slab_central;
    }
    pthread_mutex_unlock(&hk_slab_registry_lock);
}

static void tcache_retire(void)
{
    if (hk_tc.state != 1)
        return;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        hk_slab_flush_bin(c, 0);
    pthread_mutex_lock(&hk_slab_registry_lock);
    hk_slab_fold_thread(&hk_tc);
    hk_tc.state = 2; /* no caching from here: every bin armed with no room */
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        hk_tc.nalloc[c] = hk_tc.nfree0[c] = 0;
        hk_tc.in[c] = 0;
        hk_tc.fstart[c] = hk_tc.fleft[c] = 0;
        hk_slab_bin_reset(c);
    }
    for (unsigned i = 0; i < HK_TCTR_COUNT; i++)
        hk_tc.tctr[i] = 0;
    hk_tc.fast_mark = 0;
    if (hk_tc.prev)
        hk_tc.prev->next = hk_tc.next;
    else
        hk_slab_registry = hk_tc.next;
    if (hk_tc.next)
        hk_tc.next->prev = hk_tc.prev;
    pthread_mutex_unlock(&hk_slab_registry_lock);
}

void hk_slab_tcache_destructor(void *arg)
{
    (void)arg;
    tcache_retire();
}

void hk_slab_thread_exit(void) { tcache_retire(); }

void *hk_slab_alloc_slow(unsigned cls)
{
    uint32_t got;
    if (HK_UNLIKELY(!hk_slab_tcache_setup())) {
        /* No cache (exiting thread): one block straight from the transfer caches or pages. */
        if (!hk_ready())
            return NULL;
        void *p = hk_slab_refill(cls, 0, 1, &got);
        if (!p)
            return NULL;
        if (HK_ASSERT_LEVEL >= 2) /* FREE -> ALLOC */
            hk_slab_check_chain(p, 1, cls, "refill of a thread without a cache");
        atomic_fetch_add_explicit(&hk_slab_retired_nalloc[cls], 1, memory_order_relaxed);
        atomic_store_explicit(hk_slab_state_of(p), (uint8_t)cls, memory_order_relaxed);
        return p;
    }
    if (hk_tc.head[cls])
        return hk_slab_alloc(cls); /* setup only: the bin already has blocks */
    void *head = hk_slab_refill(cls, hk_tc.shard, hk_classes[cls].batch, &got);
    if (!head)
        return NULL;
    if (HK_ASSERT_LEVEL >= 2) { /* got free blocks of the class, the last one's link NULL */
        hk_assert_internal(got >= 1 && got <= hk_classes[cls].batch);
        const void *last = hk_slab_check_chain(head, got, cls, "refill");
        hk_assert_internal(*(void *const *)last == NULL);
    }
    hk_tc.head[cls] = head;
    hk_tc.in[cls] += got;
    hk_slab_bin_event(cls, HK_BIN_REFILL);
    hk_slab_bin_arm(cls);
    hk_slab_slow_tick(cls);
    return hk_slab_alloc(cls);
}
