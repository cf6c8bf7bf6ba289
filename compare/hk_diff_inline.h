/* hk_diff_inline.h: the differential mode's fast path (the front door tail-calls it through
 * hk_diff_alloc_legacy / hk_diff_alloc_central, one function per executing path, so that
 * its registers never weigh on the legacy and central fast paths).
 *
 * It serves HAKMEM_ROUTER_DIFF=1 without a rollout (hk_front_mode HK_FRONT_DIFF_LEGACY or
 * HK_FRONT_DIFF_CENTRAL, the executing path fixed for the process). Per call: count it, and
 * on 1 call in HAKMEM_ROUTER_DIFF_SAMPLE per thread compute the legacy and the central
 * decision (each exactly once, pure), then carry out the executing path's decision. The
 * common compared call (a Tiny size for both paths, the same class, a block in the thread
 * cache) stays here; every other compared call (a divergence, a size above Tiny, an empty
 * cache, verbose logging) finishes out of line in hk_compare_decide() / hk_compare_finish(),
 * which records the divergence.
 *
 * The rollout, the A/A mode and a pending SIGUSR2 report take the out-of-line path
 * (hk_compare_alloc, HK_FRONT_COMPARE); the rollback latch switches the mode to
 * HK_FRONT_DIFF_LEGACY.
 */
#ifndef HK_DIFF_INLINE_H
#define HK_DIFF_INLINE_H

#include "hak_alloc_api.h"
#include "hk_router_inline.h"
#include "hk_slab.h"

/* HAKMEM_ROUTER_DIFF_SAMPLE, read at init (1: every call is compared). */
extern uint64_t hk_diff_sample;

/* A compared call above Tiny: both decisions (each once), then hk_compare_finish(). */
void *hk_compare_decide(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* A compared call past the fast case: the divergence record (when dl and dc differ), then
 * the executing path's decision carried out. */
void *hk_compare_finish(hk_decision dl, hk_decision dc, size_t size, hak_callsite_t site,
                        hk_entry_t entry, bool central);

HK_INLINE void *hk_diff_alloc(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_tc.tctr[central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY]++;
    hk_tc.tctr[HK_TCTR_DIFF_CALLS]++;
    /* 1 call in hk_diff_sample per thread: the hk_diff_sample-th, 2*hk_diff_sample-th, ... */
    if (++hk_tc.tctr[HK_TCTR_DIFF_TICK] < hk_diff_sample)
        return central ? hk_router_alloc_inline(size, site, entry)
                       : hk_legacy_alloc(size, site, entry);
    hk_tc.tctr[HK_TCTR_DIFF_TICK] = 0;
    /* Below both paths' Tiny bounds, both decisions are computed here (their out-of-line
     * parts are dead code then), so nothing is live across a call; above, hk_compare_decide
     * computes them. Either way each path decides exactly once. */
    const hk_table *t = hk_router_table;
    if (HK_UNLIKELY(size > HK_TINY_MAX || size >= t->tiny_end))
        return hk_compare_decide(size, site, entry, central);
    hk_tc.tctr[HK_TCTR_DIFF_COMPARED]++;
    hk_knobs k = hk_knobs_get();
    hk_decision dl = hk_legacy_decide(size, entry, k);
    hk_decision dc = hk_table_decide(t, size, entry, k);
    if (HK_LIKELY(dl.cls == dc.cls && (!central || hk_router_tiny_limit))) {
        void *p = hk_tiny_pop(dl.cls);
        if (HK_LIKELY(p != NULL))
            return p;
    }
    return hk_compare_finish(dl, dc, size, site, entry, central);
}

#endif
