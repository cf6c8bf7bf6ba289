/* hk_block.c: the block engine's frees that leave the fast path, its pointer checks (state
 * map, owner, fail-closed classification), the debug builds' consistency checks of blocks
 * and chains, and its queries (box, usable size, counts). */
#include "hk_slab_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_ptr.h"
#include "hk_purge.h"
#include "hk_sys.h"

/* ---------------------------------------------------------------- free */

/* The block of class cls that contains arena offset off: its offset, or UINTPTR_MAX when off
 * lies in the tail of its page that holds no whole block. (A page is aligned to its size.) */
static uintptr_t block_of(uintptr_t off, unsigned cls)
{
    const hk_class_info *ci = &hk_classes[cls];
    uintptr_t page = off & ~(((uintptr_t)1 << ci->page_shift) - 1);
    uintptr_t first = hk_page_first(hk_arena_base + page, ci) - hk_arena_base;
    if (off < first)
        return UINTPTR_MAX;
    uintptr_t blk = first + ((off - first) / ci->bsize) * ci->bsize;
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
        bool live = bst == cls || (bst == HK_ST_RESIZED && hk_classes[cls].cap == 1);
        if (live || bst == HK_ST_FREE)
            info->why = HK_WHY_NONE;
        else
            info->why = HK_WHY_PADDING; /* an aligned block's start: never handed out */
        return info->kind = live ? HK_PTR_LIVE : bst == HK_ST_FREE ? HK_PTR_FREED : HK_PTR_INVALID;
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
    /* ALLOC -> FREE: a live block start, or the padding start of a live aligned pointer. */
    hk_assert_internal(atomic_load_explicit(sb, memory_order_relaxed) == cls ||
                       atomic_load_explicit(sb, memory_order_relaxed) == HK_ST_ALIGNED_BLOCK);
    hk_assert_internal(hk_pagecls[((uintptr_t)blk - hk_arena_base) >> HK_UNIT_SHIFT] == cls);
    if (!hk_slab_tcache_setup()) {
        atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
        atomic_fetch_add_explicit(&hk_slab_retired_nfree[cls], 1, memory_order_relaxed);
        *(void **)blk = NULL;
        hk_slab_xfer_put(cls, 0, blk, blk, 1);
        return;
    }
    uint32_t lim = hk_slab_bin_lim(cls);
    if (hk_slab_bin_count(cls) >= lim) {
        hk_slab_flush_bin(cls, lim - hk_classes[cls].batch);
        hk_slab_bin_event(cls, HK_BIN_FLUSH);
        hk_slab_slow_tick(cls);
    }
    atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
    *(void **)blk = hk_tc.head[cls];
    hk_tc.head[cls] = blk;
    hk_tc.nfree0[cls]++;
    hk_slab_bin_arm(cls);
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
    if (state_at(off) == HK_ST_RESIZED) { /* LIVE: a resized block's start */
        hk_slab_resized_free(p, cls);
        return true;
    }
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

/* ---------------------------------------------------------------- consistency checks */

void hk_slab_check_block(const void *p, unsigned cls, bool want_free, const char *where)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    const char *fault = NULL;
    unsigned pcls = 0, st = 0;
    if (off >= hk_arena_size || (off & (HK_MIN_ALIGN - 1))) {
        fault = "is not a granule of the arena";
    } else {
        pcls = hk_pagecls[off >> HK_UNIT_SHIFT];
        st = state_at(off);
        if (pcls != cls)
            fault = "lies in a page of another class";
        else if (cls == 0 || cls >= HK_NCLASSES || block_of(off, cls) != off)
            fault = "is not a block start";
        else if (want_free ? !hk_st_free(st) : st != cls)
            fault = want_free ? "is not free" : "is not live";
    }
    if (HK_UNLIKELY(fault != NULL))
        hk_fatal("internal check failed: %s: block %p of class %u %s (its page's class %u, state "
                 "byte 0x%02x)",
                 where, p, cls, fault, pcls, st);
}

const void *hk_slab_check_chain(const void *head, uint32_t n, unsigned cls, const char *where)
{
    const void *b = head;
    for (uint32_t i = 1; i <= n; i++) {
        hk_slab_check_block(b, cls, true, where);
        if (i < n && !(b = *(void *const *)b))
            hk_fatal("internal check failed: %s: a chain of %u blocks of class %u ends after %u",
                     where, n, cls, i);
    }
    return b;
}

/* ---------------------------------------------------------------- queries */

hak_box_t hk_slab_box_of(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
    if (cls == 0 || (off & (HK_MIN_ALIGN - 1)))
        return HAK_BOX_NONE;
    unsigned st = state_at(off);
    return (st == cls || st == HK_ST_ALIGNED || st == HK_ST_RESIZED)
               ? (hak_box_t)hk_classes[cls].box
               : HAK_BOX_NONE;
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
    if (HK_ASSERT_LEVEL >= 2) { /* a live block start, and q inside it */
        unsigned cls = hk_pagecls[off >> HK_UNIT_SHIFT];
        hk_slab_check_block(block, cls, false, "memalign mark");
        hk_assert_internal((uintptr_t)q > (uintptr_t)block &&
                           (uintptr_t)q < (uintptr_t)block + hk_classes[cls].bsize);
    }
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
    uint64_t a = atomic_load(&hk_slab_retired_nalloc[cls]),
             f = atomic_load(&hk_slab_retired_nfree[cls]);
    pthread_mutex_lock(&hk_slab_registry_lock);
    for (hk_tcache *t = hk_slab_registry; t; t = t->next) {
        a += t->nalloc[cls];
        f += hk_slab_bin_nfree(t, cls);
    }
    pthread_mutex_unlock(&hk_slab_registry_lock);
    *nalloc = a;
    *nfree = f;
}

uint64_t hk_slab_thread_counter(hk_thread_counter_id id)
{
    uint64_t n = atomic_load(&hk_slab_retired_tctr[id]);
    pthread_mutex_lock(&hk_slab_registry_lock);
    bool fast = id == HK_TCTR_SERVED_LEGACY + hk_slab_fast_central;
    for (hk_tcache *t = hk_slab_registry; t; t = t->next) {
        if (t != &hk_tc)
            n += t->tctr[id];
        /* the front door's fast-path allocations since the last settlement */
        if (fast)
            n += hk_slab_fast_allocs(t) - t->fast_mark;
    }
    pthread_mutex_unlock(&hk_slab_registry_lock);
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
            pthread_mutex_lock(&hk_slab_xfer[c][s].lock);
            n += hk_slab_xfer[c][s].count;
            pthread_mutex_unlock(&hk_slab_xfer[c][s].lock);
        }
        out[hk_classes[c].box] += n * hk_classes[c].bsize;
    }
}

void hk_slab_lock_counts(hk_lockcount *xf, hk_lockcount *cl)
{
    *xf = *cl = (hk_lockcount){0, 0};
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            hk_lockcount_add(xf, &hk_slab_xfer[c][s].ls);
        hk_lockcount_add(cl, &hk_slab_central[c].ls);
    }
}
