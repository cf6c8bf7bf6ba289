/* hk_mode.c: the front door's mode machine: which path serves allocations (legacy, central,
 * the inline differential path, the out-of-line compare path, init), kept in one byte that
 * the fast path reads (hk_front.h), and the slow paths that dispatch on it.
 */
#include "hk_front.h"
#include "hk_tiny.h"

bool hk_compare_active;

/* From compare's SIGUSR2 handler (async-signal-safe): the inline differential modes do not
 * look at the report flag, so the next allocation goes out of line, where it is written. */
static void leave_inline(void)
{
    if (hk_front_mode == HK_FRONT_DIFF_LEGACY || hk_front_mode == HK_FRONT_DIFF_CENTRAL)
        hk_front_mode = HK_FRONT_COMPARE;
}

/* From the router, after its table or Tiny bound changed (after init, which sets the mode
 * itself). */
static void router_changed(void)
{
    if (hk_front_mode != HK_FRONT_INIT)
        hk_front_update_mode();
}

void hk_mode_register(void)
{
    hk_compare_hooks = (hk_compare_hooks_t){hk_front_update_mode, leave_inline};
    hk_router_front_hook = router_changed;
}

volatile unsigned char hk_front_mode = HK_FRONT_INIT;
hk_front_fast_t hk_front_fast = {0, hk_size_cls};

void *hk_front_other(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (hk_front_mode == HK_FRONT_COMPARE)
        return hk_compare_alloc(size, site, entry);
    hk_init();
    if (hk_front_mode == HK_FRONT_INIT) {
        /* An allocation from inside init itself: the build's default path serves it. */
        if (config_central_router)
            return hk_router_alloc_inline(size, site, entry);
        return hk_legacy_alloc(size, site, entry);
    }
    return hk_front_alloc(size, site, entry);
}

void *hk_front_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    switch (hk_front_mode) {
    case HK_FRONT_LEGACY:
        hk_tc.tctr[HK_TCTR_SERVED_LEGACY]++;
        return hk_legacy_alloc_slow(size, site, entry);
    case HK_FRONT_CENTRAL:
        hk_tc.tctr[HK_TCTR_SERVED_CENTRAL]++;
        return hk_router_alloc_slow(size, site, entry);
    case HK_FRONT_DIFF_CENTRAL: return hk_diff_alloc(size, site, entry, true);
    case HK_FRONT_DIFF_LEGACY: return hk_diff_alloc(size, site, entry, false);
    default: return hk_front_other(size, site, entry);
    }
}

void hk_front_update_mode(void)
{
    unsigned char m;
    if (!hk_compare_active)
        m = hk_central_active ? HK_FRONT_CENTRAL : HK_FRONT_LEGACY;
    else if (hk_report_requested || !hk_compare_inline_ok())
        m = HK_FRONT_COMPARE;
    else
        m = hk_compare_process_central() ? HK_FRONT_DIFF_CENTRAL : HK_FRONT_DIFF_LEGACY;
    /* The fast path: closed while the mode changes, its allocations so far settled to the
     * path that served them, then opened for the new path (legacy and central only). */
    hk_front_fast.end = 0;
    if (m <= HK_FRONT_CENTRAL)
        hk_slab_fast_settle(m == HK_FRONT_CENTRAL);
    hk_front_mode = m;
    /* A SIGUSR2 between the test above and the store: its mode switch was overwritten. */
    if ((m == HK_FRONT_DIFF_LEGACY || m == HK_FRONT_DIFF_CENTRAL) && hk_report_requested)
        hk_front_mode = HK_FRONT_COMPARE;
    if (m <= HK_FRONT_CENTRAL)
        hk_front_fast.end = hk_tiny_end_of[m];
}

void hk_front_check_fast(size_t size, hk_entry_t entry)
{
    hk_decision d = {HAK_BOX_TINY, (int)hk_front_fast.cls[size] - HK_CLS_TINY0};
    if (hk_front_mode == HK_FRONT_CENTRAL)
        hk_table_check(hk_router_table, size, entry, hk_knobs_get(), d);
    else if (config_legacy && hk_front_mode == HK_FRONT_LEGACY)
        hk_legacy_check(size, entry, hk_knobs_get(), d);
}

void hk_set_compare(bool on)
{
    hk_compare_active = on;
    hk_front_update_mode();
}

void hk_set_central(bool central)
{
    hk_central_active = central || !config_legacy; /* --disable-legacy: the router only */
    hk_front_update_mode();
}
