/* hk_compare.h: the differential mode and the staged rollout (compare/).
 *
 * The front door calls into here for every allocation when HAKMEM_ROUTER_DIFF or
 * HAKMEM_ROUTER_ROLLOUT is set, and for nothing otherwise. Per call: pick the executing path
 * (rollback latch, sticky rollout by site, size class or process, or the process's path),
 * count the call in the thread's slot of the record (hk_record.h), decide whether to compare
 * it (1 in HAKMEM_ROUTER_DIFF_SAMPLE at random, and the first call of every size key:
 * hk_sample.h), and if so compute both decisions -- the legacy path's and the Central
 * Router's, or the executing path's twice in the A/A mode -- each exactly once, record a
 * divergence, and carry out the executing path's decision: the harness never changes which
 * path executes. Nothing here allocates or uses stdio; reports are written outside the
 * malloc path.
 */
#ifndef HK_COMPARE_H
#define HK_COMPARE_H

#include "hk_route.h"

enum { HK_ROLLOUT_BY_SITE = 0, HK_ROLLOUT_BY_CLASS = 1, HK_ROLLOUT_BY_PROCESS = 2 };

/* Read the options and decide whether the front door must route through here. */
bool hk_compare_init(void);
/* Can the front door serve the differential mode inline (hk_diff_inline.h)? True for
 * HAKMEM_ROUTER_DIFF=1 when the executing path is fixed for the process (no rollout, or a
 * rollout by process); the A/A mode and the per-site and per-class rollouts take
 * hk_compare_alloc. */
bool hk_compare_inline_ok(void);
/* The path the inline differential path executes (false: legacy). */
bool hk_compare_process_central(void);
void *hk_compare_alloc(size_t size, hak_callsite_t site, hk_entry_t entry);
/* Would a call of `size` from `site` execute on the Central Router now? */
bool hk_compare_central(hak_callsite_t site, size_t size);
/* The rollout bucket 0..99 of a site and of this process (central when < PCT). */
unsigned hk_compare_site_bucket(hak_callsite_t site);
unsigned hk_compare_process_bucket(void);
/* The tail of a compared call: record a divergence, mark the key seen, execute the
 * executing path's decision (dc when central; in the A/A mode both are the executing
 * path's). */
void *hk_compare_finish(hk_decision dl, hk_decision dc, size_t size, hak_callsite_t site,
                        hk_entry_t entry, bool central);
/* The same once the decisions agreed: mark the key, carry out d. */
void *hk_compare_agreed(hk_decision d, size_t size, hak_callsite_t site, hk_entry_t entry,
                        bool central);

/* Record one divergent decision pair (the differential path calls it; tests may too).
 * central_executing: the call executes on the Central Router, so it counts towards
 * HAKMEM_ROUTER_ROLLBACK=N, which latches the process back to legacy at the N-th. */
void hk_divergence_record(hk_decision legacy, hk_decision central, size_t size, hak_callsite_t site,
                          hk_entry_t entry, bool central_executing);
void hk_divergence_init(void);
/* Write the JSON report to HAKMEM_DIVERGENCE_REPORT now (exit, SIGUSR2 follow-up, tests). */
bool hk_divergence_write_report(void);
/* Write the report as JSON to fd (tests, tools); false when a write failed. */
bool hk_divergence_report_fd(int fd);
/* Normal exit: the report, then the record marked EXITED. */
void hk_divergence_exit(void);
/* _exit: the record marked as ended by _exit (complete; no report: no exit handlers run). */
void hk_divergence_quick_exit(void);
/* exec: the record marked as ended by exec (true), until hk_divergence_exec_failed(). */
bool hk_divergence_exec_begin(void);
void hk_divergence_exec_failed(void);
void hk_divergence_atfork_child(void);
/* Clear every record and counter (tests). */
void hk_divergence_reset(void);

typedef struct {
    uint64_t calls, compared, divergent, dropped, distinct, keys_seen;
    uint64_t exec[2];           /* calls executed by legacy / central */
    uint64_t divergent_exec[2]; /* divergent calls that legacy / central executed */
    bool rolled_back;
} hk_divergence_totals;
hk_divergence_totals hk_divergence_totals_get(void);

/* The front door's mode machine, which compare/ (below it) reaches only through these hooks,
 * registered by the front door at init before hk_compare_init: mode_changed re-derives the
 * mode after a change of compare's state (rollback latched, report written, reset);
 * leave_inline is called by the SIGUSR2 handler (async-signal-safe: relaxed atomic stores of
 * the mode byte and the fast path's routes, no lock) so that
 * the next allocation takes the out-of-line path, which writes the report; span_alloc serves
 * an unsampled call above Tiny from the front door's second class table of the executing
 * path (a block counted as the caller's, or NULL: the path's slow route decides). */
typedef struct {
    void (*mode_changed)(void);
    void (*leave_inline)(void);
    void *(*span_alloc)(bool central, size_t size, hk_entry_t entry);
} hk_compare_hooks_t;
extern hk_compare_hooks_t hk_compare_hooks;
HK_INLINE void hk_compare_mode_changed(void)
{
    if (hk_compare_hooks.mode_changed)
        hk_compare_hooks.mode_changed();
}
extern volatile int hk_report_requested; /* set by the SIGUSR2 handler */
extern bool hk_rollback_latched;

#endif
