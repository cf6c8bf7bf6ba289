/* hk_slab_internal.h: what the block engine's slow-path files share (hk_slab.c, hk_central.c,
 * hk_tcache.c, hk_block.c; outside core/engine only tests/check_engine.c includes it, to look
 * inside the transfer caches): the transfer caches' and central lists' types, the engine's
 * shared state (defined in hk_slab.c), and the slow paths one file calls in another. Lock
 * order: see hk_slab.c.
 */
#ifndef HK_SLAB_INTERNAL_H
#define HK_SLAB_INTERNAL_H

#include <pthread.h>

#include "hk_lockstat.h"
#include "hk_slab.h"

/* A transfer-cache shard: whole batches from thread caches, bounded (xfer_max blocks): a
 * stack of batches, each a chain of free blocks linked through their first word and ended by
 * NULL, the batches' first blocks and lengths kept outside the blocks, in the shard's slots
 * (a ring: the decay takes the coldest from the bottom), every batch but the top one a whole
 * batch of the class. A refill takes the top batch and a flush pushes one without reading any
 * block already there. (Walking a cold chain was one
 * cache miss after another, each waiting for the last: a load inside that walk had 3.5 % of
 * python3's samples in perf; the pops read the blocks later, one per allocation, and
 * prefetch the next. Kept in the blocks' second word, the batches' links made a write to
 * freed memory that hurts nothing elsewhere hand out a block inside a live one.) A slot is a
 * block's arena granule and its batch's length in one word. */
#define HK_XB_GRAN_BITS 40
/* The largest arena whose every granule a slot can name (hk_slab_init keeps to it). */
#define HK_XB_ARENA_MAX ((size_t)1 << (HK_XB_GRAN_BITS + HK_GRAN_SHIFT))
typedef struct {
    pthread_mutex_t lock;
    uint64_t *slot; /* slot_cap slots; the batches are slot_lo .. slot_lo + nb - 1 */
    uint32_t slot_cap, slot_lo, nb;
    uint32_t count;        /* blocks in the batches */
    uint32_t low;          /* fewest blocks held since the last decay: those were not needed */
    _Atomic uint32_t peek; /* count, for other threads' lock-free look (may be stale) */
    hk_lockstat ls;
} HK_ALIGNED_CL hk_xfer;

/* Shard x's batch i, from the bottom (its slot in the ring), and a slot's parts. */
HK_INLINE uint64_t *hk_xb_slot(const hk_xfer *x, uint32_t i)
{
    uint32_t k = x->slot_lo + i;
    return &x->slot[k >= x->slot_cap ? k - x->slot_cap : k];
}
HK_INLINE void *hk_xb_head(uint64_t v)
{
    return (void *)(hk_arena_base +
                    ((uintptr_t)(v & (((uint64_t)1 << HK_XB_GRAN_BITS) - 1)) << HK_GRAN_SHIFT));
}
HK_INLINE uint32_t hk_xb_len(uint64_t v) { return (uint32_t)(v >> HK_XB_GRAN_BITS); }
HK_INLINE uint64_t hk_xb_make(const void *head, uint32_t n)
{
    return (((uintptr_t)head - hk_arena_base) >> HK_GRAN_SHIFT) | ((uint64_t)n << HK_XB_GRAN_BITS);
}

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

extern HK_HIDDEN hk_xfer hk_slab_xfer[HK_NCLASSES][HK_NSHARDS];
extern HK_HIDDEN hk_central hk_slab_central[HK_NCLASSES];
/* Thread caches alive now (for statistics and fork), and the counts kept outside them: those
 * of exited threads, of blocks freed without a thread cache, and of realloc's shrinks in
 * place (a block of one class back, one of another out: hk_slab_resize). */
extern HK_HIDDEN pthread_mutex_t hk_slab_registry_lock;
extern HK_HIDDEN hk_tcache *hk_slab_registry;
extern HK_HIDDEN _Atomic uint64_t hk_slab_retired_nalloc[HK_NCLASSES];
extern HK_HIDDEN _Atomic uint64_t hk_slab_retired_nfree[HK_NCLASSES];
extern HK_HIDDEN pthread_key_t hk_slab_exit_key;
/* Held by a decay (hk_central.c) from start to end, and by fork. */
extern HK_HIDDEN pthread_mutex_t hk_slab_decay_lock;
/* The path the front door's fast path serves (hk_slab_fast_settle; registry_lock). */
extern HK_HIDDEN bool hk_slab_fast_central;

/* Debug builds (HK_ASSERT_LEVEL >= 2; hk_block.c): the n chained blocks from head are free
 * blocks of class cls (hk_slab_check_block); returns the nth (the chain's tail). */
HK_HIDDEN const void *hk_slab_check_chain(const void *head, uint32_t n, unsigned cls,
                                          const char *where);
/* A thread's bins (hk_slab.c). */
HK_HIDDEN uint64_t hk_slab_bin_nfree(const hk_tcache *t, unsigned cls);
HK_HIDDEN void hk_slab_bin_arm(unsigned cls);
/* Central lists and transfer caches (hk_central.c). */
HK_HIDDEN void *hk_slab_refill(unsigned cls, unsigned shard, uint32_t want, uint32_t *got);
HK_HIDDEN void hk_slab_xfer_put(unsigned cls, unsigned shard, void *head, void *tail, uint32_t n);
HK_HIDDEN void hk_slab_pressure(void);
/* The free of p, a RESIZED block of class cls (hk_slab_realloc_place): marked FREE, it waits
 * in a short quarantine (a double free is named there), then its page goes back to the
 * heap. */
HK_HIDDEN void hk_slab_resized_free(void *p, unsigned cls);
/* Thread caches (hk_tcache.c). */
HK_HIDDEN bool hk_slab_tcache_setup(void);
HK_HIDDEN void hk_slab_tcache_tick(uint32_t now);
HK_HIDDEN void hk_slab_tcache_destructor(void *arg);
HK_HIDDEN void hk_slab_flush_bin(unsigned cls, uint32_t keep);
/* Bin cls's bound now, in blocks. */
HK_INLINE uint32_t hk_slab_bin_lim(unsigned cls)
{
    return hk_tc.lim[cls] ? hk_tc.lim[cls] : hk_classes[cls].tc_max;
}
/* A bin's slow-path event: a refill (it ran empty) or a flush (it ran full). A refill, then a
 * flush, then a refill means the thread churns through more blocks of the class than the bin
 * holds, both ways: its bound grows by a batch, up to the class's tc_cap (a burst, all
 * allocations and then all frees, even twice over, does not grow it). Bins that go back whole
 * (idle, over budget, thread exit) start over. */
enum { HK_BIN_REFILL = 1, HK_BIN_FLUSH = 2 };
HK_HIDDEN void hk_slab_bin_event(unsigned cls, unsigned ev);
HK_HIDDEN void hk_slab_bin_reset(unsigned cls);
HK_HIDDEN void hk_slab_fold_thread(hk_tcache *t);
HK_HIDDEN void hk_slab_slow_tick_run(unsigned cls);

/* One slow path in 8 takes its turn at the purge clock, one in 64 checks the thread cache's
 * byte budget (no lock may be held). Between two checks a thread's cache can exceed the
 * budget by at most the bins' own bounds (hk_slab_bin_lim: 1 MiB or 128 blocks each at most). */
HK_INLINE void hk_slab_slow_tick(unsigned cls)
{
    hk_tc.active |= (uint64_t)1 << cls;
    if (HK_UNLIKELY((++hk_tc.ticks & 7) == 0))
        hk_slab_slow_tick_run(cls);
}

#endif
