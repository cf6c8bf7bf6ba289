/* hk_stats.h: hakmem's counters, declared once.
 *
 * Per-class allocation and free counts live in the thread caches (hk_slab.h, plain
 * increments on the fast path, merged when read); the mmap box counts its own regions
 * (hk_mmap.h). The rare events counted here (fallbacks, ENOMEM) are relaxed atomic adds on slow
 * paths only. Readers (the front door) take one snapshot of everything (front/hk_stats_snap.h) and
 * render it: hk_stats_report() as text, hk_stats_json() as JSON, both written with write(2).
 */
#ifndef HK_STATS_H
#define HK_STATS_H

#include <stdatomic.h>

#include "hk_internal.h"

#define HK_COUNTER_TABLE(X)                                                                        \
    X(FALLBACK_TINY, "tiny requests served by the mmap box (fallback)")                            \
    X(FALLBACK_POOL, "pool requests served by the mmap box (fallback)")                            \
    X(FALLBACK_MID, "mid requests served by the mmap box (fallback)")                              \
    X(FALLBACK_L25, "l25 requests served by the mmap box (fallback)")                              \
    X(ENOMEM, "requests that returned NULL with ENOMEM")                                           \
    X(ROUTER_FAILURES, "Central Router: routed requests nothing could serve")                      \
    X(ROUTER_FALLBACKS, "Central Router: routed requests served by mmap instead of their box")

/* Per-thread counters, bumped on fast paths (plain increments in the thread's cache block,
 * hk_slab.h), merged when read. */
#define HK_THREAD_COUNTER_TABLE(X)                                                                 \
    X(SERVED_LEGACY, "allocations routed by the legacy path")                                      \
    X(SERVED_CENTRAL, "allocations routed by the Central Router")                                  \
    X(DIFF_CALLS, "allocations through the differential path")                                     \
    X(DIFF_COMPARED, "allocations whose two decisions were compared")                              \
    X(DIFF_TICK, "sampling clock of the differential path (not reported)")                         \
    X(POPS_OTHER, "thread-cache pops outside the front door's fast path (not reported)")           \
    X(DECIDE_LEGACY, "legacy decisions computed (test builds with HK_COUNT_DECISIONS only)")       \
    X(DECIDE_CENTRAL, "central decisions computed (test builds with HK_COUNT_DECISIONS only)")

typedef enum {
#define HK_TCTR_ENUM(id, help) HK_TCTR_##id,
    HK_THREAD_COUNTER_TABLE(HK_TCTR_ENUM)
#undef HK_TCTR_ENUM
        HK_TCTR_COUNT
} hk_thread_counter_id;

typedef enum {
#define HK_CTR_ENUM(id, help) HK_CTR_##id,
    HK_COUNTER_TABLE(HK_CTR_ENUM)
#undef HK_CTR_ENUM
        HK_CTR_COUNT
} hk_counter_id;

extern _Atomic uint64_t hk_counters[HK_CTR_COUNT];

HK_INLINE void hk_count(hk_counter_id id)
{
    atomic_fetch_add_explicit(&hk_counters[id], 1, memory_order_relaxed);
}
HK_INLINE uint64_t hk_counter(hk_counter_id id) { return atomic_load(&hk_counters[id]); }
/* The fallback counter of a small box (TINY, POOL, MID or L25). */
HK_INLINE void hk_count_fallback(hak_box_t box)
{
    hk_count((hk_counter_id)(HK_CTR_FALLBACK_TINY + (box - HAK_BOX_TINY)));
}

#endif
