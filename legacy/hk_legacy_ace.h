/* hk_legacy_ace.h: the legacy path's secondary router, as it grew inside ACE: for requests the
 * primary router hands over (1 KiB+1 .. 8 KiB and 32 KiB+1 .. 2 MiB-1) it picks the Pool,
 * the L25 box or the mmap fallback. Decide (pure) and do (allocate) are separate steps.
 */
#ifndef HKM_ACE_H
#define HKM_ACE_H

#include "hk_route.h"

/* Secondary decision: HAKMEM_ACE_ENABLED=0 -> mmap; HAKMEM_WRAP_L2=0 and a malloc-wrapper
 * request -> mmap; otherwise ACE class 0-6 -> Pool, 7-12 -> L25, larger -> mmap. */
hk_decision hk_legacy_ace_decide(size_t size, hk_entry_t entry, hk_knobs k);
void *hk_legacy_ace_alloc(size_t size, hak_callsite_t site, hk_entry_t entry);

#endif
