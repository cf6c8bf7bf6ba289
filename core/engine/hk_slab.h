/* hk_slab.h: the block engine under the Tiny, Pool, Mid and L25 boxes.
 *
 * One engine, four boxes: each box defines its size classes (hk_slab_define_class) and the
 * engine gives every class a per-thread cache, sharded transfer caches and pages taken from
 * the arena's shared page heap (hk_pageheap.h). The boxes decide sizes; the engine moves
 * blocks.
 *
 * Where a free block can be, from the program outwards:
 *   thread cache   a LIFO bin per class; the fast paths below (a pop or a push plus one state
 *                  byte store; no lock, no atomic read-modify-write). Bounded in blocks per
 *                  bin and in bytes per thread (checked on the slow paths);
 *   transfer cache four shards per class, each a LIFO of whole batches under a mutex,
 *                  bounded in bytes; what sits there unused for a purge delay moves on;
 *   its page       each page keeps its own free list and the count of its blocks held
 *                  outside it (`used`, updated only when blocks move between the caches and
 *                  the page, never on the fast path); pages with free blocks are queued by
 *                  occupancy and refills take the fullest first, so that the emptiest drain;
 *   page heap      a page whose last block comes back leaves its class: its class-map
 *                  entries are cleared, its state bytes reset, and its run goes back to the
 *                  shared page heap, where any class of any box can reuse it and from where
 *                  it is purged after the delay (hk_purge.h).
 *
 * Owner lookup (this is what makes free O(1) and lock-free): a pointer is ours iff
 * (p - hk_arena_base) < hk_arena_size; hk_pagecls[off >> 13] names the class of its page
 * (0: not in a class); hk_state[off >> 4] is one byte per 16-byte granule (the HK_ST_* states
 * below): a state at each block start and at a live aligned pointer, UNUSED everywhere else
 * (a byte per block, not a bit, so that two threads freeing neighbours never race on one
 * word). Metadata sits outside the blocks, so an overflowing program cannot corrupt it.
 */
#ifndef HK_SLAB_H
#define HK_SLAB_H

#include <stdatomic.h>

#include "hk_internal.h"
#include "hk_pageheap.h"
#include "hk_ptr.h"
#include "hk_stats.h"

#define HK_NSHARDS 4 /* transfer-cache shards per class */
/* A thread cache's budget in bytes over all its bins (each bin: 256 KiB or 128 blocks, up to
 * 1 MiB where the thread churns through the class: hk_slab_bin_event),
 * checked on one slow path in 64: over it, the biggest blocks go back first. */
#define HK_TC_BYTES ((size_t)4 << 20)

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
_Static_assert(HK_NCLASSES <= 64, "hk_tcache.active has a bit per class");
_Static_assert(HK_NCLASSES <= HK_PH_CLASSES, "the page heap's statistics follow every class");

/* State bytes. The invariant every free relies on: a class id is only ever at the start of
 * a block handed out at its start, and no state survives the use it marks (a block's reuse
 * overwrites its start's state; an aligned pointer's mark is cleared when it is freed; a
 * page leaving its class has its block starts reset), so that the fast free path's one test
 * (a class id at p's granule) accepts exactly the pointers hakmem returned, and learns the
 * block's class and liveness from one byte.
 *   UNUSED          neither a block start nor a live aligned pointer
 *   1 .. NCLASSES-1 the start of a live block of that class, handed out at its start
 *   FREE            the start of a free block
 *   ALIGNED         a live pointer handed out by memalign inside its block (not at its start)
 *   ALIGNED_BLOCK   the start of that block: padding, never a valid pointer
 *   FREE_ALIGNED+k  the start of a free block whose last use was the aligned pointer
 *                   align_up(start, 1 << k) (k = ctz of that pointer, 5..63): freeing that
 *                   pointer again is named a double free, with no mark left at the pointer
 *   RESIZED         the start of a live block that is a page of its own and that realloc
 *                   resized in place or gave a fresh page (hk_slab_realloc_place): its
 *                   class is its page's; never cached: freed (the slow path), it waits FREE
 *                   in a short quarantine, then its page goes back to the page heap, where it
 *                   coalesces with its buddies
 * Every state that is not a class id is above the class ids. */
enum {
    HK_ST_UNUSED = 0,
    HK_ST_FREE = 0x40,
    HK_ST_ALIGNED = 0x41,
    HK_ST_ALIGNED_BLOCK = 0x42,
    HK_ST_RESIZED = 0x43,
    HK_ST_FREE_ALIGNED = 0x80, /* + k */
};
_Static_assert((int)HK_NCLASSES <= (int)HK_ST_FREE,
               "a class id is a state byte below every other state");
/* A live block's start (its state is its class id). */
HK_INLINE bool hk_st_live(unsigned st) { return st - 1 < HK_NCLASSES - 1; }
/* A free block's start (FREE, or FREE_ALIGNED + k). */
HK_INLINE bool hk_st_free(unsigned st) { return st == HK_ST_FREE || st >= HK_ST_FREE_ALIGNED; }

typedef struct {
    uint32_t bsize;     /* block size */
    uint8_t box;        /* hak_box_t */
    uint8_t page_shift; /* log2 of the page this class carves (bytes) */
    uint16_t tc_max;    /* a thread-cache bin's bound to begin with (blocks) */
    uint16_t tc_cap;    /* ... and the most it grows to (hk_slab_bin_event) */
    uint16_t batch;     /* blocks moved per refill / flush */
    uint16_t cap;       /* blocks per page */
    uint16_t carve_max; /* blocks cut from a fresh page per refill (16 KiB, at least 1) */
    uint32_t xfer_max;  /* transfer-cache capacity per shard (blocks) */
    uint32_t qmul;      /* occupancy queue of a page: 1 + (used * qmul >> 16) */
    uint32_t colors;    /* first-block offsets a page's slack allows (hk_page_first), >= 1 */
} hk_class_info;

/* A thread's cache: per class a LIFO bin of free blocks linked through their first word.
 * The fast paths touch only the first three arrays, indexed by class id (head first: its
 * offset is 0), so that each access is one instruction with a scaled index:
 *   head[c]     the bin's first block;
 *   nalloc[c]   blocks popped (statistics);
 *   fleft[s]    frees the fast path may still push into bin s before the slow path looks at
 *               the bin's bound, indexed by the freed block's state byte: it is <= 0 for every
 *               state that is not a class id, so that one decrement-and-sign test rejects a
 *               pointer that is not a live block and a full bin alike.
 * The count of a bin is never kept on a fast path: count = in + nfree - nalloc, where `in`
 * (blocks refilled minus flushed) changes only on slow paths and nfree = nfree0 + fstart -
 * fleft. Arming a bin (bin_arm in hk_slab.c) sets fleft to the room left below its bound, so
 * the bound holds exactly: frees only add to the count. */
#define HK_NSTATES 256
typedef struct hk_tcache {
    void *head[HK_NCLASSES];
    uint64_t nalloc[HK_NCLASSES];
    int32_t fleft[HK_NSTATES];
    /* slow paths only */
    int64_t in[HK_NCLASSES];
    uint64_t nfree0[HK_NCLASSES];
    int32_t fstart[HK_NCLASSES];
    uint16_t lim[HK_NCLASSES];    /* bin c's bound now (0: the class's tc_max) */
    uint8_t ev[HK_NCLASSES];      /* bin c's last two slow-path events (2 bits each) */
    uint64_t tctr[HK_TCTR_COUNT]; /* hk_stats.h's per-thread counters */
    uint64_t fast_mark;           /* fast-path allocations already attributed to a path */
    uint32_t shard;
    uint32_t state; /* 0 new, 1 live, 2 retired (thread exiting: caching off) */
    /* realloc or memalign under way (front/hakmem.c): the size it allocates (0: none) and its
     * site, taken by hk_execute for the allocation of that size from that site only (a
     * nested one, say a signal handler's malloc, comes from another site); realloc's block,
     * and what it placed where the block was or by mremap (no copy); memalign's alignment,
     * for the mmap box */
    size_t pending_size;
    hak_callsite_t pending_site;
    void *realloc_old;
    void *realloc_placed;
    size_t memalign_align;
    uint32_t ticks;   /* slow-path events, for the purge clock's check */
    uint32_t gc_last; /* the idle bins' last collection (hk_purge_now() time) */
    uint64_t active;  /* bit c: bin c had a slow-path event since the last collection */
    struct hk_tcache *next, *prev;
} hk_tcache;

extern HK_TLS HK_HIDDEN hk_tcache hk_tc;
/* The thread's cache as a plain pointer: its address computed once (%fs:0 plus the
 * variable's offset), so that the fast paths address its arrays as base + index, not as
 * %fs-relative operands with an index. The empty asm keeps the compiler from folding the
 * address back into %fs operands. On the Intel Xeon of final-bench21 the %fs-indexed pop's
 * counter update and free's bin-room decrement held most of malloc's and free's samples
 * (perf annotate of bench_tiny_hot 32 100000000), and this took bench_tiny_hot from 0.80
 * of mimalloc towards it, for two more instructions per malloc+free pair (README). */
HK_INLINE hk_tcache *hk_tc_self(void)
{
    hk_tcache *t = &hk_tc;
    __asm__("" : "+r"(t));
    return t;
}
extern HK_HIDDEN hk_class_info hk_classes[HK_NCLASSES];

/* Where the first block of a page of class ci at address a starts: a + a colour, a multiple
 * of HK_COLOR_STEP inside the page's slack (its bytes past the last whole block), taken from
 * the page's address. */
#define HK_COLOR_STEP 64u
HK_INLINE uintptr_t hk_page_first(uintptr_t a, const hk_class_info *ci)
{
    return a + ((a >> ci->page_shift) % ci->colors) * HK_COLOR_STEP;
}

/* Reserve the arena (once, from hakmem's init). Returns false when no address space at all
 * could be reserved: every small box then falls back to the mmap box. */
bool hk_slab_init(size_t arena_bytes);
/* Class cls of box `box` has blocks of bsize bytes; the engine chooses its page size (8 KiB
 * up: at least 8 blocks and at most 1/16 wasted; blocks of 64 KiB and more get a page each). */
void hk_slab_define_class(unsigned cls, hak_box_t box, uint32_t bsize);

void *hk_slab_alloc_slow(unsigned cls);
/* The fast free path's miss: frees p when it is LIVE, else names the fault and aborts. */
void hk_slab_free_slow(void *p);

/* Give class `cls` one fresh page (carved into blocks on demand; `shard` is unused). True
 * only on success: the caller counts successes (Pool prewarm). */
bool hk_slab_refill_page(unsigned cls, unsigned shard);
/* realloc, for a block that is a page of its own (L25's): `old`, such a live block, is to
 * become a block of class `to`. When `to`'s blocks are pages of their own too:
 *   - in place: smaller, its page gives its tail back to the page heap; larger, its page takes
 *     the free buddies above it when they are free runs: returns `old`;
 *   - else, larger: a fresh page from the page heap (whose split leaves the buddy above it
 *     free, for the next growth to take): returns it, and the caller copies;
 *   - else NULL (the caller allocates as usual).
 * Such blocks are marked RESIZED and never cached: freed, the page goes back to the heap
 * after a short quarantine (hk_slab_resized_free). A block shrunk in place and then cached by its new class kept the heap from
 * rebuilding the larger run it was cut from, so every growth took a new one:
 * bench_realloc 80 1048576 42's arena grew from 16 to 122 MiB, 3 times slower than copying.
 * The per-class counts see a block of the old class freed and one of `to` allocated. */
void *hk_slab_realloc_place(void *old, unsigned to);
/* Test hook: the next n page acquisitions fail as if the arena were exhausted. */
HK_INLINE void hk_slab_inject_page_failures(int n) { hk_ph_inject_failures(n); }

/* Owner queries for a pointer inside the arena. */
hak_box_t hk_slab_box_of(const void *p); /* HAK_BOX_NONE unless a live block (or aligned ptr) */
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
/* malloc_trim: the calling thread's cache and every transfer cache go back to their pages,
 * empty pages to the page heap, every free run and the pages inside free blocks of 8 KiB or
 * more are purged. Returns the bytes released. */
size_t hk_slab_trim(void);
/* The delayed purge's work for the engine (hk_purge_fn): transfer-cache blocks unused for a
 * delay go back to their pages, then the page heap purges its due runs. */
uint32_t hk_slab_purge(uint32_t now, bool all);
/* Statistics: per-class allocation and free counts over all threads, live or exited. */
void hk_slab_class_counts(unsigned cls, uint64_t *nalloc, uint64_t *nfree);
uint64_t hk_slab_thread_counter(hk_thread_counter_id id);
/* Count one event of a per-thread counter (hk_stats.h) for the calling thread: in its cache
 * block while the thread is registered (merged when read, folded at its exit); else (a thread
 * that never set up a cache, or whose cache retired) into the totals directly. No call: the
 * differential mode's paths that count stay leaf functions and tail calls. */
extern HK_HIDDEN _Atomic uint64_t hk_slab_retired_tctr[HK_TCTR_COUNT];
HK_INLINE void hk_slab_count(hk_thread_counter_id id)
{
    if (HK_LIKELY(hk_tc.state == 1))
        hk_tc.tctr[id]++;
    else
        atomic_fetch_add_explicit(&hk_slab_retired_tctr[id], 1, memory_order_relaxed);
}
size_t hk_slab_committed_bytes(void);
/* Bytes held in thread caches (all threads) and transfer caches, per box. */
void hk_slab_cached_bytes(uint64_t out[HAK_BOX_COUNT]);
/* Takings of the transfer-cache shard locks and of the class (page list) locks, summed over
 * every class (hk_lockstat.h). */
void hk_slab_lock_counts(hk_lockcount *xfer, hk_lockcount *cls);

HK_INLINE bool hk_slab_owns(const void *p) { return (uintptr_t)p - hk_arena_base < hk_arena_size; }

/* Debug builds' check of a block that a state transition moves (HK_ASSERT_LEVEL >= 2,
 * hk_internal.h; hk_block.c): p is the start of a block of class cls (in the arena, in a page
 * of that class, at a block boundary) and its state byte is free (want_free) or cls (live);
 * else one line naming `where` and the fault, and abort. The fast paths below call it only
 * in debug builds: at level 1 it is compiled out. */
void hk_slab_check_block(const void *p, unsigned cls, bool want_free, const char *where);

/* Blocks of the calling thread's bin cls (slow paths and tests). */
HK_INLINE uint64_t hk_slab_bin_count(unsigned cls)
{
    uint64_t nfree = hk_tc.nfree0[cls] + (uint64_t)(int64_t)(hk_tc.fstart[cls] - hk_tc.fleft[cls]);
    return (uint64_t)hk_tc.in[cls] + nfree - hk_tc.nalloc[cls];
}

/* The state byte of arena address p, reached from p itself (one load fewer). */
HK_INLINE _Atomic uint8_t *hk_slab_state_of(const void *p)
{
    return (_Atomic uint8_t *)(hk_state_bias + ((uintptr_t)p >> HK_GRAN_SHIFT));
}

/* Unlink p, the first block of bin cls, and count it (the pop but for p's state byte). The
 * next block's line is prefetched: a bin refilled from a transfer cache holds blocks no
 * thread touched for a while, and each pop's load of the next link would otherwise wait on
 * a miss (README, "What the run says": "Transfer caches, a cold walk"). */
HK_INLINE void hk_slab_unlink_in(hk_tcache *t, unsigned cls, void *p)
{
    void *next = *(void **)p;
    t->head[cls] = next;
    __builtin_prefetch(next);
    t->nalloc[cls]++;
}
HK_INLINE void hk_slab_unlink(unsigned cls, void *p) { hk_slab_unlink_in(&hk_tc, cls, p); }

/* The pop of the front door's fast path (front/hk_front.h): a block of class cls from the
 * thread's cache, or NULL when the bin is empty. Its pops are counted only in nalloc; every
 * other caller pops with hk_slab_pop, which counts them apart, so that the front door's own
 * allocations are known without a counter of their own (hk_slab_fast_allocs). */
HK_INLINE void *hk_slab_pop_fast(unsigned cls)
{
    hk_tcache *t = hk_tc_self();
    void *p = t->head[cls];
    if (HK_LIKELY(p != NULL)) {
        if (HK_ASSERT_LEVEL >= 2) { /* FREE -> ALLOC: a free block of its bin's class */
            hk_slab_check_block(p, cls, true, "thread cache pop");
            if (*(void **)p)
                hk_slab_check_block(*(void **)p, cls, true, "thread cache bin link");
        }
        hk_slab_unlink_in(t, cls, p);
        atomic_store_explicit(hk_slab_state_of(p), (uint8_t)cls, memory_order_relaxed);
    }
    return p;
}

/* Pop a block of class cls from the thread's cache, or NULL when the bin is empty (the
 * caller takes its slow path; nothing here calls out, so callers can tail-call theirs). */
HK_INLINE void *hk_slab_pop(unsigned cls)
{
    void *p = hk_slab_pop_fast(cls);
    if (HK_LIKELY(p != NULL))
        hk_tc.tctr[HK_TCTR_POPS_OTHER]++;
    return p;
}

HK_INLINE void *hk_slab_alloc(unsigned cls)
{
    void *p = hk_slab_pop(cls);
    if (HK_LIKELY(p != NULL))
        return p;
    return hk_slab_alloc_slow(cls);
}

/* Allocations the front door's fast path served in the calling thread's cache since its
 * start (every pop but the counted others). */
uint64_t hk_slab_fast_allocs(const hk_tcache *t);
/* Attribute the fast path's allocations so far to the path that served them (before the
 * path of the front door changes: hk_front.h). */
void hk_slab_fast_settle(bool central);

/* The free fast path's miss: fleft[state of p] was decremented; restores it, then frees p
 * (a full bin, an aligned pointer, a thread without a cache) or names the fault. */
void hk_slab_free_miss(void *p);

/* Free p, which lies in the arena, 16-byte aligned, at granule g (its offset >> 4): a push
 * onto the bin its state byte names, when that is a live block's class and the bin has
 * room; else the slow path. */
HK_INLINE void hk_slab_free_at(void *p, uintptr_t g)
{
    _Atomic uint8_t *st = &hk_state[g];
    unsigned s = atomic_load_explicit(st, memory_order_relaxed);
    hk_tcache *t = hk_tc_self();
    if (HK_LIKELY(--t->fleft[s] >= 0)) {
        if (HK_ASSERT_LEVEL >= 2) /* ALLOC -> FREE: a live block start of its page's class */
            hk_slab_check_block(p, s, false, "thread cache push");
        atomic_store_explicit(st, HK_ST_FREE, memory_order_relaxed);
        *(void **)p = t->head[s];
        t->head[s] = p;
        return;
    }
    hk_slab_free_miss(p);
}

/* The granule of p when p is in the arena and 16-byte aligned, else a value >= hk_arena_grans:
 * the offset rotated right by 4 bits, so that misaligned low bits land on top (one compare
 * tests both). */
HK_INLINE uintptr_t hk_slab_granule(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    return (off >> HK_GRAN_SHIFT) | (off << (64 - HK_GRAN_SHIFT));
}

/* The fast free path's whole test of p (at arena offset off), for the slow paths and tests:
 * a live block handed out at its start (the invariant of the state map, above). The fast
 * path itself tests the same byte through fleft (hk_slab_free_at). */
HK_INLINE bool hk_slab_fast_ok(uintptr_t off)
{
    return (off & (HK_MIN_ALIGN - 1)) == 0 &&
           hk_st_live(atomic_load_explicit(&hk_state[off >> HK_GRAN_SHIFT], memory_order_relaxed));
}

/* p must satisfy hk_slab_owns(p). */
HK_INLINE void hk_slab_free(void *p)
{
    uintptr_t g = hk_slab_granule(p);
    if (HK_LIKELY(g < hk_arena_grans_now())) {
        hk_slab_free_at(p, g);
        return;
    }
    hk_slab_free_slow(p); /* misaligned: named there */
}

#endif
