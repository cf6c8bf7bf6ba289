/* hakmem_migration.h: the public API that only the migration needs (installed; absent from a
 * --disable-legacy build, and removed by the playbook's deletion commit, legacy/README.md):
 * the legacy path's routing decision, for tools and tests that compare it with the Central
 * Router's (hak_router_decide, hakmem.h).
 */
#ifndef HAKMEM_MIGRATION_H
#define HAKMEM_MIGRATION_H

#include "hakmem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The legacy path's decision for a size, entry and knobs, computed without allocating. */
HAK_API hak_decision_t hak_legacy_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs);

#ifdef __cplusplus
}
#endif

#endif
