/* hk_diff_inline.h: the differential mode's fast path (the front door tail-calls it through
 * hk_diff_alloc_{legacy,central}_{wrap,api}, one function per executing path and entry, so that its
 * registers never weigh on the legacy and central fast paths).
 *
 * It serves HAKMEM_ROUTER_DIFF=1 when the executing path is fixed for the process (no
 * rollout, or a rollout by process): hk_front_mode HK_FRONT_DIFF_LEGACY or
 * HK_FRONT_DIFF_CENTRAL. Per call: count it in the thread's slot and served counter, then
 *   - not sampled (the thread's skip count is not 0): count down; a Tiny size whose key was
 *     compared already is served from the thread cache (one table load tells both); anything
 *     else finishes in hk_diff_unsampled (the first call of a key is compared there);
 *   - sampled: draw the next skip, compute both decisions (each once, pure); the common case
 *     (a Tiny size, the same class, a block in the cache) stays here, every other one
 *     finishes out of line in hk_compare_finish / hk_compare_decide, which record the
 *     divergence and carry out the executing path's decision.
 * With 1 in N > 1, a sampled call draws the next skip out of line (hk_diff_sampled), as do a
 * new thread's first call and threads without a slot of their own.
 * The rollout by site or class, the A/A mode and a pending SIGUSR2 report take the
 * out-of-line path (hk_compare_alloc, HK_FRONT_COMPARE); the rollback latch switches the
 * mode to HK_FRONT_DIFF_LEGACY.
 */
#ifndef HK_DIFF_INLINE_H
#define HK_DIFF_INLINE_H

#include "hk_legacy.h"
#include "hk_compare.h"
#include "hk_router_inline.h"
#include "hk_sample.h"
#include "hk_slab.h"

/* A compared call's decisions (each path once), then hk_compare_finish(). */
void *hk_compare_decide(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* An unsampled call past the fast cases: compared when its key is new, else executed. */
void *hk_diff_unsampled(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* An unsampled call above Tiny whose key was compared already: the front door's second class
 * table (hk_compare_hooks.span_alloc), else the executing path's own slow path. */
void *hk_diff_unsampled_seen(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);
/* A sampled call: counted, the next skip drawn, both decisions compared (the common Tiny
 * case without further calls), executed. Also a new thread's first call, and every call of
 * a thread without a slot of its own. One function per executing path and entry. */
void *hk_diff_sampled_legacy_wrap(size_t size, hak_callsite_t site);
void *hk_diff_sampled_central_wrap(size_t size, hak_callsite_t site);
void *hk_diff_sampled_legacy_api(size_t size, hak_callsite_t site);
void *hk_diff_sampled_central_api(size_t size, hak_callsite_t site);
void *hk_diff_sampled_slow(size_t size, hak_callsite_t site, hk_entry_t entry, bool central);

/* Inline in the front door (front/hk_front.h). Every exit that is not a Tiny block is a tail
 * call with the arguments as they came, so it needs no callee-saved register: the legacy
 * and central fast paths next to it stay as they are. */
HK_INLINE void *hk_diff_alloc(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_diff_thread *t = &hk_dt;
    if (HK_UNLIKELY(--t->skip < 0)) { /* one "sub $1, mem; js" */
        if (central)
            return entry == HK_ENTRY_WRAP ? hk_diff_sampled_central_wrap(size, site)
                                          : hk_diff_sampled_central_api(size, site);
        return entry == HK_ENTRY_WRAP ? hk_diff_sampled_legacy_wrap(size, site)
                                      : hk_diff_sampled_legacy_api(size, site);
    }
    hk_thread_counter_id served = central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY;
    hk_rec_bump(&t->slot->exec[central]);
    if (HK_LIKELY(size <= HK_TINY_MAX)) {
        unsigned c = __atomic_load_n(&hk_diff_fast[central][entry][size], __ATOMIC_RELAXED);
        if (HK_LIKELY(c != 0xFF)) {
            /* a counted pop: the statistics count each call as its path's, exactly, even
             * while another thread latches the rollback */
            void *p = hk_tiny_pop((int)c);
            if (HK_LIKELY(p != NULL)) {
                hk_tc.tctr[served]++; /* a block of its cache: the thread is registered */
                return p;
            }
        }
    } else if (HK_LIKELY(size <= (size_t)HK_DIFF_BLOCKS * HK_DIFF_BLOCK &&
                         __atomic_load_n(&hk_diff_seen_block[entry][hk_diff_block(size)],
                                         __ATOMIC_RELAXED))) {
        /* a key compared already: executed, deciding once at most */
        hk_slab_count(served);
        return hk_diff_unsampled_seen(size, site, entry, central);
    }
    hk_slab_count(served);
    return hk_diff_unsampled(size, site, entry, central);
}

#endif
