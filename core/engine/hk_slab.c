/* hk_slab.c: the slow paths of the block engine (see hk_slab.h for where a free block can be).
 *
 * An allocation that misses the thread cache:
 *   hk_slab_alloc_slow(cls)
 *     -> tcache_setup()            first use in this thread (registers the exit destructor)
 *     -> refill(cls)               the thread's transfer-cache shard, then the other shards
 *                                  (without waiting, then waiting for each), then
 *          -> pages_take()         the class's fullest page with free blocks: its free list,
 *                                  then blocks cut on demand (each marked FREE);
 *               -> hk_ph_alloc()   no page with free blocks: a fresh one from the page heap.
 * A free that finds its bin full:
 *   hk_slab_free_slow(p) -> flush_bin(cls)  a batch to the thread's transfer-cache shard, or
 *     when that is full -> pages_put()      each block back to its page; a page whose last
 *                                           block came back leaves the class (hk_ph_free).
 * NULL means the box cannot serve: the router falls back to the mmap box.
 *
 * Lock order, everywhere: registry_lock alone; the purge clock's lock (hk_purge.c), then a
 * transfer-cache shard's lock, then a class's central lock, then the page heap's lock. A
 * shard's lock is never held while a central lock is taken except by the decay (which
 * takes them in that order); hk_purge_tick() is called with no lock held.
 */
#include "hk_slab.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_lockstat.h"
#include "hk_ptr.h"
#include "hk_purge.h"
#include "hk_sys.h"

HK_TLS hk_tcache hk_tc;
hk_class_info hk_classes[HK_NCLASSES];

/* A transfer-cache shard: whole batches from thread caches, bounded (xfer_max blocks). */
typedef struct {
    pthread_mutex_t lock;
    void *head;
    uint32_t count;
    uint32_t low;          /* fewest blocks held since the last decay: those were not needed */
    _Atomic uint32_t peek; /* count, for other threads' lock-free look (may be stale) */
    hk_lockstat ls;
} HK_ALIGNED_CL hk_xfer;

/* A class's pages with free blocks: queue 0 holds its empty pages (a few are kept, so that a
 * class oscillating around a page boundary does not take and give back a page each time;
 * the decay gives them back), queues 1..HK_NQ the others by occupancy (used / cap). */
#define HK_NQ 8
#define HK_QNONE 0xFF
typedef struct {
    pthread_mutex_t lock;
    uint32_t queue[HK_NQ + 1]; /* first page of each queue (HK_NIL: none) */
    uint32_t nonempty;         /* bit q: queue q has pages */
    uint32_t pages;            /* pages the class holds */
    uint32_t empty;            /* of which empty (queue 0) */
    uint32_t empty_low;        /* fewest empty pages since the last decay: not needed */
    hk_lockstat ls;
} HK_ALIGNED_CL hk_central;

/* Transfer-cache budget per shard and class: four batches, within 256 KiB .. 1 MiB, and
 * 1 MiB for blocks up to 8 KiB (small pages, so little pinned per block; and a producer's
 * burst is many of them); at least one batch. */
#define HK_XFER_MIN ((size_t)256 << 10)
#define HK_XFER_MAX ((size_t)1 << 20)
/* Empty pages the classes keep, in bytes over all classes (each class may keep one page
 * beyond it): enough to absorb a burst of frees that the program allocates again at once
 * (a producer's ring drained by its consumer), little enough that a class that stopped
 * being used leaves its memory to the others. */
#define HK_KEPT_BYTES ((size_t)16 << 20)

static hk_xfer xfer[HK_NCLASSES][HK_NSHARDS];
static hk_central central[HK_NCLASSES];
static atomic_bool xfer_armed;    /* a decay is scheduled (transfer caches may hold blocks) */
static _Atomic size_t kept_bytes; /* bytes of the empty pages the classes keep */

/* Thread caches alive now (for statistics and fork), and the counts of exited threads. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_tcache *registry;
static _Atomic uint64_t retired_nalloc[HK_NCLASSES], retired_nfree[HK_NCLASSES];
static _Atomic uint64_t retired_tctr[HK_TCTR_COUNT];
static atomic_uint shard_counter;
static pthread_key_t exit_key;
/* The path the front door's fast path serves (hk_slab_fast_settle; registry_lock). */
static bool fast_central;

static void tcache_destructor(void *arg);
static void tcache_tick(uint32_t now);
static void slab_pressure(void);
static void flush_bin(unsigned cls, uint32_t keep);

/* ---------------------------------------------------------------- a thread's bins */

static uint64_t bin_nfree(const hk_tcache *t, unsigned cls)
{
    return t->nfree0[cls] + (uint64_t)(int64_t)(t->fstart[cls] - t->fleft[cls]);
}

/* Let the free fast path push into bin cls until it reaches its bound (none for a thread
 * without a cache): fleft = the room left, and the frees counted so far kept in nfree0. */
static void bin_arm(unsigned cls)
{
    uint64_t nfree = bin_nfree(&hk_tc, cls);
    uint64_t count = (uint64_t)hk_tc.in[cls] + nfree - hk_tc.nalloc[cls];
    uint32_t max = hk_tc.state == 1 ? hk_classes[cls].tc_max : 0;
    int32_t room = count < max ? (int32_t)(max - count) : 0;
    hk_tc.nfree0[cls] = nfree;
    hk_tc.fstart[cls] = room;
    hk_tc.fleft[cls] = room;
}

/* ---------------------------------------------------------------- classes */

bool hk_slab_init(size_t arena_bytes)
{
    for (unsigned c = 0; c < HK_NCLASSES; c++) {
        pthread_mutex_init(&central[c].lock, NULL);
        for (unsigned q = 0; q <= HK_NQ; q++)
            central[c].queue[q] = HK_NIL;
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_init(&xfer[c][s].lock, NULL);
    }
    if (pthread_key_create(&exit_key, tcache_destructor) != 0)
        hk_warn("pthread_key_create failed: thread caches are not returned at thread exit");
    hk_purge_register(hk_slab_purge);
    hk_purge_set_thread_hook(tcache_tick);
    hk_ph_set_pressure_hook(slab_pressure);
    return hk_ph_init(arena_bytes);
}

void hk_slab_define_class(unsigned cls, hak_box_t box, uint32_t bsize)
{
    hk_assert(cls > 0 && cls < HK_NCLASSES && bsize >= HK_MIN_ALIGN && bsize % 16 == 0);
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
    /* Cache up to 256 KiB per class per thread, between 1 and 128 blocks. */
    uint32_t m = (uint32_t)((256u * 1024u) / bsize);
    ci->tc_max = (uint16_t)(m < 1 ? 1 : m > 128 ? 128 : m);
    ci->batch = (uint16_t)(ci->tc_max / 2 ? ci->tc_max / 2 : 1);
    size_t xb = (size_t)4 * ci->batch * bsize;
    size_t xmin = bsize <= 8192 ? HK_XFER_MAX : HK_XFER_MIN;
    xb = xb < xmin ? xmin : xb > HK_XFER_MAX ? HK_XFER_MAX : xb;
    ci->xfer_max = (uint32_t)(xb / bsize > ci->batch ? xb / bsize : ci->batch);
    ci->qmul = (uint32_t)((HK_NQ << 16) / cap); /* used * qmul >> 16 < HK_NQ for used < cap */
    ci->carve_max = (uint16_t)(16384 / bsize ? 16384 / bsize : 1);
    hk_ph_set_class_box(cls, box);
}

/* ---------------------------------------------------------------- pages of a class */

HK_INLINE uintptr_t page_addr(const hk_page *pg)
{
    return hk_arena_base + ((uintptr_t)(pg - hk_pages) << HK_UNIT_SHIFT);
}

static void q_insert(hk_central *c, hk_page *pg, unsigned q)
{
    uint32_t u = (uint32_t)(pg - hk_pages), h = c->queue[q];
    pg->prev = HK_NIL;
    pg->next = h;
    if (h != HK_NIL)
        hk_pages[h].prev = u;
    c->queue[q] = u;
    c->nonempty |= 1u << q;
    pg->c.queue = (uint8_t)q;
}

static void q_remove(hk_central *c, hk_page *pg)
{
    unsigned q = pg->c.queue;
    if (pg->prev != HK_NIL)
        hk_pages[pg->prev].next = pg->next;
    else if ((c->queue[q] = pg->next) == HK_NIL)
        c->nonempty &= ~(1u << q);
    if (pg->next != HK_NIL)
        hk_pages[pg->next].prev = pg->prev;
    pg->c.queue = HK_QNONE;
}

/* Move pg to the queue of its occupancy (none when it has no free block left). */
static void requeue(hk_central *c, const hk_class_info *ci, hk_page *pg)
{
    unsigned q = pg->c.used >= ci->cap ? HK_QNONE
                 : pg->c.used == 0     ? 0
                                       : 1 + (((unsigned)pg->c.used * ci->qmul) >> 16);
    if (q == pg->c.queue)
        return;
    if (pg->c.queue != HK_QNONE)
        q_remove(c, pg);
    if (q != HK_QNONE)
        q_insert(c, pg, q);
}

/* A fresh page for class cls (central lock held), queued; NULL when the arena is full. */
static hk_page *page_new(unsigned cls)
{
    const hk_class_info *ci = &hk_classes[cls];
    bool resident;
    uintptr_t a = hk_ph_alloc(ci->page_shift - HK_UNIT_SHIFT, cls, &resident);
    if (!a)
        return NULL;
    hk_page *pg = hk_ph_desc(a);
    pg->c.fresh = !resident;
    pg->c.free = NULL;
    pg->c.used = 0;
    pg->c.carved = 0;
    pg->c.queue = HK_QNONE;
    pg->c.marks = 0;
    pg->cls = (uint8_t)cls;
    pg->order = (uint8_t)(ci->page_shift - HK_UNIT_SHIFT);
    central[cls].pages++;
    central[cls].empty++;
    atomic_fetch_add_explicit(&kept_bytes, (size_t)1 << ci->page_shift, memory_order_relaxed);
    requeue(&central[cls], ci, pg);
    return pg;
}

/* Up to want FREE blocks of class cls, chained, from its pages, fullest first (central lock
 * held); a fresh page when none has a free block. */
static void *pages_take(unsigned cls, uint32_t want, uint32_t *got)
{
    hk_central *c = &central[cls];
    const hk_class_info *ci = &hk_classes[cls];
    void *head = NULL, **tailp = &head;
    uint32_t n = 0;
    while (n < want) {
        hk_page *pg;
        if (c->nonempty)
            pg = &hk_pages[c->queue[31 - __builtin_clz(c->nonempty)]];
        else if (!(pg = page_new(cls)))
            break;
        uint32_t k = 0;
        void *b = pg->c.free;
        if (pg->c.used == 0) {
            if (--c->empty < c->empty_low)
                c->empty_low = c->empty;
            atomic_fetch_sub_explicit(&kept_bytes, (size_t)1 << ci->page_shift,
                                      memory_order_relaxed);
        }
        if (b) { /* blocks given back first: their memory is resident */
            *tailp = b;
            for (k = 1; n + k < want && *(void **)b; k++)
                b = *(void **)b;
            pg->c.free = *(void **)b;
            tailp = (void **)b;
        }
        bool cut = false;
        if (n + k < want && pg->c.carved < ci->cap) {
            /* Blocks cut on demand; from memory not yet resident at most carve_max at a time
             * (16 KiB, at least a block: cutting writes a link into each block, which makes
             * its first page resident), so that a page is touched only as far as it is used. */
            uintptr_t blk = page_addr(pg) + (uintptr_t)pg->c.carved * ci->bsize;
            uint32_t lim = want - n - k;
            if (pg->c.fresh && lim > ci->carve_max)
                lim = ci->carve_max;
            cut = pg->c.fresh;
            for (uint32_t i = 0; i < lim && pg->c.carved < ci->cap;
                 i++, k++, pg->c.carved++, blk += ci->bsize) {
                atomic_store_explicit(&hk_state[(blk - hk_arena_base) >> HK_GRAN_SHIFT], HK_ST_FREE,
                                      memory_order_relaxed);
                *tailp = (void *)blk;
                tailp = (void **)blk;
            }
        }
        n += k;
        pg->c.used = (uint16_t)(pg->c.used + k);
        requeue(c, ci, pg);
        if (cut)
            break; /* fresh memory: no more than carve_max blocks per refill */
    }
    *tailp = NULL;
    *got = n;
    return head;
}

/* Each of the n chained blocks back to its page (central lock held). Pages whose last block
 * came back leave the class (but for the few empty pages it keeps): they are returned,
 * chained through `next`, for the caller to give to the page heap once the lock is dropped. */
static hk_page *pages_put(unsigned cls, void *head, uint32_t n)
{
    hk_central *c = &central[cls];
    const hk_class_info *ci = &hk_classes[cls];
    uintptr_t mask = ~(((uintptr_t)1 << ci->page_shift) - 1);
    hk_page *done = NULL, *pg = NULL;
    for (void *b = head; n--;) {
        void *nx = *(void **)b;
        hk_page *p = hk_ph_desc((uintptr_t)b & mask);
        if (p != pg && pg) /* settle the previous page once per run of its blocks */
            requeue(c, ci, pg);
        pg = p;
        *(void **)b = pg->c.free;
        pg->c.free = b;
        if (--pg->c.used == 0) {
            size_t psize = (size_t)1 << ci->page_shift;
            if (c->empty == 0 ||
                atomic_load_explicit(&kept_bytes, memory_order_relaxed) + psize <= HK_KEPT_BYTES) {
                c->empty++; /* kept: requeued (to queue 0) below */
                atomic_fetch_add_explicit(&kept_bytes, psize, memory_order_relaxed);
            } else {
                if (pg->c.queue != HK_QNONE)
                    q_remove(c, pg);
                c->pages--;
                pg->next = done ? (uint32_t)(done - hk_pages) : HK_NIL;
                done = pg;
                pg = NULL;
            }
        }
        b = nx;
    }
    if (pg)
        requeue(c, ci, pg);
    return done;
}

/* Pages that left their class, to the page heap, their state bytes reset first: the block
 * starts cut so far, or every byte when memalign marked others (or the blocks are small). */
static void pages_release(hk_page *done)
{
    while (done) {
        hk_page *nx = done->next == HK_NIL ? NULL : &hk_pages[done->next];
        const hk_class_info *ci = &hk_classes[done->cls];
        uintptr_t a = page_addr(done);
        if (atomic_load_explicit((_Atomic uint8_t *)&done->c.marks, memory_order_relaxed) ||
            ci->bsize < 256) {
            hk_ph_state_reset(a, (size_t)1 << ci->page_shift);
        } else {
            uint8_t *st = (uint8_t *)hk_state + ((a - hk_arena_base) >> HK_GRAN_SHIFT);
            for (uint32_t k = 0, step = ci->bsize >> HK_GRAN_SHIFT; k < done->c.carved; k++)
                st[k * step] = HK_ST_UNUSED;
        }
        hk_ph_free(a, done->order);
        done = nx;
    }
}

/* The empty pages class cls kept unused since the last decay (all when `all`) go back to
 * the page heap. */
static void release_empty(unsigned cls, bool all)
{
    hk_central *c = &central[cls];
    hk_page *done = NULL;
    hk_lock_counted(&c->lock, &c->ls);
    uint32_t n = all ? c->empty : c->empty_low;
    for (; n && c->queue[0] != HK_NIL; n--) {
        hk_page *pg = &hk_pages[c->queue[0]];
        q_remove(c, pg);
        c->pages--;
        c->empty--;
        atomic_fetch_sub_explicit(&kept_bytes, (size_t)1 << hk_classes[cls].page_shift,
                                  memory_order_relaxed);
        pg->next = done ? (uint32_t)(done - hk_pages) : HK_NIL;
        done = pg;
    }
    c->empty_low = c->empty;
    pthread_mutex_unlock(&c->lock);
    pages_release(done);
}

/* n chained blocks (head .. tail) of class cls back to their pages. */
static void central_put(unsigned cls, void *head, uint32_t n)
{
    hk_central *c = &central[cls];
    hk_lock_counted(&c->lock, &c->ls);
    hk_page *done = pages_put(cls, head, n);
    pthread_mutex_unlock(&c->lock);
    pages_release(done);
}

bool hk_slab_refill_page(unsigned cls, unsigned shard)
{
    (void)shard;
    if (hk_classes[cls].bsize == 0 || hk_arena_size == 0)
        return false;
    hk_lock_counted(&central[cls].lock, &central[cls].ls);
    bool ok = page_new(cls) != NULL;
    pthread_mutex_unlock(&central[cls].lock);
    return ok;
}

/* ---------------------------------------------------------------- transfer caches */

/* Take up to want blocks from x (lock held). */
static void *xfer_take(hk_xfer *x, uint32_t want, uint32_t *got)
{
    void *head = x->head, *p = head;
    uint32_t n = 0;
    if (!head) {
        *got = 0;
        return NULL;
    }
    while (n + 1 < want && *(void **)p) {
        p = *(void **)p;
        n++;
    }
    n++;
    x->head = *(void **)p;
    *(void **)p = NULL;
    x->count -= n;
    if (x->count < x->low)
        x->low = x->count;
    atomic_store_explicit(&x->peek, x->count, memory_order_relaxed);
    *got = n;
    return head;
}

static void xfer_arm(void)
{
    if (!atomic_load_explicit(&xfer_armed, memory_order_relaxed) && hk_purge_delay >= 0) {
        atomic_store_explicit(&xfer_armed, true, memory_order_relaxed);
        hk_purge_schedule(hk_purge_deadline(hk_purge_now()));
    }
}

/* Put the chain into x when it fits (lock held). */
static bool xfer_fits_put(hk_xfer *x, uint32_t max, void *head, void *tail, uint32_t n)
{
    if (x->count + n > max)
        return false;
    *(void **)tail = x->head;
    x->head = head;
    x->count += n;
    atomic_store_explicit(&x->peek, x->count, memory_order_relaxed);
    return true;
}

/* n chained blocks (head .. tail) of class cls: into transfer-cache shard `shard` when they
 * fit, else into another shard with room (a consumer thread's frees then wait where its
 * producer, which never frees, refills first), else back to their pages. */
static void xfer_put(unsigned cls, unsigned shard, void *head, void *tail, uint32_t n)
{
    uint32_t max = hk_classes[cls].xfer_max;
    hk_xfer *x = &xfer[cls][shard];
    hk_lock_counted(&x->lock, &x->ls);
    bool done = xfer_fits_put(x, max, head, tail, n);
    pthread_mutex_unlock(&x->lock);
    for (unsigned i = 1; !done && i < HK_NSHARDS; i++) {
        x = &xfer[cls][(shard + i) % HK_NSHARDS];
        if (atomic_load_explicit(&x->peek, memory_order_relaxed) + n > max ||
            !hk_trylock_counted(&x->lock, &x->ls))
            continue;
        done = xfer_fits_put(x, max, head, tail, n);
        pthread_mutex_unlock(&x->lock);
    }
    if (done)
        xfer_arm();
    else
        central_put(cls, head, n);
}

/* A chain of up to want FREE blocks of class cls, or NULL when the box cannot serve. */
static void *refill(unsigned cls, unsigned shard, uint32_t want, uint32_t *got)
{
    void *head;
    hk_xfer *own = &xfer[cls][shard];
    if (atomic_load_explicit(&own->peek, memory_order_relaxed)) {
        hk_lock_counted(&own->lock, &own->ls);
        head = xfer_take(own, want, got);
        pthread_mutex_unlock(&own->lock);
        if (head)
            return head;
    }
    /* Blocks in the other shards (blocks freed by other threads land there) before the
     * pages: first without waiting (a busy shard is skipped), then waiting for each, so that
     * a shard busy at the wrong moment never makes the class take a new page (a
     * producer/consumer pair would otherwise grow while its frees pile up). A shard that
     * looks empty is not locked (a block it receives meanwhile is found next time). */
    for (int wait = 0; wait < 2; wait++) {
        for (unsigned i = 1; i < HK_NSHARDS; i++) {
            hk_xfer *o = &xfer[cls][(shard + i) % HK_NSHARDS];
            if (atomic_load_explicit(&o->peek, memory_order_relaxed) == 0)
                continue;
            if (wait)
                hk_lock_counted(&o->lock, &o->ls);
            else if (!hk_trylock_counted(&o->lock, &o->ls))
                continue; /* busy: try the next one */
            head = xfer_take(o, want, got);
            pthread_mutex_unlock(&o->lock);
            if (head)
                return head;
        }
    }
    hk_lock_counted(&central[cls].lock, &central[cls].ls);
    head = pages_take(cls, want, got);
    pthread_mutex_unlock(&central[cls].lock);
    return head;
}

/* Blocks the transfer caches held unused since the last decay (their low-water marks; all
 * when `all`) go back to their pages, and so do the empty pages the classes kept unused. */
static void decay(bool all)
{
    /* Disarmed first: a flush from now on arms it again. */
    atomic_store_explicit(&xfer_armed, false, memory_order_relaxed);
    bool held = false;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        for (unsigned s = 0; s < HK_NSHARDS; s++) {
            hk_xfer *x = &xfer[c][s];
            hk_lock_counted(&x->lock, &x->ls);
            uint32_t n = all ? x->count : x->low;
            void *chain = NULL;
            if (n == x->count) { /* all of it */
                chain = x->head;
                x->head = NULL;
            } else if (n) { /* the coldest n: the end of the LIFO */
                void *p = x->head;
                for (uint32_t i = 1; i < x->count - n; i++)
                    p = *(void **)p;
                chain = *(void **)p;
                *(void **)p = NULL;
            }
            x->count -= n;
            x->low = x->count;
            atomic_store_explicit(&x->peek, x->count, memory_order_relaxed);
            held |= x->count > 0;
            pthread_mutex_unlock(&x->lock);
            if (n)
                central_put(c, chain, n);
        }
    }
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        release_empty(c, all);
    if (held)
        xfer_arm();
}

/* The page heap's pressure hook: the program is giving a lot back, so the calling thread's
 * cache, every transfer cache and every kept empty page go back too, and with them the
 * pages they pinned (a cached block keeps its whole page in its class). */
static void slab_pressure(void)
{
    if (hk_tc.state == 1)
        for (unsigned c = 1; c < HK_NCLASSES; c++)
            flush_bin(c, 0);
    decay(true);
}

/* The delayed purge: the decay, then the page heap purges its due runs. */
uint32_t hk_slab_purge(uint32_t now, bool all)
{
    if (hk_arena_size == 0)
        return HK_PURGE_NEVER;
    if (hk_purge_delay >= 0 || all)
        decay(all);
    return hk_ph_purge(now, all);
}

/* ---------------------------------------------------------------- thread caches */

static bool tcache_setup(void)
{
    if (hk_tc.state == 1)
        return true;
    if (hk_tc.state == 2)
        return false; /* exiting thread: no caching */
    if (!hk_ready())
        return false; /* before init is done (the front door inits first): caller falls back */
    hk_tc.shard = atomic_fetch_add(&shard_counter, 1) % HK_NSHARDS;
    pthread_mutex_lock(&registry_lock);
    hk_tc.prev = NULL;
    hk_tc.next = registry;
    if (registry)
        registry->prev = &hk_tc;
    registry = &hk_tc;
    pthread_mutex_unlock(&registry_lock);
    hk_tc.gc_at = hk_purge_now();
    hk_tc.state = 1;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        bin_arm(c);
    pthread_setspecific(exit_key, &hk_tc);
    return true;
}

/* Move all but `keep` blocks of bin cls back to the transfer cache (or the pages). */
static void flush_bin(unsigned cls, uint32_t keep)
{
    uint64_t count = hk_slab_bin_count(cls);
    if (count <= keep)
        return;
    uint32_t n = (uint32_t)(count - keep);
    void *head = hk_tc.head[cls], *tail = head;
    for (uint32_t i = 1; i < n; i++)
        tail = *(void **)tail;
    hk_tc.head[cls] = *(void **)tail;
    hk_tc.in[cls] -= n;
    bin_arm(cls);
    xfer_put(cls, hk_tc.shard, head, tail, n);
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
        flush_bin(c, 0);
    }
    if (total > HK_TC_BYTES / 2)
        flush_bin(keep_cls, (uint32_t)(hk_slab_bin_count(keep_cls) / 2));
}

/* Idle bins (no refill or flush for a purge delay, at least 10 ms) go back to the transfer
 * caches, so that a thread that stopped using a class does not pin its pages. A bin in use
 * only by its fast paths goes back too, and pays one refill per period. */
static void tcache_gc(uint32_t now)
{
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        if (!(hk_tc.active >> c & 1) && hk_tc.head[c])
            flush_bin(c, 0);
    hk_tc.active = 0;
    hk_tc.gc_at = now + (uint32_t)(hk_purge_delay > 10 ? hk_purge_delay : 10);
}

/* The purge clock's per-thread hook (every tick: one slow path in 8 here, every mmap box
 * call). */
static void tcache_tick(uint32_t now)
{
    if (hk_tc.state == 1 && hk_purge_due(hk_tc.gc_at, now))
        tcache_gc(now);
}

static HK_NOINLINE void slow_tick_run(unsigned cls)
{
    if ((hk_tc.ticks & 63) == 0)
        tcache_budget(cls);
    hk_purge_tick();
}

/* One slow path in 8 takes its turn at the purge clock, one in 64 checks the thread cache's
 * byte budget (no lock may be held). Between two checks a thread's cache can exceed the
 * budget by at most the bins' own bounds (256 KiB or 128 blocks each). */
HK_INLINE void slow_tick(unsigned cls)
{
    hk_tc.active |= (uint64_t)1 << cls;
    if (HK_UNLIKELY((++hk_tc.ticks & 7) == 0))
        slow_tick_run(cls);
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
static void fold_thread(hk_tcache *t)
{
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        atomic_fetch_add_explicit(&retired_nalloc[c], t->nalloc[c], memory_order_relaxed);
        atomic_fetch_add_explicit(&retired_nfree[c], bin_nfree(t, c), memory_order_relaxed);
    }
    for (unsigned i = 0; i < HK_TCTR_COUNT; i++)
        atomic_fetch_add_explicit(&retired_tctr[i], t->tctr[i], memory_order_relaxed);
    atomic_fetch_add_explicit(&retired_tctr[HK_TCTR_SERVED_LEGACY + fast_central],
                              hk_slab_fast_allocs(t) - t->fast_mark, memory_order_relaxed);
}

void hk_slab_fast_settle(bool central)
{
    pthread_mutex_lock(&registry_lock);
    if (central != fast_central) {
        for (hk_tcache *t = registry; t; t = t->next) {
            uint64_t n = hk_slab_fast_allocs(t);
            atomic_fetch_add_explicit(&retired_tctr[HK_TCTR_SERVED_LEGACY + fast_central],
                                      n - t->fast_mark, memory_order_relaxed);
            t->fast_mark = n;
        }
        fast_central = central;
    }
    pthread_mutex_unlock(&registry_lock);
}

static void tcache_retire(void)
{
    if (hk_tc.state != 1)
        return;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        flush_bin(c, 0);
    pthread_mutex_lock(&registry_lock);
    fold_thread(&hk_tc);
    hk_tc.state = 2; /* no caching from here: every bin armed with no room */
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        hk_tc.nalloc[c] = hk_tc.nfree0[c] = 0;
        hk_tc.in[c] = 0;
        hk_tc.fstart[c] = hk_tc.fleft[c] = 0;
    }
    for (unsigned i = 0; i < HK_TCTR_COUNT; i++)
        hk_tc.tctr[i] = 0;
    hk_tc.fast_mark = 0;
    if (hk_tc.prev)
        hk_tc.prev->next = hk_tc.next;
    else
        registry = hk_tc.next;
    if (hk_tc.next)
        hk_tc.next->prev = hk_tc.prev;
    pthread_mutex_unlock(&registry_lock);
}

static void tcache_destructor(void *arg)
{
    (void)arg;
    tcache_retire();
}

void hk_slab_thread_exit(void) { tcache_retire(); }

void *hk_slab_alloc_slow(unsigned cls)
{
    uint32_t got;
    if (HK_UNLIKELY(!tcache_setup())) {
        /* No cache (exiting thread): one block straight from the transfer caches or pages. */
        if (!hk_ready())
            return NULL;
        void *p = refill(cls, 0, 1, &got);
        if (!p)
            return NULL;
        atomic_fetch_add_explicit(&retired_nalloc[cls], 1, memory_order_relaxed);
        atomic_store_explicit(hk_slab_state_of(p), (uint8_t)cls, memory_order_relaxed);
        return p;
    }
    if (hk_tc.head[cls])
        return hk_slab_alloc(cls); /* setup only: the bin already has blocks */
    void *head = refill(cls, hk_tc.shard, hk_classes[cls].batch, &got);
    if (!head)
        return NULL;
    hk_tc.head[cls] = head;
    hk_tc.in[cls] += got;
    bin_arm(cls);
    slow_tick(cls);
    return hk_slab_alloc(cls);
}

/* ---------------------------------------------------------------- free */

/* The block of class cls that contains arena offset off: its offset, or UINTPTR_MAX when off
 * lies in the tail of its page that holds no whole block. (A page is aligned to its size.) */
static uintptr_t block_of(uintptr_t off, unsigned cls)
{
    const hk_class_info *ci = &hk_classes[cls];
    uintptr_t page = off & ~(((uintptr_t)1 << ci->page_shift) - 1);
    uintptr_t blk = page + ((off - page) / ci->bsize) * ci->bsize;
    return blk + ci->bsize <= page + ((uintptr_t)1 << ci->page_shift) ? blk : UINTPTR_MAX;
}

static unsigned state_at(uintptr_t off)
{
    return atomic_load_explicit(&hk_state[off >> HK_GRAN_SHIFT], memory_order_relaxed);
}

hk_ptr_kind hk_slab_classify(const void *p, hk_ptr_info *info)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    *info = (hk_ptr_info){HK_PTR_INVALID, HK_WHY_UNCARVED, HAK_BOX_NONE, 0, 0, 0, false};
    if (cls)
        info->box = (hak_box_t)hk_classes[cls].box;
    uintptr_t blk = cls ? block_of(off, cls) : UINTPTR_MAX;
    if (blk == UINTPTR_MAX)
        return HK_PTR_INVALID; /* in no class's page (a free run), or a page's unused tail */
    unsigned bst = state_at(blk);
    if (bst == HK_ST_UNUSED) /* in a page, beyond what its class has carved so far */
        return HK_PTR_INVALID;
    info->block = hk_arena_base + blk;
    info->bsize = hk_classes[cls].bsize;
    info->block_free = bst == HK_ST_FREE || bst >= HK_ST_FREE_ALIGNED;
    info->why = HK_WHY_INTERIOR;
    if (off != blk && (off & (HK_MIN_ALIGN - 1)) == 0 && state_at(off) == HK_ST_ALIGNED) {
        /* A live aligned pointer (its block's start says so, or the map is corrupt). */
        info->why = HK_WHY_ALIGNED;
        info->aligned = (uintptr_t)p;
        return info->kind = bst == HK_ST_ALIGNED_BLOCK ? HK_PTR_LIVE : HK_PTR_INVALID;
    }
    uintptr_t aligned = 0;
    if (bst >= HK_ST_FREE_ALIGNED)
        aligned = hk_align_up(info->block, (size_t)1 << (bst - HK_ST_FREE_ALIGNED));
    else if (bst == HK_ST_ALIGNED_BLOCK) /* find the live aligned pointer (fault path only) */
        for (uintptr_t g = blk + HK_MIN_ALIGN; g < blk + info->bsize && !aligned; g += HK_MIN_ALIGN)
            if (state_at(g) == HK_ST_ALIGNED)
                aligned = hk_arena_base + g;
    info->aligned = aligned;
    if (off == blk) {
        if (bst == cls || bst == HK_ST_FREE)
            info->why = HK_WHY_NONE;
        else
            info->why = HK_WHY_PADDING; /* an aligned block's start: never handed out */
        return info->kind = bst == cls          ? HK_PTR_LIVE
                            : bst == HK_ST_FREE ? HK_PTR_FREED
                                                : HK_PTR_INVALID;
    }
    if ((uintptr_t)p == aligned && bst >= HK_ST_FREE_ALIGNED) {
        info->why = HK_WHY_ALIGNED;
        return info->kind = HK_PTR_FREED;
    }
    if (aligned && (uintptr_t)p < aligned)
        info->why = HK_WHY_PADDING;
    return HK_PTR_INVALID;
}

/* Put block blk of class cls (handed out and now free) back, its start marked st: into the
 * thread's cache, or straight to a transfer cache from a thread without one (exiting). */
static void block_release(void *blk, unsigned cls, unsigned st)
{
    _Atomic uint8_t *sb = &hk_state[((uintptr_t)blk - hk_arena_base) >> HK_GRAN_SHIFT];
    if (!tcache_setup()) {
        atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
        atomic_fetch_add_explicit(&retired_nfree[cls], 1, memory_order_relaxed);
        *(void **)blk = NULL;
        xfer_put(cls, 0, blk, blk, 1);
        return;
    }
    if (hk_slab_bin_count(cls) >= hk_classes[cls].tc_max) {
        flush_bin(cls, hk_classes[cls].tc_max - hk_classes[cls].batch);
        slow_tick(cls);
    }
    atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
    *(void **)blk = hk_tc.head[cls];
    hk_tc.head[cls] = blk;
    hk_tc.nfree0[cls]++;
    bin_arm(cls);
}

bool hk_slab_free_checked(void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    /* A class id is only ever at a live block's start (hk_slab.h): no division needed. */
    if (cls && (off & (HK_MIN_ALIGN - 1)) == 0 && state_at(off) == cls) {
        block_release(p, cls, HK_ST_FREE);
        return true;
    }
    hk_ptr_info info;
    if (hk_slab_classify(p, &info) != HK_PTR_LIVE)
        return false;
    /* An aligned pointer: clear its mark, and remember at the block's start which pointer
     * was handed out (a second free of it is then named a double free). */
    atomic_store_explicit(&hk_state[off >> HK_GRAN_SHIFT], HK_ST_UNUSED, memory_order_relaxed);
    block_release((void *)info.block, cls,
                  HK_ST_FREE_ALIGNED + (unsigned)__builtin_ctzll((unsigned long long)p));
    return true;
}

void hk_slab_free_slow(void *p)
{
    if (HK_LIKELY(hk_slab_free_checked(p)))
        return;
    hk_ptr_info info;
    hk_slab_classify(p, &info);
    hk_ptr_fault("free()", p, &info);
}

void hk_slab_free_miss(void *p)
{
    /* Undo the fast path's decrement of the bin its state byte named (read again: only this
     * thread changes a live block's state, and only a live block's state is a class). */
    unsigned s = atomic_load_explicit(hk_slab_state_of(p), memory_order_relaxed);
    hk_tc.fleft[s]++;
    hk_slab_free_slow(p);
}

/* ---------------------------------------------------------------- queries */

hak_box_t hk_slab_box_of(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    if (cls == 0 || (off & (HK_MIN_ALIGN - 1)))
        return HAK_BOX_NONE;
    unsigned st = state_at(off);
    return (st == cls || st == HK_ST_ALIGNED) ? (hak_box_t)hk_classes[cls].box : HAK_BOX_NONE;
}

size_t hk_slab_usable(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    if (cls && (off & (HK_MIN_ALIGN - 1)) == 0 && state_at(off) == cls) /* a live block's start */
        return hk_classes[cls].bsize;
    hk_ptr_info info;
    if (hk_slab_classify(p, &info) != HK_PTR_LIVE)
        return 0;
    return info.block + info.bsize - (uintptr_t)p;
}

void hk_slab_mark_aligned(void *block, void *q)
{
    if (q == block)
        return;
    uintptr_t off = (uintptr_t)q - hk_arena_base;
    atomic_store_explicit(&hk_state[off >> HK_GRAN_SHIFT], HK_ST_ALIGNED, memory_order_relaxed);
    atomic_store_explicit(&hk_state[((uintptr_t)block - hk_arena_base) >> HK_GRAN_SHIFT],
                          HK_ST_ALIGNED_BLOCK, memory_order_relaxed);
    /* Its page resets every state byte when it leaves the class. */
    const hk_class_info *ci = &hk_classes[hk_pagecls[off >> HK_UNIT_SHIFT]];
    hk_page *pg = hk_ph_desc((uintptr_t)block & ~(((uintptr_t)1 << ci->page_shift) - 1));
    atomic_store_explicit((_Atomic uint8_t *)&pg->c.marks, 1, memory_order_relaxed);
}

void hk_slab_class_counts(unsigned cls, uint64_t *nalloc, uint64_t *nfree)
{
    uint64_t a = atomic_load(&retired_nalloc[cls]), f = atomic_load(&retired_nfree[cls]);
    pthread_mutex_lock(&registry_lock);
    for (hk_tcache *t = registry; t; t = t->next) {
        a += t->nalloc[cls];
        f += bin_nfree(t, cls);
    }
    pthread_mutex_unlock(&registry_lock);
    *nalloc = a;
    *nfree = f;
}

uint64_t hk_slab_thread_counter(hk_thread_counter_id id)
{
    uint64_t n = atomic_load(&retired_tctr[id]);
    pthread_mutex_lock(&registry_lock);
    bool fast = id == HK_TCTR_SERVED_LEGACY + fast_central;
    for (hk_tcache *t = registry; t; t = t->next) {
        if (t != &hk_tc)
            n += t->tctr[id];
        /* the front door's fast-path allocations since the last settlement */
        if (fast)
            n += hk_slab_fast_allocs(t) - t->fast_mark;
    }
    pthread_mutex_unlock(&registry_lock);
    /* The calling thread's own counts, registered or not (a thread counts before its first
     * refill registers it). */
    return n + hk_tc.tctr[id];
}

size_t hk_slab_committed_bytes(void)
{
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    return s.committed;
}

void hk_slab_cached_bytes(uint64_t out[HAK_BOX_COUNT])
{
    for (unsigned b = 0; b < HAK_BOX_COUNT; b++)
        out[b] = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        uint64_t n = 0;
        for (unsigned s = 0; s < HK_NSHARDS; s++) {
            pthread_mutex_lock(&xfer[c][s].lock);
            n += xfer[c][s].count;
            pthread_mutex_unlock(&xfer[c][s].lock);
        }
        out[hk_classes[c].box] += n * hk_classes[c].bsize;
    }
}

void hk_slab_lock_counts(hk_lockcount *xf, hk_lockcount *cl)
{
    *xf = *cl = (hk_lockcount){0, 0};
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            hk_lockcount_add(xf, &xfer[c][s].ls);
        hk_lockcount_add(cl, &central[c].ls);
    }
}

/* ---------------------------------------------------------------- fork and trim */

/* Fork: every lock, in the order above (the purge clock's lock is taken before, by the
 * front door). */
void hk_slab_atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_lock(&xfer[c][s].lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        pthread_mutex_lock(&central[c].lock);
    hk_ph_atfork_prepare();
}

static void unlock_all(bool child)
{
    if (child)
        hk_ph_atfork_child();
    else
        hk_ph_atfork_parent();
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        pthread_mutex_unlock(&central[c].lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_unlock(&xfer[c][s].lock);
}

void hk_slab_atfork_parent(void)
{
    unlock_all(false);
    pthread_mutex_unlock(&registry_lock);
}

void hk_slab_atfork_child(void)
{
    /* Only the forking thread survives: its cache stays registered, the others' blocks are
     * unreachable in the child (as in every thread-caching allocator; their pages never
     * empty). The child's only thread took every lock in prepare: it releases them
     * (re-initialising a locked mutex is undefined). */
    unlock_all(true);
    for (hk_tcache *t = registry; t; t = t->next)
        if (t != &hk_tc)
            fold_thread(t); /* its cached blocks are stranded, not live */
    registry = NULL;
    if (hk_tc.state == 1) {
        hk_tc.prev = hk_tc.next = NULL;
        registry = &hk_tc;
    }
    pthread_mutex_unlock(&registry_lock);
}

size_t hk_slab_trim(void)
{
    if (hk_arena_size == 0)
        return 0;
    /* The calling thread's cache, every transfer cache and every free run. */
    if (hk_tc.state == 1)
        for (unsigned c = 1; c < HK_NCLASSES; c++)
            flush_bin(c, 0);
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
        hk_central *ce = &central[c];
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
