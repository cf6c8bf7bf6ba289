/* hk_report.h: the JSON divergence report (HAKMEM_DIVERGENCE_REPORT, format
 * "hakmem-divergence-report/2", compare/README.md), rendered from the record block (hk_record.h)
 * with call sites resolved to symbols where the process can (dladdr, never on the malloc path),
 * and written with hk_fileio.h's rules. Also the divergence objects of the log's lines.
 */
#ifndef HK_REPORT_H
#define HK_REPORT_H

#include "hk_json.h"
#include "hk_site.h"

/* Site keys are stored with this bit set, so that 0 can mark a free slot. */
#define HK_REPORT_SITE_TAG ((uint64_t)1 << 63)

/* Set at normal exit: the report says "exited". */
extern bool hk_report_exiting;
/* The report path template (NULL: no report). */
void hk_report_init(const char *tmpl);
bool hk_report_enabled(void);
/* A divergence object for the log: key's decisions, one size, one site, count 1. */
void hk_report_divergence_first(hk_jw *w, uint64_t key, size_t size, hk_sitekey sk);
/* Did the fork child inherit a latched rollback (hk_divergence.c)? */
bool hk_divergence_rollback_inherited(void);

#endif
