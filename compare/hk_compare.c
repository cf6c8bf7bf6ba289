/* hk_compare.c: the differential path and the staged rollout (see hk_compare.h).
 *
 *   hk_diff_alloc (inline in the front door), hk_diff_sampled_{legacy,central}_{wrap,api}
 *                                                     executing path fixed for the process
 *   hk_compare_alloc(size, site, entry)               everything else
 *     -> executing path: rollback latched ? legacy
 *                      : rollout ? bucket(key) < PCT, key = site | size class | process
 *                                  (a fixed hash of the key: raising PCT only adds keys)
 *                      : the process's path (flag / HAKMEM_USE_CENTRAL_ROUTER)
 *     -> compared when sampled (1 in N at random) or the first call of its size key
 *        -> each path's decision once (the executing path's twice in the A/A mode),
 *           hk_compare_finish: record a divergence, mark the key, execute the executing
 *           path's decision (hk_execute / hk_router_execute)
 *     -> else the executing path's own allocation function (it decides once)
 */
#include "hk_compare.h"

#include <string.h>

#include "hk_legacy.h"
#include "hk_diff_inline.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_record.h"
#include "hk_router_inline.h"
#include "hk_sample.h"
#include "hk_site.h"
#include "hk_slab.h"

static int diff_mode;        /* 0 off, 1 legacy vs central, 2 A/A: the executing path twice */
static int rollout_pct = -1; /* -1: no rollout */
static int rollout_by;       /* HK_ROLLOUT_BY_* */
static uint64_t salt;
static int process_rollout = -1; /* rollout by process: 1 central, 0 legacy; -1 other */
/* Per size interval under a rollout by class: executes on the Central Router. */
static bool class_central[HK_SIZEKEY_MAX];

static void table_changed(void)
{
    hk_sample_table_changed();
    for (unsigned i = 0; i < hk_keys.n; i++)
        class_central[i] = hk_site_hash_size(hk_keys.lo[i], salt) % 100 < (unsigned)rollout_pct;
}

bool hk_compare_init(void)
{
    diff_mode = (int)hk_opt(HK_OPT_ROUTER_DIFF);
    rollout_pct = (int)hk_opt(HK_OPT_ROUTER_ROLLOUT);
    rollout_by = (int)hk_opt(HK_OPT_ROUTER_ROLLOUT_BY);
    salt = (uint64_t)hk_opt(HK_OPT_ROUTER_ROLLOUT_SALT);
    bool active = diff_mode != 0 || rollout_pct >= 0;
    process_rollout = -1;
    if (rollout_pct >= 0 && rollout_by == HK_ROLLOUT_BY_PROCESS)
        process_rollout = hk_compare_process_bucket() < (unsigned)rollout_pct;
    if (active) {
        hk_site_init();
        hk_divergence_init(); /* the record storage (once), and the report path */
        hk_sample_init(hk_opt(HK_OPT_ROUTER_DIFF_SAMPLE));
        table_changed();
        hk_knobs k = hk_knobs_get();
        const char *table = hk_opt_str(HK_OPT_ROUTER_TABLE);
        /* The table in force, by name; "builtin: ..." when the table asked for was not loaded
         * (hakmem-divergence fails such a process's evidence: it compared another table). A
         * file's name never reads as those: one named "builtin..." is recorded "./builtin...",
         * and one too long for the field keeps its end, after "...". */
        static char name[HK_REC_TABLE_NAME];
        size_t tl = table ? strlen(table) : 0;
        if (hk_router_table != &hk_table_builtin && table && tl >= sizeof name)
            hk_fmt(name, sizeof name, "...%s", table + tl - (sizeof name - 4));
        else if (hk_router_table != &hk_table_builtin && table)
            hk_fmt(name, sizeof name, "%s%s", strncmp(table, "builtin", 7) ? "" : "./", table);
        else if (table && *table && hk_router_table_error())
            hk_fmt(name, sizeof name, "builtin: HAKMEM_ROUTER_TABLE=%s not loaded (%s)", table,
                   hk_router_table_error());
        else
            hk_fmt(name, sizeof name, "builtin");
        int executing = rollout_pct >= 0 && rollout_by != HK_ROLLOUT_BY_PROCESS
                            ? HK_REC_EXEC_ROLLOUT
                        : hk_compare_process_central() ? HK_REC_EXEC_CENTRAL
                                                       : HK_REC_EXEC_LEGACY;
        hk_record_set_mode(diff_mode, diff_mode == 2, hk_opt(HK_OPT_ROUTER_DIFF_SAMPLE),
                           rollout_pct, rollout_by, salt, hk_opt(HK_OPT_USE_CENTRAL_ROUTER),
                           config_central_router, executing, hk_opt(HK_OPT_ROUTER_ROLLBACK), k,
                           name);
    }
    /* The size keys and the per-class rollout follow the table (tests change it). */
    hk_router_changed_hook = active ? table_changed : NULL;
    return active;
}

unsigned hk_compare_site_bucket(hak_callsite_t site)
{
    return (unsigned)(hk_site_hash(hk_site_key(site), salt) % 100);
}

unsigned hk_compare_process_bucket(void) { return (unsigned)(hk_site_hash_process(salt) % 100); }

bool hk_compare_inline_ok(void)
{
    return diff_mode == 1 && (rollout_pct < 0 || rollout_by == HK_ROLLOUT_BY_PROCESS);
}

bool hk_compare_process_central(void)
{
    if (hk_rollback_latched)
        return false;
    return process_rollout >= 0 ? process_rollout == 1 : hk_central_active;
}

bool hk_compare_central(hak_callsite_t site, size_t size)
{
    if (HK_UNLIKELY(hk_rollback_latched))
        return false;
    if (rollout_pct < 0 || rollout_by == HK_ROLLOUT_BY_PROCESS)
        return hk_compare_process_central();
    if (rollout_by == HK_ROLLOUT_BY_CLASS)
        return class_central[hk_sizekey_of(&hk_keys, size)];
    return hk_compare_site_bucket(site) < (unsigned)rollout_pct;
}

/* A compared call past its comparison: mark the key, carry out d (the executing path's
 * decision). */
HK_INLINE void *agreed(hk_decision d, size_t size, hak_callsite_t site, hk_entry_t entry,
                       bool central)
{
    hk_key_mark(size, entry);
    if (size > HK_MAX_REQUEST) /* both paths refuse it the same way */
        return central ? hk_router_alloc_slow(size, site, entry)
                       : hk_legacy_alloc_slow(size, site, entry);
    /* Tiny: the box's inline fast path (the router's too, unless it logs every decision:
     * hk_router_tiny_limit is 0 then). */
    if (d.box == HAK_BOX_TINY && (!central || hk_router_tiny_limit)) {
        void *p = hk_tiny_pop(d.cls);
        if (HK_LIKELY(p != NULL))
            return p;
    }
    return central ? hk_router_execute(d, size, site) : hk_execute(d, size, site, NULL);
}

void *hk_compare_agreed(hk_decision d, size_t size, hak_callsite_t site, hk_entry_t entry,
                        bool central)
{
    return agreed(d, size, site, entry, central);
}

void *hk_compare_finish(hk_decision dl, hk_decision dc, size_t size, hak_callsite_t site,
                        hk_entry_t entry, bool central)
{
    if (HK_UNLIKELY(dl.box != dc.box || dl.cls != dc.cls))
        hk_divergence_record(dl, dc, size, site, entry, central);
    return agreed(central ? dc : dl, size, site, entry, central);
}

/* A compared call out of line: both decisions, each once. A/A compares the executing path
 * with itself, so it never changes what executes. */
void *hk_compare_decide(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_knobs k = hk_knobs_get();
    hk_decision dl, dc;
    if (HK_UNLIKELY(diff_mode == 2)) {
        if (central) {
            dl = hk_table_decide(hk_router_table, size, entry, k);
            dc = hk_table_decide(hk_router_table, size, entry, k);
        } else {
            dl = hk_legacy_decide(size, entry, k);
            dc = hk_legacy_decide(size, entry, k);
        }
    } else {
        dl = hk_legacy_decide(size, entry, k);
        dc = hk_table_decide(hk_router_table, size, entry, k);
    }
    return hk_compare_finish(dl, dc, size, site, entry, central);
}

void *hk_diff_unsampled(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    /* Only threads with a slot of their own get here (skip >= 0); the call was counted as
     * executed on the fast path. */
    if (HK_UNLIKELY(!hk_key_seen(size, entry))) { /* the first call of its key */
        hk_rec_bump(&hk_dt.slot->compared);
        hk_dt_hist(&hk_dt, central, size);
        return hk_compare_decide(size, site, entry, central);
    }
    return central ? hk_router_alloc_inline(size, site, entry) : hk_legacy_alloc(size, site, entry);
}

void *hk_diff_unsampled_seen(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    if (hk_compare_hooks.span_alloc) {
        void *p = hk_compare_hooks.span_alloc(central, size, entry);
        if (p)
            return p;
    }
    return central ? hk_router_alloc_slow(size, site, entry)
                   : hk_legacy_alloc_slow(size, site, entry);
}

/* A sampled call that is not the common 1-in-1 one: a new thread's first call, a thread
 * without a slot of its own (atomics, every call compared), or 1 in N > 1 (the next skip
 * drawn). */
void *hk_diff_sampled_slow(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_diff_thread *t = &hk_dt;
    if (t->state == HK_DT_NEW) {
        hk_sample_thread_setup(t);
        if (hk_dt_owned(t->state)) /* this call is sampled or not like any other */
            return hk_diff_alloc(size, site, entry, central);
    }
    hk_slab_count(central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY);
    if (!hk_dt_owned(t->state))
        t->skip = 0;
    else
        t->skip = hk_sample_next(t);
    hk_dt_count(t, central, true, size);
    return hk_compare_decide(size, site, entry, central);
}

/* The sampled call of a thread with its slot under 1 in 1 (every call): both decisions of a
 * Tiny size computed here, each once; every other case leaves by a tail call. */
HK_INLINE void *diff_sampled(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    hk_diff_thread *t = &hk_dt;
    if (HK_UNLIKELY(t->state != HK_DT_EVERY))
        return hk_diff_sampled_slow(size, site, entry, central);
    /* skip stays below 0: with 1 in 1 every call takes this path */
    hk_slab_count(central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY);
    hk_rec_bump_compared(t->slot, central);
    /* Below both paths' Tiny bounds both decisions are computed here (their out-of-line
     * parts are dead code then); above, hk_compare_decide computes them. Either way each
     * path decides exactly once. */
    const hk_table *tb = hk_router_table;
    if (HK_UNLIKELY(size > HK_TINY_MAX || size >= tb->tiny_end)) {
        hk_dt_hist(t, central, size);
        return hk_compare_decide(size, site, entry, central);
    }
    hk_knobs k = hk_knobs_get();
    hk_decision dl = hk_legacy_decide(size, entry, k);
    hk_decision dc = hk_table_decide(tb, size, entry, k);
    /* After the decisions: the counter's store would make the compiler load the table again */
    hk_rec_bump(&t->hist[central][hk_rec_bucket_small[size]]); /* size <= 1 KiB here */
    if (HK_LIKELY(dl.box == dc.box && dl.cls == dc.cls)) {
        /* 0xFF: the key's first compare (or the router logs every decision) */
        unsigned c = __atomic_load_n(&hk_diff_fast[central][entry][size], __ATOMIC_RELAXED);
        if (HK_LIKELY(c != 0xFF)) {
            void *p = hk_tiny_pop((int)c);
            if (HK_LIKELY(p != NULL))
                return p;
        }
        /* the two decisions are one: only it travels (they diverge in no way to record) */
        return hk_compare_agreed(dl, size, site, entry, central);
    }
    return hk_compare_finish(dl, dc, size, site, entry, central);
}

/* One function per executing path and entry: both are constants inside. */
void *hk_diff_sampled_legacy_wrap(size_t size, hak_callsite_t site)
{
    return diff_sampled(size, site, HK_ENTRY_WRAP, false);
}
void *hk_diff_sampled_central_wrap(size_t size, hak_callsite_t site)
{
    return diff_sampled(size, site, HK_ENTRY_WRAP, true);
}
void *hk_diff_sampled_legacy_api(size_t size, hak_callsite_t site)
{
    return diff_sampled(size, site, HK_ENTRY_API, false);
}
void *hk_diff_sampled_central_api(size_t size, hak_callsite_t site)
{
    return diff_sampled(size, site, HK_ENTRY_API, true);
}

HK_COLD static void report_now(void)
{
    hk_report_requested = 0;
    hk_divergence_write_report();
    hk_compare_mode_changed(); /* back to the inline differential path, when it applies */
}

void *hk_compare_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_UNLIKELY(hk_report_requested))
        report_now();
    hk_diff_thread *t = &hk_dt;
    if (HK_UNLIKELY(t->state == HK_DT_NEW))
        hk_sample_thread_setup(t);
    bool central = hk_compare_central(site, size);
    hk_slab_count(central ? HK_TCTR_SERVED_CENTRAL : HK_TCTR_SERVED_LEGACY);
    bool compare = false;
    if (diff_mode) {
        if (!hk_dt_owned(t->state)) {
            compare = true;
        } else if (--t->skip < 0) {
            compare = true;
            t->skip = hk_sample_next(t);
        } else {
            compare = !hk_key_seen(size, entry);
        }
    }
    hk_dt_count(t, central, compare, size);
    if (compare)
        return hk_compare_decide(size, site, entry, central);
    return central ? hk_router_alloc_inline(size, site, entry) : hk_legacy_alloc(size, site, entry);
}
