/* hk_compare.h: the differential mode and the staged rollout (compare/).
 *
 * The front door calls hk_compare_alloc for every allocation when HAKMEM_ROUTER_DIFF or
 * HAKMEM_ROUTER_ROLLOUT is set, and for nothing otherwise. Per call: pick the executing path
 * (rollback latch, sticky rollout by call site, or the process's path), then on 1 call in
 * HAKMEM_ROUTER_DIFF_SAMPLE compute the legacy and the central decision, each exactly once,
 * record a divergence if they differ, and carry out the executing path's decision.
 * Nothing here allocates or uses stdio; reports are written outside the malloc path.
 */
#ifndef HK_COMPARE_H
#define HK_COMPARE_H

#include "hk_route.h"

/* Read the options and decide whether the front door must route through here. */
bool hk_compare_init(void);
/* Can the front door serve the differential mode inline (hk_diff_inline.h)? True for
 * HAKMEM_ROUTER_DIFF=1 without HAKMEM_ROUTER_ROLLOUT; the A/A mode and the rollout take
 * hk_compare_alloc. */
bool hk_compare_inline_ok(void);
void *hk_compare_alloc(size_t size, hak_callsite_t site, hk_entry_t entry);
/* Would call site `site` execute on the Central Router now? (rollout, rollback latch) */
bool hk_compare_site_central(hak_callsite_t site);
/* The sticky rollout bucket of a call site, 0..99: the site runs central when bucket < PCT. */
unsigned hk_compare_site_bucket(hak_callsite_t site);

/* Record one divergent decision pair (the differential path calls it; tests may too).
 * central_executing: the call executes on the Central Router, so HAKMEM_ROUTER_ROLLBACK=N
 * latches the process back to legacy once N divergences have been seen. */
void hk_divergence_record(hk_decision legacy, hk_decision central, size_t size,
                          hak_callsite_t site, hk_entry_t entry, bool central_executing);
void hk_divergence_init(void);
/* Write the JSON report to HAKMEM_DIVERGENCE_REPORT now (exit, SIGUSR2 follow-up, tests). */
bool hk_divergence_write_report(void);
/* Write the report as JSON to fd (tests, tools); false when a write failed. */
bool hk_divergence_report_fd(int fd);
void hk_divergence_atfork_child(void);
/* Clear every record and counter (tests). */
void hk_divergence_reset(void);

typedef struct {
    uint64_t calls, compared, divergent, dropped, distinct;
    bool rolled_back;
} hk_divergence_totals;
hk_divergence_totals hk_divergence_totals_get(void);

extern volatile int hk_report_requested; /* set by the SIGUSR2 handler */
extern bool hk_rollback_latched;

#endif
