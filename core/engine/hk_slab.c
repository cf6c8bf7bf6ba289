/* hk_slab.c: the block engine's classes, a thread's bins, fork and trim, and the engine's
 * shared state. Its slow paths are split by concern: hk_central.c (a class's pages, the
 * transfer caches, refill and decay), hk_tcache.c (thread caches), hk_block.c (free, pointer
 * checks, queries); what they share is hk_slab_internal.h. See hk_slab.h for where a free
 * block can be.
 *
 * An allocation that misses the thread cache:
 *   hk_slab_alloc_slow(cls)
 *     -> hk_slab_tcache_setup()    first use in this thread (registers the exit destructor)
 *     -> hk_slab_refill(cls)       the thread's transfer-cache shard, then the other shards
 *                                  (without waiting, then waiting for each), then
 *          -> pages_take()         the class's fullest page with free blocks: its free list,
 *                                  then blocks cut on demand (each marked FREE);
 *               -> hk_ph_alloc()   no page with free blocks: a fresh one from the page heap.
 * A free that finds its bin full:
 *   hk_slab_free_slow(p) -> hk_slab_flush_bin(cls)  a batch to the thread's transfer-cache shard, or
 *     when that is full -> pages_put()      each block back to its page; a page whose last
 *                                           block came back leaves the class (hk_ph_free).
 * NULL means the box cannot serve: the router falls back to the mmap box.
 *
 * Lock order, everywhere: registry_lock alone; the purge clock's lock (hk_purge.c), then the
 * decay's lock (hk_central.c), then a transfer-cache shard's lock, then a class's central
 * lock, then the page heap's lock. A shard's lock is never held while a central lock is
 * taken; hk_purge_tick() is called with no lock held. The quarantine
 * of freed RESIZED blocks (hk_central.c) is one atomic slot, no lock.
 */
#include "hk_slab_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_ptr.h"
#include "hk_purge.h"
#include "hk_sys.h"

HK_TLS hk_tcache hk_tc;
hk_class_info hk_classes[HK_NCLASSES];
hk_xfer hk_slab_xfer[HK_NCLASSES][HK_NSHARDS];
/* The transfer caches' slots, handed out as the classes are defined (untouched ones are never
 * resident): enough for every class the boxes define (hk_slab_define_class checks). */
#define HK_XB_POOL 16384 /* 13828 for the classes of today */
static uint64_t xb_pool[HK_XB_POOL];
static uint32_t xb_pool_used;
hk_central hk_slab_central[HK_NCLASSES];
pthread_mutex_t hk_slab_registry_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hk_slab_decay_lock = PTHREAD_MUTEX_INITIALIZER;
hk_tcache *hk_slab_registry;
_Atomic uint64_t hk_slab_retired_nalloc[HK_NCLASSES], hk_slab_retired_nfree[HK_NCLASSES];
_Atomic uint64_t hk_slab_retired_tctr[HK_TCTR_COUNT];
pthread_key_t hk_slab_exit_key;
bool hk_slab_fast_central;

/* ---------------------------------------------------------------- a thread's bins */

uint64_t hk_slab_bin_nfree(const hk_tcache *t, unsigned cls)
{
    return t->nfree0[cls] + (uint64_t)(int64_t)(t->fstart[cls] - t->fleft[cls]);
}

/* Let the free fast path push into bin cls until it reaches its bound (none for a thread
 * without a cache): fleft = the room left, and the frees counted so far kept in nfree0. */
void hk_slab_bin_arm(unsigned cls)
{
    uint64_t nfree = hk_slab_bin_nfree(&hk_tc, cls);
    uint64_t count = (uint64_t)hk_tc.in[cls] + nfree - hk_tc.nalloc[cls];
    uint32_t max = hk_tc.state == 1 ? hk_slab_bin_lim(cls) : 0;
    int32_t room = count < max ? (int32_t)(max - count) : 0;
    hk_tc.nfree0[cls] = nfree;
    hk_tc.fstart[cls] = room;
    hk_tc.fleft[cls] = room;
    /* Expensive: the bin's whole list, free blocks of its class, as many as it counts. */
    if (HK_ASSERT_LEVEL >= 3 && count) {
        const void *last = hk_slab_check_chain(hk_tc.head[cls], (uint32_t)count, cls,
                                               "thread cache bin");
        hk_assert_expensive(*(void *const *)last == NULL);
    } else {
        hk_assert_expensive(count == 0 && hk_tc.head[cls] == NULL);
    }
}

void hk_slab_bin_event(unsigned cls, unsigned ev)
{
    unsigned last2 = hk_tc.ev[cls] & 15; /* the two events before this one */
    if (ev == HK_BIN_REFILL && last2 == (HK_BIN_REFILL << 2 | HK_BIN_FLUSH)) {
        uint32_t lim = hk_slab_bin_lim(cls) + hk_classes[cls].batch;
        hk_tc.lim[cls] = (uint16_t)(lim < hk_classes[cls].tc_cap ? lim : hk_classes[cls].tc_cap);
    }
    hk_tc.ev[cls] = (uint8_t)((last2 << 2 | ev) & 15);
}

void hk_slab_bin_reset(unsigned cls)
{
    hk_tc.lim[cls] = 0;
    hk_tc.ev[cls] = 0;
}

/* ---------------------------------------------------------------- classes */

bool hk_slab_init(size_t arena_bytes)
{
    for (unsigned c = 0; c < HK_NCLASSES; c++) {
        pthread_mutex_init(&hk_slab_central[c].lock, NULL);
        for (unsigned q = 0; q <= HK_NQ; q++)
            hk_slab_central[c].queue[q] = HK_NIL;
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_init(&hk_slab_xfer[c][s].lock, NULL);
    }
    if (pthread_key_create(&hk_slab_exit_key, hk_slab_tcache_destructor) != 0)
        hk_warn("pthread_key_create failed: thread caches are not returned at thread exit");
    hk_purge_register(hk_slab_purge);
    hk_purge_set_thread_hook(hk_slab_tcache_tick);
    hk_ph_set_pressure_hook(hk_slab_pressure);
    return hk_ph_init(arena_bytes < HK_XB_ARENA_MAX ? arena_bytes : HK_XB_ARENA_MAX);
}

void hk_slab_define_class(unsigned cls, hak_box_t box, uint32_t bsize)
{
    /* the state map has a byte per granule: blocks start on granules (a refill's carve steps
     * by bsize >> HK_GRAN_SHIFT bytes of the map) */
    hk_assert(cls > 0 && cls < HK_NCLASSES && bsize >= HK_MIN_ALIGN &&
              (bsize & (((uint32_t)1 << HK_GRAN_SHIFT) - 1)) == 0);
    hk_class_info *ci = &hk_classes[cls];
    ci->bsize = bsize;
    ci->box = (uint8_t)box;
    /* The page: from 8 KiB up, the smallest holding 8 blocks with at most 1/16 wasted (small
     * pages empty sooner, and an empty page can serve any class); a block of 64 KiB or more
     * is a page of its own (L25's sizes are powers of two). */
    unsigned shift = HK_UNIT_SHIFT;
    if (bsize >= 65536) {
        while (((size_t)1 << shift) < bsize)
            shift++;
    } else {
        while (shift < HK_SEG_SHIFT - 1 &&
               ((((size_t)1 << shift) / bsize) < 8 ||
                (((size_t)1 << shift) % bsize) * 16 > ((size_t)1 << shift)))
            shift++;
    }
    hk_assert(((size_t)1 << shift) >= bsize && shift < HK_SEG_SHIFT);
    ci->page_shift = (uint8_t)shift;
    size_t cap = ((size_t)1 << shift) / bsize;
    hk_assert(cap >= 1 && cap <= UINT16_MAX);
    ci->cap = (uint16_t)cap;
    /* Page colours: a page starts its first block at one of the 64-byte offsets its slack
     * allows (hk_page_first), so that the blocks of sizes that are multiples of 2 or 4 KiB
     * (most Pool and Mid classes) do not all start in the same few cache sets, where their
     * first lines (the free list's links, a program's headers) evict each other. `perf
     * record bench_mixed 2 20000000 42 256 1:1024-32768`: the benchmark's own loop (its
     * stamps on each block) took 74 % of 12-13 k samples uncoloured, 63 % of 11 k coloured
     * (tcmalloc: 72 % of 12 k); `BASELINE=<uncoloured> bench/vs.sh 31` of it at 10000000
     * cycles: 1.043. Offsets of 4 KiB and more change no cache set (the caches index sets
     * by the offset in the 4 KiB page), so colours stay below 4 KiB. Their memory: free
     * inside the slack of the page's last OS page (slack % 4 KiB, which a page uses
     * anyway); beyond it a colour makes the blocks straddle one more OS page, which only a
     * page of 128 KiB or more pays (at most 1/32 of it; hostile review 17 measured +6 % RSS
     * for a full 64 KiB page of 6 KiB blocks). A page that is a block of its own (L25) has
     * none. */
    size_t slack = ((size_t)1 << shift) - cap * bsize, free_bytes = slack % HK_PAGE_SIZE;
    size_t reach = ((size_t)1 << shift) >= 32 * HK_PAGE_SIZE
                       ? (slack < HK_PAGE_SIZE - HK_COLOR_STEP ? slack
                                                               : HK_PAGE_SIZE - HK_COLOR_STEP)
                       : free_bytes;
    ci->colors = cap > 1 ? (uint32_t)(reach / HK_COLOR_STEP) + 1 : 1;
    /* Cache up to 256 KiB per class per thread, between 1 and 128 blocks, growing to 1 MiB
     * where the thread churns through the class (hk_slab_bin_event; the thread's whole cache
     * stays within HK_TC_BYTES). At 256 KiB for good the blocks of 8 KiB and up (32 of them
     * or fewer) went to the transfer caches and back every few dozen calls: HAKMEM_STATS of
     * bench_mid_large_mt 2 3000000 2048 42 counted 198 k transfer-cache lock takings. At
     * 1 MiB for good, idle threads kept twice the memory (the hostile review: 4.7 -> 9.6 MiB
     * per thread that allocated and freed every Mid and L25 size once). */
    uint32_t m = (uint32_t)((256u * 1024u) / bsize), mc = (uint32_t)((1024u * 1024u) / bsize);
    ci->tc_max = (uint16_t)(m < 1 ? 1 : m > 128 ? 128 : m);
    ci->tc_cap = (uint16_t)(mc < ci->tc_max ? ci->tc_max : mc > 128 ? 128 : mc);
    ci->batch = (uint16_t)(ci->tc_max / 2 ? ci->tc_max / 2 : 1);
    size_t xb = (size_t)4 * ci->batch * bsize;
    size_t xmin = bsize <= 8192 ? HK_XFER_MAX : HK_XFER_MIN;
    xb = xb < xmin ? xmin : xb > HK_XFER_MAX ? HK_XFER_MAX : xb;
    ci->xfer_max = (uint32_t)(xb / bsize > ci->batch ? xb / bsize : ci->batch);
    /* A shard's slots (hk_slab_internal.h): one per batch its blocks can make. Every batch
     * but the top one is whole (xfer_fits_put), so its nb batches hold more than
     * (nb - 1) * batch blocks, at most xfer_max: a put always finds a slot. */
    uint32_t nslot = (ci->xfer_max + ci->batch - 1) / ci->batch;
    for (unsigned s = 0; s < HK_NSHARDS; s++) {
        hk_xfer *x = &hk_slab_xfer[cls][s];
        hk_assert(x->slot == NULL && xb_pool_used + nslot <= HK_XB_POOL);
        x->slot = &xb_pool[xb_pool_used];
        x->slot_cap = nslot;
        xb_pool_used += nslot;
    }
    ci->qmul = (uint32_t)((HK_NQ << 16) / cap); /* used * qmul >> 16 < HK_NQ for used < cap */
    ci->carve_max = (uint16_t)(16384 / (bsize < HK_PAGE_SIZE ? bsize : HK_PAGE_SIZE));
    hk_ph_set_class_box(cls, box);
}

/* ---------------------------------------------------------------- fork and trim */

/* Fork: every lock, in the order above (the purge clock's lock is taken before, by the
 * front door). */
void hk_slab_atfork_prepare(void)
{
    pthread_mutex_lock(&hk_slab_registry_lock);
    pthread_mutex_lock(&hk_slab_decay_lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_lock(&hk_slab_xfer[c][s].lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        pthread_mutex_lock(&hk_slab_central[c].lock);
    hk_ph_atfork_prepare();
}

static void unlock_all(bool child)
{
    if (child)
        hk_ph_atfork_child();
    else
        hk_ph_atfork_parent();
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        pthread_mutex_unlock(&hk_slab_central[c].lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_unlock(&hk_slab_xfer[c][s].lock);
    pthread_mutex_unlock(&hk_slab_decay_lock);
}

void hk_slab_atfork_parent(void)
{
    unlock_all(false);
    pthread_mutex_unlock(&hk_slab_registry_lock);
}

void hk_slab_atfork_child(void)
{
    /* Only the forking thread survives: its cache stays registered, the others' blocks are
     * unreachable in the child (as in every thread-caching allocator; their pages never
     * empty). The child's only thread took every lock in prepare: it releases them
     * (re-initialising a locked mutex is undefined). */
    unlock_all(true);
    for (hk_tcache *t = hk_slab_registry; t; t = t->next)
        if (t != &hk_tc)
            hk_slab_fold_thread(t); /* its cached blocks are stranded, not live */
    hk_slab_registry = NULL;
    if (hk_tc.state == 1) {
        hk_tc.prev = hk_tc.next = NULL;
        hk_slab_registry = &hk_tc;
    }
    pthread_mutex_unlock(&hk_slab_registry_lock);
}

size_t hk_slab_trim(void)
{
    if (hk_arena_size == 0)
        return 0;
    /* The calling thread's cache, every transfer cache and every free run. */
    if (hk_tc.state == 1)
        for (unsigned c = 1; c < HK_NCLASSES; c++)
            hk_slab_flush_bin(c, 0);
    hk_ph_stats s0, s1;
    hk_ph_get_stats(&s0);
    hk_slab_purge(hk_purge_now(), true);
    hk_ph_purge(hk_purge_now(), true);
    hk_ph_get_stats(&s1);
    size_t released = (size_t)(s1.purged_bytes - s0.purged_bytes);
    /* Inside pages still in use: the whole OS pages of every free block of 8 KiB or more
     * (the first keeps the free-list link). */
    const size_t pg = HK_PAGE_SIZE;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        if (hk_classes[c].bsize < 2 * pg)
            continue;
        hk_central *ce = &hk_slab_central[c];
        pthread_mutex_lock(&ce->lock);
        for (unsigned q = 1; q <= HK_NQ; q++)
            for (uint32_t u = ce->queue[q]; u != HK_NIL; u = hk_pages[u].next)
                for (void *p = hk_pages[u].c.free; p; p = *(void **)p) {
                    uintptr_t lo = hk_align_up((uintptr_t)p + sizeof(void *), pg);
                    uintptr_t hi = ((uintptr_t)p + hk_classes[c].bsize) & ~(pg - 1);
                    if (hi > lo && hk_sys_madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
                        released += hi - lo;
                }
        pthread_mutex_unlock(&ce->lock);
    }
    return released;
}
