/* hk_stats_snap.h: one snapshot of every statistic hakmem keeps, taken once and then
 * rendered: as text (HAKMEM_STATS=1, hak_stats_print, malloc_stats), as JSON
 * (HAKMEM_STATS=json, hak_stats_print_json), as glibc's XML (malloc_info) and as glibc's
 * structs (mallinfo, mallinfo2).
 *
 * Taking it reads each source under its own lock and releases it before the next (the
 * thread registry, the transfer caches, the page heap, the mmap box's atomics): nothing is
 * held while the snapshot is rendered or written, so a renderer may call stdio (which may
 * call malloc) safely. The figures of different sources are each consistent, not
 * simultaneous (another thread may allocate between two reads). Nothing here allocates.
 */
#ifndef HK_STATS_SNAP_H
#define HK_STATS_SNAP_H

#include "hak_router.h"
#include "hk_pageheap.h"
#include "hk_slab.h"
#include "hk_stats.h"
#include "hk_mmap.h"

typedef struct {
    uint64_t allocs, frees, bytes, live_bytes, fallbacks;
} hk_box_stats;

typedef struct {
    uint32_t size;              /* block size (0: no such class) */
    uint8_t box;                /* hak_box_t */
    int8_t decision_class;      /* the class as routing decisions and divergence reports name it */
    uint64_t allocs, frees;     /* blocks handed out and taken back, over every thread */
    uint64_t pages, page_bytes; /* the pages the class holds now and their bytes */
    uint32_t per_page;          /* blocks per page */
} hk_class_snap;

typedef struct {
    hk_class_snap cls[HK_NCLASSES]; /* by the block engine's class id; [0] is "no class" */
    hk_box_stats box[HAK_BOX_COUNT];
    uint64_t xfer_cached[HAK_BOX_COUNT]; /* bytes in the transfer caches */
    hk_ph_stats ph;
    hk_os_stats os;
    RouterHealth router;
    uint64_t tctr[HK_TCTR_COUNT]; /* hk_stats.h's per-thread counters, summed */
    uint64_t ctr[HK_CTR_COUNT];   /* hk_stats.h's global counters */
    size_t arena_reserved;        /* address space reserved for the small boxes */
    long purge_delay_ms;          /* in force now (HAKMEM_PURGE_DELAY_MS or mallopt) */
    hk_lockcount lock_xfer, lock_class, lock_heap; /* shared locks taken, and waited for */
} hk_stats_snapshot;

void hk_stats_snapshot_take(hk_stats_snapshot *s);

HK_INLINE uint64_t hk_class_live(const hk_class_snap *c)
{
    return c->allocs > c->frees ? c->allocs - c->frees : 0;
}
/* Blocks of the class that are free (in a cache, on a page's free list, or not yet carved):
 * what its pages hold minus what the program holds. */
HK_INLINE uint64_t hk_class_free_blocks(const hk_class_snap *c)
{
    uint64_t cap = c->pages * c->per_page, live = hk_class_live(c);
    return cap > live ? cap - live : 0;
}

/* Per-box totals over every thread (live or exited). */
void hk_stats_collect(hk_box_stats out[HAK_BOX_COUNT]);
/* HAKMEM_STATS=1 and hak_stats_print: the text report. */
void hk_stats_report(int fd);
/* HAKMEM_STATS=json and hak_stats_print_json: one JSON object ("hakmem-stats/1", README's
 * "Statistics as data") on one line. Returns false when a write failed. */
bool hk_stats_json(int fd);

#endif
