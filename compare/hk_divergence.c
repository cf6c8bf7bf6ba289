/* hk_divergence.c: divergence records and the rollback latch (formats:
 * compare/README.md); the record storage is hk_record.c, the report hk_report.c.
 *
 * A divergence is recorded in the block's fixed table (HK_REC_DIVS records), keyed by
 * (legacy box+class, central box+class, entry, size interval), claimed with a CAS on the key;
 * count, sizes, the executing path and the first HK_REC_SITES distinct sites, each with its
 * own count, are updated with atomics. A full table counts the divergence as dropped.
 * HAKMEM_ROUTER_ROLLBACK=N latches the process back to legacy at the N-th divergence of a
 * call the Central Router executed (never on calls legacy executed). The divergence log is
 * hk_divlog.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "hk_compare.h"
#include "hk_divlog.h"
#include "hk_fileio.h"
#include "hk_json.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_record.h"
#include "hk_report.h"
#include "hk_sample.h"
#include "hk_site.h"
#include "hk_sys.h"

volatile int hk_report_requested;
hk_compare_hooks_t hk_compare_hooks;
bool hk_rollback_latched;
static bool rollback_inherited;
static bool initialised;

static void on_sigusr2(int sig)
{
    (void)sig;
    hk_report_requested = 1;
    /* The inline differential path does not look at the flag: send the next allocation
     * through hk_compare_alloc, which writes the report and restores the mode. */
    if (hk_compare_hooks.leave_inline)
        hk_compare_hooks.leave_inline();
}

void hk_divergence_init(void)
{
    const char *r = hk_opt_str(HK_OPT_DIVERGENCE_REPORT);
    const char *l = hk_opt_str(HK_OPT_DIVERGENCE_LOG);
    bool reports = hk_opt(HK_OPT_ROUTER_DIFF) != 0; /* nothing to report without comparing */
    /* Relative paths are taken against the working directory at init. */
    static char rabs[HK_PATH_MAX], labs[HK_PATH_MAX];
    if (r && *r && hk_path_absolute(r, rabs, sizeof rabs))
        r = rabs;
    if (l && *l && hk_path_absolute(l, labs, sizeof labs))
        l = labs;
    if (!initialised) {
        initialised = true;
        hk_record_init(reports ? r : NULL);
        hk_report_init(reports ? r : NULL);
        /* SIGUSR2 also refreshes the JSON report of a running process (the record file is
         * readable at any time anyway). Only when nobody else handles or ignores it: never
         * steal a program's handler. */
        struct sigaction old;
        if (reports && r && *r && sigaction(SIGUSR2, NULL, &old) == 0 &&
            !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_sigusr2;
            sa.sa_flags = SA_RESTART;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGUSR2, &sa, NULL);
        }
    } else {
        hk_divergence_reset();
    }
    hk_divlog_init(reports ? l : NULL);
}

/* ---------------------------------------------------------------- recording */

static uint64_t rec_key(hk_decision l, hk_decision c, hk_entry_t e, size_t size)
{
    return 1u | ((uint64_t)l.box << 1) | ((uint64_t)(uint8_t)l.cls << 8) | ((uint64_t)c.box << 16) |
           ((uint64_t)(uint8_t)c.cls << 24) | ((uint64_t)e << 32) |
           ((uint64_t)hk_sizekey_of(&hk_keys, size) << 40);
}

static void atomic_min_u64(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while ((cur == 0 || v < cur) &&
           !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void atomic_max_u64(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* The record of key (claimed when new; *fresh then), or NULL when the table is full. */
static hk_rec_div *find(uint64_t key, bool *fresh)
{
    uint64_t h = hk_mix64(key);
    *fresh = false;
    for (unsigned i = 0; i < HK_REC_DIVS; i++) {
        hk_rec_div *r = &hk_rec->divs[(h + i) % HK_REC_DIVS];
        uint64_t k = atomic_load_explicit(&r->key, memory_order_acquire);
        if (k == key)
            return r;
        if (k == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&r->key, &zero, key)) {
                *fresh = true;
                return r;
            }
            if (zero == key)
                return r;
        }
    }
    return NULL;
}

/* One more call from site sk: its own slot among the first HK_REC_SITES, else "others". */
static void count_site(hk_rec_div *r, uint64_t sk)
{
    uint64_t tagged = sk | HK_REPORT_SITE_TAG; /* never 0: 0 marks a free slot */
    for (unsigned i = 0; i < HK_REC_SITES; i++) {
        hk_rec_site *s = &r->sites[i];
        uint64_t cur = atomic_load_explicit(&s->site, memory_order_acquire);
        if (cur == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&s->site, &zero, tagged))
                cur = tagged;
            else
                cur = zero;
        }
        if (cur == tagged) {
            atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&r->other_sites, 1, memory_order_relaxed);
}

HK_COLD static void latch_rollback(hk_decision l, hk_decision c, size_t size, uint64_t key,
                                   hk_sitekey sk, uint64_t n)
{
    hk_rec_header *h = &hk_rec->h;
    uint32_t zero = 0;
    if (!atomic_compare_exchange_strong(&h->rollback_latched, &zero, 1))
        return;
    h->rollback_key = key;
    h->rollback_size = size;
    h->rollback_site = sk | HK_REPORT_SITE_TAG;
    h->rollback_at_compared = hk_record_counts().compared;
    atomic_store(&h->executing, HK_REC_EXEC_LEGACY);
    hk_rollback_latched = true;
    hk_compare_mode_changed(); /* the inline differential path executes legacy from now */
    hk_warn("rollback: %llu divergences on calls the Central Router executed (latest: size %zu, "
            "legacy %s class %d, central %s class %d); the legacy path executes every later "
            "allocation",
            (unsigned long long)n, size, hak_box_name(l.box), l.cls, hak_box_name(c.box), c.cls);
}

void hk_divergence_record(hk_decision l, hk_decision c, size_t size, hak_callsite_t site,
                          hk_entry_t entry, bool central_executing)
{
    hk_rec_header *h = &hk_rec->h;
    atomic_fetch_add_explicit(&h->divergent, 1, memory_order_relaxed);
    uint64_t nexec = atomic_fetch_add_explicit(&h->divergent_exec[central_executing], 1,
                                               memory_order_relaxed) +
                     1;
    uint64_t key = rec_key(l, c, entry, size);
    hk_sitekey sk = hk_site_key(site);
    bool fresh;
    hk_rec_div *rec = find(key, &fresh);
    if (!rec) {
        atomic_fetch_add_explicit(&h->dropped, 1, memory_order_relaxed);
    } else {
        uint64_t s1 = size < UINT64_MAX ? (uint64_t)size + 1 : UINT64_MAX;
        atomic_min_u64(&rec->size_min1, s1);
        atomic_max_u64(&rec->size_max1, s1);
        count_site(rec, sk);
        if (central_executing)
            atomic_fetch_add_explicit(&rec->exec_central, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&rec->count, 1, memory_order_relaxed);
        if (fresh)
            hk_divlog_line(key, size, sk);
    }
    long after = hk_opt(HK_OPT_ROUTER_ROLLBACK);
    if (after > 0 && central_executing && nexec >= (uint64_t)after && !hk_rollback_latched)
        latch_rollback(l, c, size, key, sk, nexec);
}

/* ---------------------------------------------------------------- totals, life */

hk_divergence_totals hk_divergence_totals_get(void)
{
    hk_divergence_totals t;
    const hk_rec_header *h = &hk_rec->h;
    hk_rec_counts c = hk_record_counts();
    t.exec[0] = c.exec[0];
    t.exec[1] = c.exec[1];
    t.calls = c.exec[0] + c.exec[1];
    t.compared = c.compared;
    t.divergent = atomic_load(&h->divergent);
    t.divergent_exec[0] = atomic_load(&h->divergent_exec[0]);
    t.divergent_exec[1] = atomic_load(&h->divergent_exec[1]);
    t.dropped = atomic_load(&h->dropped);
    t.keys_seen = atomic_load(&h->keys_seen);
    t.distinct = 0;
    for (int i = 0; i < HK_REC_DIVS; i++)
        t.distinct += atomic_load(&hk_rec->divs[i].key) != 0;
    t.rolled_back = hk_rollback_latched;
    return t;
}

void hk_divergence_reset(void)
{
    hk_record_reset();
    hk_sample_reset();
    hk_rollback_latched = false;
    rollback_inherited = false;
    hk_compare_mode_changed();
}

bool hk_divergence_rollback_inherited(void) { return rollback_inherited; }

void hk_divergence_atfork_child(void)
{
    if (!initialised)
        return;
    /* The child is a process of its own: its own record (a new file), its own keys, its own
     * slot; the parent's records stay the parent's. A rollback latched in the parent keeps
     * the child on the legacy path (said in its report), but is not the child's record. */
    hk_site_atfork_child();
    hk_record_atfork_child();
    hk_sample_atfork_child();
    hk_sample_reset();
    rollback_inherited = hk_rollback_latched;
    hk_divlog_atfork_child();
}

void hk_divergence_quick_exit(void)
{
    if (initialised)
        hk_record_quick_exit();
}

bool hk_divergence_exec_begin(void) { return initialised && hk_record_exec_begin(); }

void hk_divergence_exec_failed(void)
{
    if (initialised)
        hk_record_exec_failed();
}

void hk_divergence_exit(void)
{
    if (!initialised)
        return;
    int st = HK_REPORT_NONE;
    hk_report_exiting = true;
    if (hk_report_enabled())
        st = hk_divergence_write_report() ? HK_REPORT_WRITTEN : HK_REPORT_FAILED;
    hk_record_exit(st);
}
