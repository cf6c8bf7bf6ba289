/* hk_compare.c: the differential path and the staged rollout (see hk_compare.h).
 *
 *   hk_compare_alloc(size, site, entry)
 *     -> executing path: rollback latched ? legacy
 *                      : rollout set ? bucket(site) < PCT (sticky, monotonic in PCT)
 *                      : the process's path (flag / HAKMEM_USE_CENTRAL_ROUTER)
 *     -> not sampled: that path's own allocation function (it decides once)
 *     -> sampled: legacy decision, central decision (each once, pure), record a divergence,
 *                 execute the executing path's decision (hk_execute / hk_router_execute)
 */
#include "hk_compare.h"

#include "hak_alloc_api.h"
#include "hk_diff_inline.h"
#include "hk_front.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_router_inline.h"
#include "hk_slab.h"

static int diff_mode;          /* 0 off, 1 legacy vs central, 2 A/A: legacy vs legacy */
uint64_t hk_diff_sample = 1;
static int rollout_pct = -1;   /* -1: no rollout */

bool hk_compare_init(void)
{
    diff_mode = (int)hk_opt(HK_OPT_ROUTER_DIFF);
    hk_diff_sample = (uint64_t)hk_opt(HK_OPT_ROUTER_DIFF_SAMPLE);
    rollout_pct = (int)hk_opt(HK_OPT_ROUTER_ROLLOUT);
    hk_divergence_init();
    return diff_mode != 0 || rollout_pct >= 0;
}

unsigned hk_compare_site_bucket(hak_callsite_t site)
{
    /* A fixed hash of the site alone: a site's bucket never changes, so raising PCT only
     * ever adds sites to the Central Router. */
    uint64_t h = (uint64_t)site * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return (unsigned)(h % 100);
}

bool hk_compare_inline_ok(void) { return diff_mode == 1 && rollout_pct < 0; }

bool hk_compare_site_central(hak_callsite_t site)
{
    if (HK_UNLIKELY(hk_rollback_latched))
        return false;
    if (rollout_pct >= 0)
        return hk_compare_site_bucket(site) < (unsigned)rollout_pct;
    return hk_central_active;
}

void *hk_compare_finish(hk_decision dl, hk_decision dc, size_t size, hak_callsite_t site,
                        hk_entry_t entry, bool central)
{
    if (HK_UNLIKELY(dl.box != dc.box || dl.cls != dc.cls))
        hk_divergence_record(dl, dc, size, site, entry, central);
    if (size > HK_MAX_REQUEST) /* both paths refuse it the same way */
        return central ? hk_router_alloc_slow(size, site, entry)
                       : hk_legacy_alloc_slow(size, site, entry);
    hk_decision d = central ? dc : dl;
    /* Tiny: the box's inline fast path (the router's too, unless it logs every decision:
     * hk_router_tiny_limit is 0 then). */
    if (d.box == HAK_BOX_TINY && (!central || hk_router_tiny_limit)) {
        void *p = hk_tiny_pop(d.cls);
        if (HK_LIKELY(p != NULL))
            return p;
    }
    return central ? hk_router_execute(d, size, site) : hk_execute(d, size, NULL);
}

void *hk_diff_alloc_legacy(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    return hk_diff_alloc(size, site, entry, false);
}

void *hk_diff_alloc_central(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    return hk_diff_alloc(size, site, entry, true);
}

/* A compared call out of line (sizes above Tiny; the rollout and A/A path): both decisions,
 * each once. */
void *hk_compare_decide(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_knobs k = hk_knobs_get();
    hk_decision dl = hk_legacy_decide(size, entry, k);
    hk_decision dc = diff_mode == 2 ? hk_legacy_decide(size, entry, k)
                                    : hk_table_decide(hk_router_table, size, entry, k);
    hk_tc.tctr[HK_TCTR_DIFF_COMPARED]++;
    return hk_compare_finish(dl, dc, size, site, entry, central);
}

HK_COLD static void report_now(void)
{
    hk_report_requested = 0;
    hk_divergence_write_report();
    hk_front_update_mode(); /* back to the inline differential path, when it applies */
}

void *hk_compare_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_UNLIKELY(hk_report_requested))
        report_now();
    bool central = hk_compare_site_central(site);
    hk_tc.tctr[central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY]++;
    hk_tc.tctr[HK_TCTR_DIFF_CALLS]++;
    /* 1 call in diff_sample per thread: the diff_sample-th, 2*diff_sample-th, ... */
    if (diff_mode && ++hk_tc.tctr[HK_TCTR_DIFF_TICK] >= hk_diff_sample) {
        hk_tc.tctr[HK_TCTR_DIFF_TICK] = 0;
        return hk_compare_decide(size, site, entry, central);
    }
    return central ? hk_router_alloc_inline(size, site, entry)
                   : hk_legacy_alloc(size, site, entry);
}
