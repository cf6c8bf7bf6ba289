/* hk_pageheap.h: the arena and its page heap, shared by every class of every small box.
 *
 * The arena is one reservation of address space (PROT_NONE), committed 4 MiB segment by
 * segment as it grows. It is cut into units of 8 KiB, and every page a size class carves
 * (8 KiB for Tiny up to 2 MiB for the biggest L25 blocks) is a run of 2^order units taken
 * from one heap: a binary buddy allocator over the committed segments, so a page is aligned
 * to its size (a block's page is its address rounded down) and a freed page coalesces with
 * its free buddy at once. A Tiny page freed by its class can thus become, with its
 * neighbours, a Pool, Mid or L25 page.
 *
 * Per unit, outside the memory it describes (an overflowing program cannot corrupt it):
 *   hk_pagecls[u]  the class of the page covering unit u (0: not in a class: free, or never
 *                  carved); free()'s owner lookup, so it is cleared when a page is released;
 *   unit tag       head of a free or allocated run and its order (the buddy's bookkeeping);
 *   hk_page desc   at a page's first unit: the class's per-page state (hk_slab.c), or the
 *                  free run's links, time and resident-unit count;
 *   dirty bit      a free unit that may still be resident (freed and not yet purged);
 *   last class     the class that used the unit last (statistics: pages moved between
 *                  classes).
 * hk_state (one byte per 16 B granule, hk_slab.h) is reset by the block engine when it
 * releases a page.
 *
 * Purge: free runs keep the time they were freed; runs free for HAKMEM_PURGE_DELAY_MS are
 * released with MADV_DONTNEED (their state-map and descriptor pages too), by hk_ph_purge from
 * the delayed-purge clock (hk_purge.h); and whenever the free-but-resident bytes exceed max(32
 * MiB, 1/8 of the bytes in pages), the oldest runs of 256 KiB or more are released at once (then
 * the oldest smaller ones: a madvise of up to 33 pages flushes the TLB page by page, a VM exit
 * each), their metadata a delay later by the clock, or by malloc_trim (but a whole segment's at
 * once), so a program that frees most of its memory and then idles gives it back without a timer
 * thread. The 32 MiB grows by the purged bytes taken again less than a second after their purge
 * (a program freeing and allocating in waves keeps its wave resident), up to 1 GiB, and shrinks
 * back a quarter of the way every second without one. A failed madvise leaves the run resident,
 * accounted as such and usable.
 */
#ifndef HK_PAGEHEAP_H
#define HK_PAGEHEAP_H

#include "hk_internal.h"
#include "hk_lockstat.h"

#define HK_UNIT_SHIFT 13 /* 8 KiB units: the smallest page, and the class map's granule */
#define HK_UNIT ((size_t)1 << HK_UNIT_SHIFT)
#define HK_SEG_SHIFT 22 /* 4 MiB segments: the commit granule and the largest run */
#define HK_SEG_SIZE ((size_t)1 << HK_SEG_SHIFT)
#define HK_MAX_ORDER (HK_SEG_SHIFT - HK_UNIT_SHIFT)
#define HK_GRAN_SHIFT 4 /* state granule: 16 B */
#define HK_NIL UINT32_MAX
#define HK_PH_CLASSES 64 /* class ids the statistics follow (hk_slab.h's HK_NCLASSES fits) */

/* A page's descriptor, at its first unit. Class pages are owned by their class's lock
 * (hk_slab.c); free runs by the page heap's lock. */
typedef struct hk_page {
    union {
        struct {
            void *free;      /* blocks given back to this page */
            uint16_t used;   /* blocks out of the page: live or in a thread/transfer cache */
            uint16_t carved; /* blocks cut from the page so far (the rest: never touched) */
            uint8_t queue;   /* occupancy queue (hk_slab.c) */
            uint8_t marks;   /* state bytes other than block starts were set (memalign) */
            uint8_t fresh;   /* not all resident when taken: cut a little at a time */
        } c;
        struct {
            uint32_t freed;        /* hk_purge_now() when it became free (the newest part) */
            uint32_t ndirty;       /* units maybe resident */
            uint32_t dnext, dprev; /* the dirty list, oldest first */
        } f;
    };
    uint32_t next, prev; /* class queue / order free list */
    uint8_t cls, order;
    /* A free run: hk_purge_now() when a part of it was purged last (NEVER_PURGED: no part
     * ever was, so taking it is no refault). In the padding: a descriptor stays 32 bytes. */
    uint32_t purged;
} hk_page;
_Static_assert(sizeof(hk_page) == 32, "a descriptor is 32 bytes");

extern HK_HIDDEN uintptr_t hk_arena_base;
extern HK_HIDDEN size_t hk_arena_size;
/* Granules (16 B) of the arena's committed prefix: the free fast path reads the state byte of
 * a pointer below it without further test (the state map beyond is not committed); grows
 * only. */
extern HK_HIDDEN uintptr_t hk_arena_grans;
/* Read it (relaxed: a pointer into a newer segment reached this thread through its own
 * synchronisation; a stale, smaller value only sends the pointer to the checked slow path). */
HK_INLINE uintptr_t hk_arena_grans_now(void)
{
    return __atomic_load_n(&hk_arena_grans, __ATOMIC_RELAXED);
}
extern HK_HIDDEN uint8_t *hk_pagecls;
extern HK_HIDDEN _Atomic uint8_t *hk_state;
/* hk_state biased by the arena base: the state byte of an arena address p is at
 * hk_state_bias + (p >> HK_GRAN_SHIFT), one load fewer on the allocation fast path. */
extern HK_HIDDEN uintptr_t hk_state_bias;
extern HK_HIDDEN hk_page *hk_pages;

/* Reserve the arena and its metadata (once). False when no address space at all could be
 * reserved: the small boxes then fall back to the mmap box. */
bool hk_ph_init(size_t arena_bytes);

/* Address space kept for the process's life: the arena and its metadata. */
size_t hk_ph_reserved_bytes(void);
/* p lies in the page heap's own metadata (state map, descriptors, class map...). */
bool hk_ph_owns_meta(const void *p);

/* The box of class cls (statistics per box). */
void hk_ph_set_class_box(unsigned cls, unsigned box);

/* A page of 2^order units for class cls (its class map set), or 0 when the arena is
 * exhausted. The memory may hold old contents (or zeros where purged); *resident says
 * whether all of it was resident (freed and not purged since). */
uintptr_t hk_ph_alloc(unsigned order, unsigned cls, bool *resident);
/* The same, with room to grow (`room`): cut from a larger free run when there is one, so
 * that the buddy above the page is free (realloc's growth: hk_ph_grow can take it next). */
uintptr_t hk_ph_alloc_room(unsigned order, unsigned cls, bool *resident, bool room);
/* Give a page back: its class map entries are cleared here, so a stale pointer into it is
 * refused (the caller has reset its state bytes: hk_ph_state_reset); the run coalesces with
 * its free buddies. */
void hk_ph_free(uintptr_t page, unsigned order);

/* realloc's shrink in place: the page of 2^order units at `page` keeps its first 2^to_order
 * units, now a page of class to_cls (its class map and statistics follow); the rest goes
 * back to the heap as free runs (the caller has reset their state bytes). */
void hk_ph_shrink(uintptr_t page, unsigned order, unsigned to_order, unsigned to_cls);

/* realloc's growth in place: the page of 2^order units at `page` becomes the first part of a
 * page of 2^to_order units of class to_cls, when the buddies above it are free runs (taken
 * whole: the block's memory is never moved). False, nothing done, otherwise. */
bool hk_ph_grow(uintptr_t page, unsigned order, unsigned to_order, unsigned to_cls);

/* Zero every state byte of [page, page + bytes) (only the words that are not zero, so that
 * state-map pages never touched stay untouched). */
void hk_ph_state_reset(uintptr_t page, size_t bytes);

HK_INLINE uint32_t hk_ph_unit(uintptr_t p)
{
    return (uint32_t)((p - hk_arena_base) >> HK_UNIT_SHIFT);
}
HK_INLINE hk_page *hk_ph_desc(uintptr_t page) { return &hk_pages[hk_ph_unit(page)]; }

/* Memory pressure: the free-but-resident bytes went over the budget, i.e. the program is
 * giving back a lot. Before purging, the page heap calls this hook (the block engine's: its
 * caches' blocks back to their pages and the classes' empty pages back to the heap, so
 * that what the program freed can go back to the OS too); one thread at a time, never
 * nested. Set once at init. */
void hk_ph_set_pressure_hook(void (*fn)(void));

/* The delayed purge (hk_purge_fn): release the runs due at `now` (all when `all`). */
uint32_t hk_ph_purge(uint32_t now, bool all);

/* Test hook: the next n page allocations fail as if the arena were exhausted. */
void hk_ph_inject_failures(int n);

/* The floor of the free-but-resident bound (32 MiB by default; the bound is the larger of
 * it, what the budget learnt, and 1/8 of the bytes in pages): mallopt(M_TRIM_THRESHOLD).
 * SIZE_MAX: never purge under pressure, only after the delay. */
void hk_ph_set_dirty_floor(size_t bytes);

typedef struct {
    size_t committed;     /* arena bytes committed (segments) */
    size_t in_pages;      /* bytes in pages of a class */
    size_t free_resident; /* free, maybe resident (not purged since freed) */
    size_t free_purged;   /* free and purged */
    uint64_t purged_bytes, purge_calls, purge_failures; /* cumulative */
    size_t dirty_budget; /* free resident bytes allowed now (learnt, see hk_pageheap.c) */
    uint64_t refaulted;  /* purged bytes taken again soon after their purge (cumulative) */
    uint64_t pages_alloc, pages_freed, pages_moved, pages_moved_box, bytes_moved;
    uint64_t pages_shrunk; /* pages whose tail went back to the heap (hk_ph_shrink) */
    uint64_t pages_grown;  /* pages that took their free buddies (hk_ph_grow) */
    size_t meta_reserved;  /* metadata address space */
    size_t meta_resident;  /* metadata bytes in use (estimate: touched, not purged) */
    uint64_t box_pages[8], box_bytes[8], box_purged[8]; /* per hak_box_t: now, now, cumulative */
    uint64_t box_peak[8]; /* per hak_box_t: the most bytes in its pages at any time */
    uint64_t class_pages[HK_PH_CLASSES], class_bytes[HK_PH_CLASSES]; /* per class id, now */
} hk_ph_stats;
void hk_ph_get_stats(hk_ph_stats *out);
/* Takings of the page heap's one lock by page allocations and frees (hk_lockstat.h). */
void hk_ph_lock_counts(hk_lockcount *out);

void hk_ph_atfork_prepare(void);
void hk_ph_atfork_parent(void);
void hk_ph_atfork_child(void);
/* In the parent, once every lock is let go after a fork: the purges frees asked for while the
 * fork held the purge lock (no free waits for it). */
void hk_ph_atfork_done(void);

#endif
