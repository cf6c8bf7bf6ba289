/* hk_slab.h: the block engine under the Tiny, Pool, Mid and L25 boxes.
 *
 * One engine, four boxes: each box defines its size classes (hk_slab_define_class) and the
 * engine gives every class a per-thread cache, a sharded central free list and pages carved
 * from one reserved arena. The boxes decide sizes; the engine moves blocks.
 *
 * Memory layout (this is what makes free's owner lookup O(1) and lock-free):
 *   - one arena of address space is reserved at init (PROT_NONE), and committed 4 MiB
 *     segment by segment; a pointer is ours iff (p - hk_arena_base) < hk_arena_size;
 *   - hk_pagecls[off >> 16] names the class of every 64 KiB of the arena (0: not carved);
 *   - hk_state[off >> 4] is one byte per 16-byte granule (the HK_ST_* states below): a state
 *     at each block start and at a live aligned pointer, UNUSED everywhere else. A byte per
 *     block (not a bit) so that two threads freeing neighbours never race on one word.
 *   Metadata sits outside the blocks, so an overflowing program cannot corrupt it.
 *
 * Fast paths (static inline below): a pop or push on the thread's cache bin plus one state
 * byte store; no lock, no atomic read-modify-write. Everything else is in hk_slab.c.
 */
#ifndef HK_SLAB_H
#define HK_SLAB_H

#include <stdatomic.h>

#include "hk_internal.h"
#include "hk_ptr.h"
#include "hk_stats.h"

#define HK_SEG_SHIFT 22 /* 4 MiB segments */
#define HK_SEG_SIZE ((size_t)1 << HK_SEG_SHIFT)
#define HK_GRAN_SHIFT 4   /* state granule: 16 B */
#define HK_PCLS_SHIFT 16  /* class map granule: 64 KiB, the smallest page */
#define HK_NSHARDS 4      /* central free-list shards per class */

/* Global class ids: 0 is "no class"; each box owns a contiguous range. */
enum {
    HK_TINY_NCLASSES = 20,
    HK_POOL_NCLASSES = 7,
    HK_MID_NCLASSES = 8,
    HK_L25_NCLASSES = 6,
    HK_CLS_TINY0 = 1,
    HK_CLS_POOL0 = HK_CLS_TINY0 + HK_TINY_NCLASSES,
    HK_CLS_MID0 = HK_CLS_POOL0 + HK_POOL_NCLASSES,
    HK_CLS_L250 = HK_CLS_MID0 + HK_MID_NCLASSES,
    HK_NCLASSES = HK_CLS_L250 + HK_L25_NCLASSES,
};

/* State bytes. The invariant every free relies on: ALLOC is only ever at the start of a
 * block handed out at its start, and no state survives the use it marks (a block's reuse
 * overwrites its start's state; an aligned pointer's mark is cleared when it is freed), so
 * that the fast free path's one test (ALLOC at p's granule) accepts exactly the pointers
 * hakmem returned.
 *   UNUSED          neither a block start nor a live aligned pointer
 *   FREE            the start of a free block
 *   ALLOC           the start of a live block, handed out at its start
 *   ALIGNED         a live pointer handed out by memalign inside its block (not at its start)
 *   ALIGNED_BLOCK   the start of that block: padding, never a valid pointer
 *   FREE_ALIGNED+k  the start of a free block whose last use was the aligned pointer
 *                   align_up(start, 1 << k) (k = ctz of that pointer, 5..63): freeing that
 *                   pointer again is named a double free, with no mark left at the pointer */
enum {
    HK_ST_UNUSED = 0,
    HK_ST_FREE = 1,
    HK_ST_ALLOC = 2,
    HK_ST_ALIGNED = 3,
    HK_ST_ALIGNED_BLOCK = 4,
    HK_ST_FREE_ALIGNED = 64, /* + k */
};

typedef struct {
    uint32_t bsize;     /* block size */
    uint8_t box;        /* hak_box_t */
    uint8_t page_shift; /* log2 of the page this class carves */
    uint16_t tc_max;    /* thread-cache capacity (blocks) */
    uint16_t batch;     /* blocks moved per refill / flush */
} hk_class_info;

typedef struct {
    void *head;
    uint32_t count, max;
    uint64_t nalloc, nfree; /* per-thread statistics, merged at thread exit */
} hk_bin;

typedef struct hk_tcache {
    hk_bin bins[HK_NCLASSES];
    uint64_t tctr[HK_TCTR_COUNT]; /* hk_stats.h's per-thread counters */
    uint32_t shard;
    uint32_t state; /* 0 new, 1 live, 2 retired (thread exiting: caching off) */
    struct hk_tcache *next, *prev;
} hk_tcache;

extern HK_TLS hk_tcache hk_tc;
extern uintptr_t hk_arena_base;
extern size_t hk_arena_size;
extern _Atomic uint8_t *hk_state;
/* hk_state biased by the arena base: the state byte of an arena address p is at
 * hk_state_bias + (p >> HK_GRAN_SHIFT), one load fewer on the allocation fast path. */
extern uintptr_t hk_state_bias;
extern uint8_t *hk_pagecls;
extern hk_class_info hk_classes[HK_NCLASSES];

/* Reserve the arena (once, from hakmem's init). Returns false when no address space at all
 * could be reserved: every small box then falls back to the mmap box. */
bool hk_slab_init(size_t arena_bytes);
void hk_slab_define_class(unsigned cls, hak_box_t box, uint32_t bsize, unsigned page_shift);

void *hk_slab_alloc_slow(unsigned cls);
/* The fast free path's miss: frees p when it is LIVE, else names the fault and aborts. */
void hk_slab_free_slow(void *p);

/* Give central shard `shard` one fresh page of class `cls` (carved into blocks on demand).
 * True only on success: the caller counts successes (Pool prewarm). */
bool hk_slab_refill_page(unsigned cls, unsigned shard);
/* Test hook: the next n page acquisitions fail as if the arena were exhausted. */
void hk_slab_inject_page_failures(int n);

/* Owner queries for a pointer inside the arena. */
hak_box_t hk_slab_box_of(const void *p);   /* HAK_BOX_NONE unless a live block (or aligned ptr) */
/* What p (inside the arena) is: LIVE (a block start or aligned pointer handed out and not
 * freed), FREED, or INVALID; never FOREIGN. Reads the maps only: no lock, no side effect
 * (the fail-closed checks, and tests that try every offset without aborting). */
hk_ptr_kind hk_slab_classify(const void *p, hk_ptr_info *info);
/* Usable bytes at p, a LIVE pointer (hk_slab_classify); 0 for anything else. */
size_t hk_slab_usable(const void *p);
/* Free p, a LIVE pointer the fast path did not take (full cache bin, aligned pointer, exiting
 * thread). False (nothing done) when p is not LIVE: the caller names the fault. */
bool hk_slab_free_checked(void *p);
/* memalign support: p (a live block start) is handed out as q, an aligned address inside it. */
void hk_slab_mark_aligned(void *block, void *q);

/* Thread cache lifecycle, fork and trim. */
void hk_slab_thread_exit(void);
void hk_slab_atfork_prepare(void);
void hk_slab_atfork_parent(void);
void hk_slab_atfork_child(void);
size_t hk_slab_trim(void);
/* Statistics: per-class allocation and free counts over all threads, live or exited. */
void hk_slab_class_counts(unsigned cls, uint64_t *nalloc, uint64_t *nfree);
uint64_t hk_slab_thread_counter(hk_thread_counter_id id);
size_t hk_slab_committed_bytes(void);
/* Address space the engine keeps for the process's life: the arena and its two maps. */
size_t hk_slab_reserved_bytes(void);

HK_INLINE bool hk_slab_owns(const void *p)
{
    return (uintptr_t)p - hk_arena_base < hk_arena_size;
}
/* p lies in the engine's own maps of the arena (state bytes, class map). */
bool hk_slab_owns_meta(const void *p);

/* Pop a block of class cls from the thread's cache, or NULL when the bin is empty (the
 * caller takes its slow path; nothing here calls out, so callers can tail-call theirs). */
HK_INLINE void *hk_slab_pop(unsigned cls)
{
    hk_bin *b = &hk_tc.bins[cls];
    void *p = b->head;
    if (HK_LIKELY(p != NULL)) {
        b->head = *(void **)p;
        b->count--;
        b->nalloc++;
        atomic_store_explicit(
            (_Atomic uint8_t *)(hk_state_bias + ((uintptr_t)p >> HK_GRAN_SHIFT)), HK_ST_ALLOC,
            memory_order_relaxed);
    }
    return p;
}

HK_INLINE void *hk_slab_alloc(unsigned cls)
{
    void *p = hk_slab_pop(cls);
    if (HK_LIKELY(p != NULL))
        return p;
    return hk_slab_alloc_slow(cls);
}

/* The fast free path's whole test of p (at arena offset off): a live block handed out at its
 * start (the invariant of the state map, above). Tests hold it against every offset. */
HK_INLINE bool hk_slab_fast_ok(uintptr_t off)
{
    return (off & (HK_MIN_ALIGN - 1)) == 0 &&
           atomic_load_explicit(&hk_state[off >> HK_GRAN_SHIFT], memory_order_relaxed) ==
               HK_ST_ALLOC;
}

/* p must satisfy hk_slab_owns(p). */
HK_INLINE void hk_slab_free(void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    hk_bin *b = &hk_tc.bins[hk_pagecls[off >> HK_PCLS_SHIFT]];
    _Atomic uint8_t *st = &hk_state[off >> HK_GRAN_SHIFT];
    /* bins[0] (uncarved memory) has max 0, so the state byte is read only for carved pages. */
    if (HK_LIKELY(b->count < b->max && hk_slab_fast_ok(off))) {
        atomic_store_explicit(st, HK_ST_FREE, memory_order_relaxed);
        *(void **)p = b->head;
        b->head = p;
        b->count++;
        b->nfree++;
        return;
    }
    hk_slab_free_slow(p);
}

#endif
