/* hk_migration.h: what the front door uses of the migration layers (legacy/: the legacy
 * routing path; compare/: the differential mode, rollout, records), in one place.
 *
 * A build with them (the default) includes their headers. A --disable-legacy build has no
 * legacy/ or compare/ at all (the playbook's deletion build, legacy/README.md): the Central
 * Router is then the only path, hk_compare_init() says the differential mode is off, and the
 * rest below is never reached (the mode machine never selects a legacy or differential mode);
 * the definitions only keep the front door's code one text for both builds, tested with
 * config_legacy in plain ifs. This is the only #if on the build's layers.
 */
#ifndef HK_MIGRATION_H
#define HK_MIGRATION_H

#include "hk_route.h"

static const bool config_legacy = HAKMEM_CONFIG_LEGACY;

#if HAKMEM_CONFIG_LEGACY
#include "hk_compare.h"
#include "hk_diff_inline.h"
#include "hk_legacy.h"
#else
#include "hk_log.h"

_Static_assert(HAKMEM_CONFIG_CENTRAL_ROUTER, "--disable-legacy implies the Central Router");

HK_NORETURN static void hk_no_legacy(const char *what) __attribute__((cold, unused));
static void hk_no_legacy(const char *what)
{
    hk_fatal("internal error: %s called in a build without legacy/ (--disable-legacy)", what);
}
static inline hk_decision hk_legacy_decide(size_t size, hk_entry_t entry, hk_knobs k)
{
    (void)size, (void)entry, (void)k;
    hk_no_legacy("hk_legacy_decide");
}
static inline hk_decision hk_legacy_lookup(size_t size, hk_entry_t entry, hk_knobs k)
{
    (void)size, (void)entry, (void)k;
    hk_no_legacy("hk_legacy_lookup");
}
static inline void hk_legacy_check(size_t size, hk_entry_t entry, hk_knobs k, hk_decision d)
{
    (void)size, (void)entry, (void)k, (void)d;
    hk_no_legacy("hk_legacy_check");
}
static inline void *hk_legacy_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    (void)size, (void)site, (void)entry;
    hk_no_legacy("hk_legacy_alloc");
}
static inline void *hk_legacy_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    (void)size, (void)site, (void)entry;
    hk_no_legacy("hk_legacy_alloc_slow");
}
static inline void *hk_diff_alloc(size_t size, hak_callsite_t site, hk_entry_t entry, bool central)
{
    (void)size, (void)site, (void)entry, (void)central;
    hk_no_legacy("hk_diff_alloc");
}
static inline void *hk_compare_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    (void)size, (void)site, (void)entry;
    hk_no_legacy("hk_compare_alloc");
}
typedef struct {
    void (*mode_changed)(void);
    void (*leave_inline)(void);
    void *(*span_alloc)(bool central, size_t size, hk_entry_t entry);
} hk_compare_hooks_t;
static hk_compare_hooks_t hk_compare_hooks __attribute__((unused));
static const int hk_report_requested = 0;
static inline bool hk_compare_init(void) { return false; }
static inline bool hk_compare_inline_ok(void) { return false; }
static inline bool hk_compare_process_central(void) { return true; }
static inline void hk_divergence_exit(void) {}
static inline void hk_divergence_quick_exit(void) {}
static inline bool hk_divergence_exec_begin(void) { return false; }
static inline void hk_divergence_exec_failed(void) {}
static inline void hk_divergence_atfork_child(void) {}
#endif

#endif
