/* hk_router_inline.h: the Central Router's fast path and internal controls.
 *
 * The fast path serves sizes below hk_router_tiny_limit (the first rule's end + 1, when that
 * rule is Tiny and the router is not verbose; 0 otherwise) straight from the Tiny box; every
 * other request takes hk_router_alloc_slow, which looks the size up in the table.
 */
#ifndef HK_ROUTER_INLINE_H
#define HK_ROUTER_INLINE_H

#include "hk_table.h"
#include "hk_tiny.h"

/* The Tiny bound of each routing path's fast path, indexed like hk_front_mode
 * (HK_FRONT_LEGACY 0, HK_FRONT_CENTRAL 1): [0] the legacy path's, fixed at HK_TINY_MAX + 1;
 * [1] the router's, hk_router_tiny_limit. One array, so that the front door serves both
 * paths with the same instructions (front/hk_front.h). */
extern size_t hk_tiny_end_of[2];
#define hk_router_tiny_limit (__atomic_load_n(&hk_tiny_end_of[1], __ATOMIC_RELAXED))
extern const hk_table *hk_router_table;

void *hk_router_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry);
/* Carry out a router decision with the router's accounting (fallbacks, failures, verbose
 * line); the differential path uses it so that each path decides exactly once. */
void *hk_router_execute(hk_decision d, size_t size, hak_callsite_t site);
/* Read HAKMEM_ROUTER_TABLE and the verbose flag (from hk_init). */
void hk_router_init(void);
/* Why the table HAKMEM_ROUTER_TABLE names was not loaded at init (the built-in table is in
 * force instead), or NULL: the differential mode's record and report say so. */
const char *hk_router_table_error(void);
/* Use table t from now on (NULL: the built-in table). Tests and init only: not thread-safe
 * against concurrent allocation. */
void hk_router_use_table(const hk_table *t);
/* Called after the table or the router's Tiny bound changed (set by the differential mode,
 * which keeps tables derived from both; NULL when it is off). */
extern void (*hk_router_changed_hook)(void);
/* Called after it too: the front door's, registered at init, so that its fast path follows
 * the router's Tiny bound. */
extern void (*hk_router_front_hook)(void);
/* The verbose log ([Router] lines on stderr; the fast path is off while it is on). */
void hk_router_set_verbose(bool on);
/* True while the verbose log is on: every decision must then reach hk_router_alloc_slow. */
bool hk_router_verbose(void);

HK_INLINE void *hk_router_alloc_inline(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_ASSERT_LEVEL >= 2 && size < hk_router_tiny_limit) /* the fast path's decision */
        hk_table_check(hk_router_table, size, entry, hk_knobs_get(),
                       (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)});
    void *p = hk_tiny_fast(size, hk_router_tiny_limit);
    if (HK_LIKELY(p != NULL))
        return p;
    return hk_router_alloc_slow(size, site, entry); /* a tail call */
}

#endif
