/* hk_central.c: the block engine's shared free lists (see hk_slab.c for the whole path and the
 * lock order): a class's pages, queued by occupancy, and the transfer caches between thread
 * caches and pages; refill, the decay that returns what was not needed, the purge; and the
 * debug builds' checks of their counts and lists (HK_ASSERT_LEVEL >= 2, hk_internal.h). */
#include "hk_slab_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_ptr.h"
#include "hk_purge.h"
#include "hk_sys.h"

static atomic_bool xfer_armed;    /* a decay is scheduled (transfer caches may hold blocks) */
static _Atomic size_t kept_bytes; /* bytes of the empty pages the classes keep */

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

/* ---------------------------------------------------------------- consistency checks */

/* A page's counts agree (level 2): used <= carved <= cap, a free list only while some carved
 * block is not out; and (level 3) its whole free list: free blocks of its class inside it,
 * carved - used of them. */
static void page_check(const hk_page *pg, unsigned cls, const char *where)
{
    const hk_class_info *ci = &hk_classes[cls];
    hk_assert_internal(pg->cls == cls && pg->c.used <= pg->c.carved && pg->c.carved <= ci->cap);
    hk_assert_internal(pg->c.free == NULL || pg->c.used < pg->c.carved);
    if (HK_ASSERT_LEVEL >= 3 && pg->c.free) {
        uint32_t n = (uint32_t)(pg->c.carved - pg->c.used);
        const void *last = hk_slab_check_chain(pg->c.free, n, cls, where);
        hk_assert_expensive(*(void *const *)last == NULL);
        uintptr_t a = page_addr(pg), end = a + ((uintptr_t)1 << ci->page_shift);
        for (const void *b = pg->c.free; b; b = *(void *const *)b)
            hk_assert_expensive((uintptr_t)b - a < end - a);
    }
}

/* A class's queues agree with their bits and counts (level 2), and (level 3) every queued
 * page is of the class, in the queue of its occupancy, doubly linked, and queue 0 holds the
 * `empty` pages. */
static void central_check(const hk_central *c, unsigned cls)
{
    hk_assert_internal(c->empty <= c->pages);
    for (unsigned q = 0; q <= HK_NQ; q++)
        hk_assert_internal(((c->nonempty >> q) & 1) == (c->queue[q] != HK_NIL));
    if (HK_ASSERT_LEVEL < 3)
        return;
    uint32_t n0 = 0;
    for (unsigned q = 0; q <= HK_NQ; q++) {
        uint32_t prev = HK_NIL;
        for (uint32_t u = c->queue[q]; u != HK_NIL; prev = u, u = hk_pages[u].next) {
            const hk_page *pg = &hk_pages[u];
            hk_assert_expensive(pg->cls == cls && pg->c.queue == q && pg->prev == prev);
            hk_assert_expensive((q == 0) == (pg->c.used == 0) && pg->c.used < hk_classes[cls].cap);
            n0 += q == 0;
        }
    }
    hk_assert_expensive(n0 == c->empty);
}

/* ---------------------------------------------------------------- batches */

/* A transfer-cache shard (lock held): its batches are chains of free blocks of its class, as
 * long as their slots say, whole batches of the class but the top one (xfer_fits_put), and
 * their lengths add up to its count (level 3). */
static void xfer_check(const hk_xfer *x)
{
    if (HK_ASSERT_LEVEL < 3)
        return;
    unsigned cls = (unsigned)((x - &hk_slab_xfer[0][0]) / HK_NSHARDS);
    hk_assert_expensive(x->nb <= x->slot_cap && x->slot_lo < x->slot_cap + (x->slot_cap == 0));
    uint32_t total = 0;
    for (uint32_t i = 0; i < x->nb; i++) {
        uint64_t v = *hk_xb_slot(x, i);
        hk_assert_expensive(hk_xb_len(v) >= 1 && hk_xb_len(v) <= hk_classes[cls].batch);
        hk_assert_expensive(i + 1 == x->nb || hk_xb_len(v) == hk_classes[cls].batch);
        const void *last = hk_slab_check_chain(hk_xb_head(v), hk_xb_len(v), cls, "transfer cache");
        hk_assert_expensive(*(void *const *)last == NULL); /* no longer than it says either */
        total += hk_xb_len(v);
    }
    hk_assert_expensive(total == x->count);
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

/* A page for class cls from the page heap (with room to grow: hk_ph_alloc_room), its
 * descriptor set with `used` blocks cut and out (0, or its one block); NULL when the arena
 * is full. */
static hk_page *page_take(unsigned cls, bool room, uint16_t used)
{
    const hk_class_info *ci = &hk_classes[cls];
    bool resident;
    uintptr_t a = hk_ph_alloc_room(ci->page_shift - HK_UNIT_SHIFT, cls, &resident, room);
    if (!a)
        return NULL;
    hk_page *pg = hk_ph_desc(a);
    pg->c.fresh = !resident && used == 0;
    pg->c.free = NULL;
    pg->c.used = used;
    pg->c.carved = used;
    pg->c.queue = HK_QNONE;
    pg->c.marks = 0;
    pg->cls = (uint8_t)cls;
    pg->order = (uint8_t)(ci->page_shift - HK_UNIT_SHIFT);
    return pg;
}

/* A fresh page for class cls (central lock held), queued; NULL when the arena is full. */
static hk_page *page_new(unsigned cls)
{
    const hk_class_info *ci = &hk_classes[cls];
    hk_page *pg = page_take(cls, false, 0);
    if (!pg)
        return NULL;
    hk_slab_central[cls].pages++;
    hk_slab_central[cls].empty++;
    atomic_fetch_add_explicit(&kept_bytes, (size_t)1 << ci->page_shift, memory_order_relaxed);
    requeue(&hk_slab_central[cls], ci, pg);
    central_check(&hk_slab_central[cls], cls);
    return pg;
}

/* Up to want FREE blocks of class cls, chained, from its pages, fullest first (central lock
 * held); a fresh page when none has a free block. Blocks cut from memory not yet resident are
 * not chained here (the link written into each would fault its page in with the lock held):
 * they are the *nfresh blocks from *fresh on, for the caller to chain after *last (the last
 * block chained here, or NULL) once the lock is dropped (fresh_chain). */
static void *pages_take(unsigned cls, uint32_t want, uint32_t *got, uintptr_t *fresh,
                        uint32_t *nfresh, void **last)
{
    hk_central *c = &hk_slab_central[cls];
    const hk_class_info *ci = &hk_classes[cls];
    void *head = NULL, **tailp = &head;
    uint32_t n = 0;
    *nfresh = 0;
    while (n < want) {
        hk_page *pg;
        if (c->nonempty)
            pg = &hk_pages[c->queue[31 - __builtin_clz(c->nonempty)]];
        else if (!(pg = page_new(cls)))
            break;
        uint32_t k = 0;
        void *b = pg->c.free;
        if (HK_ASSERT_LEVEL >= 2)
            page_check(pg, cls, "refill: a page's free list");
        if (pg->c.used == 0) {
            if (--c->empty < c->empty_low)
                c->empty_low = c->empty;
            atomic_fetch_sub_explicit(&kept_bytes, (size_t)1 << ci->page_shift,
                                      memory_order_relaxed);
        }
        if (b) { /* blocks given back first: their memory is resident */
            *tailp = b;
            if (HK_ASSERT_LEVEL >= 2) /* FREE blocks of the class, inside pg */
                hk_slab_check_chain(b, 1, cls, "refill from a page");
            for (k = 1; n + k < want && *(void **)b; k++) {
                b = *(void **)b;
                if (HK_ASSERT_LEVEL >= 2) {
                    hk_slab_check_chain(b, 1, cls, "refill from a page");
                    hk_assert_internal(
                        hk_ph_desc((uintptr_t)b & ~(((uintptr_t)1 << ci->page_shift) - 1)) == pg);
                }
            }
            pg->c.free = *(void **)b;
            tailp = (void **)b;
        }
        bool cut = false;
        if (n + k < want && pg->c.carved < ci->cap) {
            /* Blocks cut on demand; from memory not yet resident at most carve_max at a time
             * (16 KiB, at least a block: cutting writes a link into each block, which makes
             * its first page resident), so that a page is touched only as far as it is used. */
            const uintptr_t bsize = ci->bsize;
            uintptr_t blk = hk_page_first(page_addr(pg), ci) + (uintptr_t)pg->c.carved * bsize;
            uint32_t m = want - n - k;
            if (pg->c.fresh && m > ci->carve_max)
                m = ci->carve_max;
            if (m > (uint32_t)ci->cap - pg->c.carved)
                m = (uint32_t)ci->cap - pg->c.carved;
            cut = pg->c.fresh;
            /* Each block's state byte (one per granule: a block's first granule, then every
             * bsize / granule bytes of the map), counted once for the run. */
            _Atomic uint8_t *st = &hk_state[(blk - hk_arena_base) >> HK_GRAN_SHIFT];
            const uintptr_t step = bsize >> HK_GRAN_SHIFT;
            for (uint32_t i = 0; i < m; i++, st += step) {
                /* never cut: no state yet (a page comes from the heap with its bytes reset) */
                hk_assert_internal(atomic_load_explicit(st, memory_order_relaxed) == HK_ST_UNUSED);
                atomic_store_explicit(st, HK_ST_FREE, memory_order_relaxed);
            }
            if (cut) { /* linked by the caller, after the lock is dropped (fresh_chain) */
                *fresh = blk;
                *nfresh = m;
            } else {
                for (uint32_t i = 0; i < m; i++, blk += bsize) {
                    *tailp = (void *)blk;
                    tailp = (void **)blk;
                }
            }
            k += m;
            pg->c.carved = (uint16_t)(pg->c.carved + m);
        }
        n += k;
        hk_assert_internal((uint32_t)pg->c.used + k <= pg->c.carved);
        pg->c.used = (uint16_t)(pg->c.used + k);
        requeue(c, ci, pg);
        if (cut)
            break; /* fresh memory: no more than carve_max blocks per refill */
    }
    *tailp = NULL;
    *last = tailp == &head ? NULL : (void *)tailp; /* a block's link is its first word */
    *got = n;
    if (HK_ASSERT_LEVEL >= 2)
        central_check(c, cls);
    return head;
}

/* Each of the n chained blocks back to its page (central lock held). Pages whose last block
 * came back leave the class (but for the few empty pages it keeps): they are returned,
 * chained through `next`, for the caller to give to the page heap once the lock is dropped. */
static hk_page *pages_put(unsigned cls, void *head, uint32_t n)
{
    hk_central *c = &hk_slab_central[cls];
    const hk_class_info *ci = &hk_classes[cls];
    uintptr_t mask = ~(((uintptr_t)1 << ci->page_shift) - 1);
    hk_page *done = NULL, *pg = NULL;
    for (void *b = head; n--;) {
        void *nx = *(void **)b;
        if (HK_ASSERT_LEVEL >= 2) /* a FREE block of the class going back to its page */
            hk_slab_check_chain(b, 1, cls, "block back to its page");
        hk_page *p = hk_ph_desc((uintptr_t)b & mask);
        if (p != pg && pg) /* settle the previous page once per run of its blocks */
            requeue(c, ci, pg);
        pg = p;
        hk_assert_internal(pg->c.used > 0 && pg->cls == cls);
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
    if (HK_ASSERT_LEVEL >= 2) {
        central_check(c, cls);
        for (hk_page *d = done; d; d = d->next == HK_NIL ? NULL : &hk_pages[d->next])
            page_check(d, cls, "a page leaving its class");
    }
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
        /* no block out, and the class map still names the class (cleared by hk_ph_free) */
        hk_assert_internal(done->c.used == 0 && hk_pagecls[hk_ph_unit(a)] == done->cls);
        if (atomic_load_explicit((_Atomic uint8_t *)&done->c.marks, memory_order_relaxed) ||
            ci->bsize < 256) {
            hk_ph_state_reset(a, (size_t)1 << ci->page_shift);
        } else {
            uint8_t *st = (uint8_t *)hk_state +
                          ((hk_page_first(a, ci) - hk_arena_base) >> HK_GRAN_SHIFT);
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
    hk_central *c = &hk_slab_central[cls];
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
    if (HK_ASSERT_LEVEL >= 2) {
        central_check(c, cls);
        for (hk_page *d = done; d; d = d->next == HK_NIL ? NULL : &hk_pages[d->next])
            page_check(d, cls, "an empty page leaving its class");
    }
    pthread_mutex_unlock(&c->lock);
    pages_release(done);
}

/* n chained blocks (head .. tail) of class cls back to their pages. */
static void central_put(unsigned cls, void *head, uint32_t n)
{
    hk_central *c = &hk_slab_central[cls];
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
    hk_lock_counted(&hk_slab_central[cls].lock, &hk_slab_central[cls].ls);
    bool ok = page_new(cls) != NULL;
    pthread_mutex_unlock(&hk_slab_central[cls].lock);
    return ok;
}

static bool resize(void *p, unsigned to)
{
    uintptr_t a = (uintptr_t)p, off = a - hk_arena_base;
    if (off >= hk_arena_size || to == 0 || to >= HK_NCLASSES)
        return false;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    const hk_class_info *ci = &hk_classes[cls], *ti = &hk_classes[to];
    /* A live block handed out at its start (its state is its class), a page of its own; the
     * new class's blocks are pages of their own too. */
    unsigned st = atomic_load_explicit(&hk_state[off >> HK_GRAN_SHIFT], memory_order_relaxed);
    if (cls == 0 || to == cls || ci->cap != 1 || ti->cap != 1 || ti->bsize == 0 ||
        (off & (((uintptr_t)1 << ci->page_shift) - 1)) || (st != cls && st != HK_ST_RESIZED))
        return false;
    hk_page *pg = hk_ph_desc(a);
    hk_assert_internal(pg->cls == cls && pg->c.used == 1 && pg->c.queue == HK_QNONE);
    unsigned from_order = ci->page_shift - HK_UNIT_SHIFT, to_order = ti->page_shift - HK_UNIT_SHIFT;
    if (to_order > from_order) {
        if (!hk_ph_grow(a, from_order, to_order, to))
            return false;
    } else {
        /* The tail's state bytes: none is set but where memalign marked (aligned pointers
         * freed since; their marks were cleared, but be certain). */
        if (atomic_load_explicit((_Atomic uint8_t *)&pg->c.marks, memory_order_relaxed))
            hk_ph_state_reset(a + ((uintptr_t)1 << ti->page_shift),
                              ((size_t)1 << ci->page_shift) - ((size_t)1 << ti->page_shift));
    }
    hk_lock_counted(&hk_slab_central[cls].lock, &hk_slab_central[cls].ls);
    hk_slab_central[cls].pages--;
    pthread_mutex_unlock(&hk_slab_central[cls].lock);
    hk_lock_counted(&hk_slab_central[to].lock, &hk_slab_central[to].ls);
    hk_slab_central[to].pages++;
    pg->cls = (uint8_t)to;
    pg->order = (uint8_t)to_order;
    pthread_mutex_unlock(&hk_slab_central[to].lock);
    if (to_order < from_order)
        hk_ph_shrink(a, from_order, to_order, to);
    atomic_store_explicit(&hk_state[off >> HK_GRAN_SHIFT], HK_ST_RESIZED, memory_order_relaxed);
    /* The statistics: a block of cls went back, one of `to` was handed out. */
    atomic_fetch_add_explicit(&hk_slab_retired_nfree[cls], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hk_slab_retired_nalloc[to], 1, memory_order_relaxed);
    return true;
}

static void *alloc_page(unsigned cls)
{
    if (cls == 0 || cls >= HK_NCLASSES || hk_classes[cls].cap != 1 || hk_arena_size == 0)
        return NULL;
    hk_page *pg = page_take(cls, true, 1);
    if (!pg)
        return NULL;
    uintptr_t a = page_addr(pg);
    hk_lock_counted(&hk_slab_central[cls].lock, &hk_slab_central[cls].ls);
    hk_slab_central[cls].pages++;
    pthread_mutex_unlock(&hk_slab_central[cls].lock);
    atomic_store_explicit(&hk_state[(a - hk_arena_base) >> HK_GRAN_SHIFT], HK_ST_RESIZED,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&hk_slab_retired_nalloc[cls], 1, memory_order_relaxed);
    return (void *)a;
}

/* p (in the arena) lies in a page of a class whose blocks are pages of their own. */
static bool own_page(const void *p)
{
    return hk_classes[hk_pagecls[((uintptr_t)p - hk_arena_base) >> HK_UNIT_SHIFT]].cap == 1;
}

void *hk_slab_realloc_place(void *old, unsigned to)
{
    if (!hk_slab_owns(old) || !own_page(old) || to == 0 || to >= HK_NCLASSES ||
        hk_classes[to].cap != 1)
        return NULL;
    if (resize(old, to))
        return old;
    unsigned cls = hk_pagecls[((uintptr_t)old - hk_arena_base) >> HK_UNIT_SHIFT];
    return hk_classes[to].bsize > hk_classes[cls].bsize ? alloc_page(to) : NULL;
}

/* The last freed RESIZED block waits here, FREE, before its page goes back to the page heap:
 * a second free in that window is named a double free. (Given back at once, the page was the
 * next allocation's, often at the same address, and a double free freed that block in
 * silence: the hostile review's repro.) One block: each pins the run it was cut from, and 4
 * cost bench_realloc 80 1048576 42 45 % more peak RSS and its lead over jemalloc. The next
 * such free, the delayed purge, malloc_trim and memory pressure empty it. No lock: the slot is
 * swapped atomically, so each block leaves it once. */
static _Atomic(void *) quar;

/* A freed RESIZED block's page, out of its class, to the page heap (no lock held). */
static void resized_release(void *p)
{
    uintptr_t a = (uintptr_t)p;
    hk_page *pg = hk_ph_desc(a);
    unsigned cls = pg->cls;
    hk_assert_internal(hk_classes[cls].cap == 1 && pg->c.used == 1);
    hk_lock_counted(&hk_slab_central[cls].lock, &hk_slab_central[cls].ls);
    hk_slab_central[cls].pages--;
    pthread_mutex_unlock(&hk_slab_central[cls].lock);
    atomic_store_explicit(&hk_state[(a - hk_arena_base) >> HK_GRAN_SHIFT], HK_ST_UNUSED,
                          memory_order_relaxed);
    hk_ph_free(a, pg->order);
}

void hk_slab_resized_free(void *p, unsigned cls)
{
    uintptr_t a = (uintptr_t)p;
    hk_assert_internal(hk_ph_desc(a)->cls == cls && hk_classes[cls].cap == 1);
    atomic_store_explicit(&hk_state[(a - hk_arena_base) >> HK_GRAN_SHIFT], HK_ST_FREE,
                          memory_order_relaxed);
    atomic_fetch_add_explicit(&hk_slab_retired_nfree[cls], 1, memory_order_relaxed);
    void *out = atomic_exchange_explicit(&quar, p, memory_order_acq_rel);
    if (out)
        resized_release(out);
}

/* The quarantined block's page back to the page heap. */
static void quar_flush(void)
{
    void *out = atomic_exchange_explicit(&quar, NULL, memory_order_acq_rel);
    if (out)
        resized_release(out);
}

/* ---------------------------------------------------------------- transfer caches */

/* Take up to want blocks from x (lock held): its top batch, the first want blocks of it when
 * it is longer (a refill that wants less than a batch: the rest stays, the top batch). Reads
 * no block but those it walks to split. */
static void *xfer_take(hk_xfer *x, uint32_t want, uint32_t *got)
{
    xfer_check(x);
    if (x->nb == 0) {
        *got = 0;
        return NULL;
    }
    uint64_t *top = hk_xb_slot(x, x->nb - 1);
    void *head = hk_xb_head(*top);
    uint32_t n = hk_xb_len(*top);
    hk_assert_internal(n >= 1 && x->count >= n);
    if (n > want) {
        void *p = head;
        for (uint32_t i = 1; i < want; i++)
            p = *(void **)p;
        *top = hk_xb_make(*(void **)p, n - want);
        *(void **)p = NULL;
        n = want;
    } else {
        x->nb--;
    }
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

/* Put the chain into x when it fits (lock held), so that every batch but the top one stays
 * a whole batch of the class (a refill then takes a whole batch, and the slots never run out:
 * hk_slab_define_class): in front of the top batch while both together make at most a batch
 * (single blocks from threads without a cache, partial flushes); else its first blocks fill
 * the top batch up to a whole one (the chain is hot: its putter just walked it) and the rest
 * makes a batch of its own in the next slot. Reads no block already there. (Pushed as it
 * came, a chain left a short batch below it: a flush of a whole batch after each single
 * block filled the slots with batches of one, and each refill took one block.) */
static bool xfer_fits_put(hk_xfer *x, uint32_t max, void *head, void *tail, uint32_t n)
{
    if (x->count + n > max)
        return false;
    unsigned cls = (unsigned)((x - &hk_slab_xfer[0][0]) / HK_NSHARDS);
    uint32_t batch = hk_classes[cls].batch, k = n;
    uint64_t *top = x->nb ? hk_xb_slot(x, x->nb - 1) : NULL;
    uint32_t m = top ? hk_xb_len(*top) : batch;
    if (m + n <= batch) {
        *(void **)tail = hk_xb_head(*top);
        *top = hk_xb_make(head, m + n);
    } else {
        /* Cannot happen: one slot per batch the bound holds (hk_slab_define_class). Were it
         * to, the pages take the chain. */
        hk_assert_internal(x->nb < x->slot_cap);
        if (x->nb == x->slot_cap)
            return false;
        if (m < batch) {
            void *p = head, *rest;
            for (uint32_t i = 1; i < batch - m; i++)
                p = *(void **)p;
            rest = *(void **)p;
            *(void **)p = hk_xb_head(*top);
            *top = hk_xb_make(head, batch);
            head = rest;
            k = n - (batch - m);
        }
        *(void **)tail = NULL;
        *hk_xb_slot(x, x->nb++) = hk_xb_make(head, k);
    }
    x->count += n;
    atomic_store_explicit(&x->peek, x->count, memory_order_relaxed);
    xfer_check(x);
    return true;
}

/* n chained blocks (head .. tail) of class cls: into transfer-cache shard `shard` when they
 * fit, else into another shard with room (a consumer thread's frees then wait where its
 * producer, which never frees, refills first), else back to their pages. */
void hk_slab_xfer_put(unsigned cls, unsigned shard, void *head, void *tail, uint32_t n)
{
    uint32_t max = hk_classes[cls].xfer_max;
    hk_xfer *x = &hk_slab_xfer[cls][shard];
    if (HK_ASSERT_LEVEL >= 2) /* n FREE blocks of the class, head .. tail, at most a batch */
        hk_assert_internal(n >= 1 && n <= hk_classes[cls].batch &&
                           hk_slab_check_chain(head, n, cls, "transfer cache put") == tail);
    hk_lock_counted(&x->lock, &x->ls);
    bool done = xfer_fits_put(x, max, head, tail, n);
    pthread_mutex_unlock(&x->lock);
    for (unsigned i = 1; !done && i < HK_NSHARDS; i++) {
        x = &hk_slab_xfer[cls][(shard + i) % HK_NSHARDS];
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

/* The n blocks cut from fresh memory at `first` (pages_take), chained after `last` (the end
 * of the chain `head`, NULL when it is empty); the whole chain. */
static void *fresh_chain(void *head, void *last, uintptr_t first, uint32_t n, uint32_t bsize)
{
    void *rest = NULL;
    for (uint32_t i = n; i-- > 0;) {
        void *b = (void *)(first + (uintptr_t)i * bsize);
        *(void **)b = rest;
        rest = b;
    }
    if (!last)
        return rest;
    *(void **)last = rest;
    return head;
}

/* A chain of up to want FREE blocks of class cls, or NULL when the box cannot serve. */
void *hk_slab_refill(unsigned cls, unsigned shard, uint32_t want, uint32_t *got)
{
    void *head;
    hk_xfer *own = &hk_slab_xfer[cls][shard];
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
            hk_xfer *o = &hk_slab_xfer[cls][(shard + i) % HK_NSHARDS];
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
    uintptr_t fresh;
    uint32_t nfresh;
    void *last;
    hk_lock_counted(&hk_slab_central[cls].lock, &hk_slab_central[cls].ls);
    head = pages_take(cls, want, got, &fresh, &nfresh, &last);
    pthread_mutex_unlock(&hk_slab_central[cls].lock);
    return nfresh ? fresh_chain(head, last, fresh, nfresh, hk_classes[cls].bsize) : head;
}

/* How deep this thread is in decays (the pressure hook runs one inside another: a page given
 * back can cross the dirty budget). */
static HK_TLS unsigned decay_depth;

/* Blocks the transfer caches held unused since the last decay (their low-water marks; all
 * when `all`) go back to their pages, and so do the empty pages the classes kept unused. One
 * decay at a time (hk_slab_decay_lock; one started inside another runs nested): a batch it
 * gives back is in no list while the shard's lock is dropped, and a fork waits for the decay
 * (hk_slab_atfork_prepare) rather than leave that batch to the child, lost. */
static void decay(bool all)
{
    if (decay_depth++ == 0)
        pthread_mutex_lock(&hk_slab_decay_lock);
    /* Disarmed first: a flush from now on arms it again. */
    atomic_store_explicit(&xfer_armed, false, memory_order_relaxed);
    bool held = false;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        for (unsigned s = 0; s < HK_NSHARDS; s++) {
            hk_xfer *x = &hk_slab_xfer[c][s];
            hk_lock_counted(&x->lock, &x->ls);
            xfer_check(x);
            hk_assert_internal(x->low <= x->count);
            /* The coldest batches (the bottom of the stack), whole, up to the low-water mark
             * (all of them when `all`), back to their pages one at a time: the shard's lock
             * is dropped around each (freeing pages can run the pressure hook, which comes
             * back here). */
            uint32_t cold = all ? x->count : x->low, gone = 0;
            for (uint32_t nb0 = x->nb; nb0-- && x->nb;) {
                uint64_t v = *hk_xb_slot(x, 0);
                if (gone + hk_xb_len(v) > cold)
                    break;
                x->slot_lo = x->slot_lo + 1 == x->slot_cap ? 0 : x->slot_lo + 1;
                x->nb--;
                x->count -= hk_xb_len(v);
                x->low = x->low > hk_xb_len(v) ? x->low - hk_xb_len(v) : 0; /* they were the cold */
                atomic_store_explicit(&x->peek, x->count, memory_order_relaxed);
                pthread_mutex_unlock(&x->lock);
                central_put(c, hk_xb_head(v), hk_xb_len(v));
                gone += hk_xb_len(v);
                hk_lock_counted(&x->lock, &x->ls);
            }
            x->low = x->count;
            held |= x->count > 0;
            xfer_check(x);
            pthread_mutex_unlock(&x->lock);
        }
    }
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        release_empty(c, all);
    if (--decay_depth == 0)
        pthread_mutex_unlock(&hk_slab_decay_lock);
    if (held)
        xfer_arm();
}

/* The page heap's pressure hook: the program is giving a lot back, so the calling thread's
 * cache, every transfer cache and every kept empty page go back too, and with them the
 * pages they pinned (a cached block keeps its whole page in its class). */
void hk_slab_pressure(void)
{
    if (hk_tc.state == 1)
        for (unsigned c = 1; c < HK_NCLASSES; c++)
            hk_slab_flush_bin(c, 0);
    decay(true);
    quar_flush();
}

/* The delayed purge: the decay, then the page heap purges its due runs. */
uint32_t hk_slab_purge(uint32_t now, bool all)
{
    if (hk_arena_size == 0)
        return HK_PURGE_NEVER;
    if (hk_purge_delay >= 0 || all) {
        decay(all);
        quar_flush();
    }
    return hk_ph_purge(now, all);
}
