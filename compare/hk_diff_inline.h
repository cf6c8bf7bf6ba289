/* hk_diff_inline.h: the differential mode's fast path (the front door tail-calls it through
 * hk_diff_alloc_legacy / hk_diff_alloc_central, one function per executing path, so that its
 * registers never weigh on the legacy and central fast paths).
 *
 * It serves HAKMEM_ROUTER_DIFF=1 when the executing path is fixed for the process (no
 * rollout, or a rollout by process): hk_front_mode HK_FRONT_DIFF_LEGACY or
 * HK_FRONT_DIFF_CENTRAL. Per call: count it in the thread's slot, then
 *   - not sampled (the thread's skip count is not 0): count down; a Tiny size whose key was
 *     compared already is served from the thread cache (one table load tells both); anything
 *     else finishes in hk_diff_unsampled (the first call of a key is compared there);
 *   - sampled: draw the next skip, compute both decisions (each once, pure); the common case
 *     (a Tiny size, the same class, a block in the cache) stays here, every other one
 *     finishes out of line in hk_compare_finish / hk_compare_decide, which record the
 *     divergence and carry out the executing path's decision.
 * A new thread's first call, and threads without a slot of their own, go to hk_diff_setup.
 * The rollout by site or class, the A/A mode and a pending SIGUSR2 report take the
 * out-of-line path (hk_compare_alloc, HK_FRONT_COMPARE); the rollback latch switches the
 * mode to HK_FRONT_DIFF_LEGACY.
 */
#ifndef HK_DIFF_INLINE_H
#define HK_DIFF_INLINE_H

#include "hak_alloc_api.h"
#include "hk_compare.h"
#include "hk_router_inline.h"
#include "hk_sample.h"
#include "hk_slab.h"

/* A compared call's decisions (each path once), then hk_compare_finish(). */
void *hk_compare_decide(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* An unsampled call past the Tiny fast case: compared when its key is new, else executed. */
void *hk_diff_unsampled(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* A sampled call of a thread without a slot of its own (new, exiting, or past the slots). */
void *hk_diff_setup(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);

HK_INLINE void *hk_diff_alloc_body(size_t size, hak_callsite_t site, hk_entry_t entry,
                                   bool central)
{
    hk_diff_thread *t = &hk_dt;
    if (HK_LIKELY(t->skip != 0)) {
        t->skip--;
        hk_rec_bump(&t->slot->exec[central]);
        if (HK_LIKELY(size <= HK_TINY_MAX)) {
            unsigned c = hk_diff_fast[central][entry][size];
            if (HK_LIKELY(c != 0xFF)) {
                void *p = hk_tiny_pop((int)c);
                if (HK_LIKELY(p != NULL))
                    return p;
            }
        }
        return hk_diff_unsampled(size, site, entry, central);
    }
    if (HK_UNLIKELY(t->state != HK_DT_OWNED))
        return hk_diff_setup(size, site, entry, central);
    t->skip = hk_sample_next(t);
    hk_rec_bump(&t->slot->exec[central]);
    hk_rec_bump(&t->slot->compared);
    /* Below both paths' Tiny bounds both decisions are computed here (their out-of-line
     * parts are dead code then); above, hk_compare_decide computes them. Either way each
     * path decides exactly once. */
    const hk_table *tb = hk_router_table;
    if (HK_UNLIKELY(size > HK_TINY_MAX || size >= tb->tiny_end))
        return hk_compare_decide(size, site, entry, central);
    hk_knobs k = hk_knobs_get();
    hk_decision dl = hk_legacy_decide(size, entry, k);
    hk_decision dc = hk_table_decide(tb, size, entry, k);
    if (HK_LIKELY(dl.cls == dc.cls)) {
        unsigned c = hk_diff_fast[central][entry][size]; /* 0xFF: the key's first compare */
        if (HK_LIKELY(c != 0xFF)) {
            void *p = hk_tiny_pop((int)c);
            if (HK_LIKELY(p != NULL))
                return p;
        }
    }
    return hk_compare_finish(dl, dc, size, site, entry, central);
}

HK_INLINE void *hk_diff_alloc(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_tc.tctr[central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY]++;
    return hk_diff_alloc_body(size, site, entry, central);
}

#endif
