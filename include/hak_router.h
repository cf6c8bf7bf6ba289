/* hak_router.h: the Central Router box, public API (installed; included by hakmem.h).
 *
 * One table owns the size -> box decision of every allocation the router routes
 * (data, printed by `hakmem-routes`, replaceable at init with HAKMEM_ROUTER_TABLE=FILE),
 * logs every decision when verbose, counts routes, failures and fallbacks, and falls back to
 * the mmap box transparently. It decides; the boxes allocate.
 */
#ifndef HAK_ROUTER_H
#define HAK_ROUTER_H

#include "hakmem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    bool tiny_ready;
    bool mid_ready;
    bool ace_ready;
    bool pool_ready;
    bool mmap_ready;
    bool l25_ready;
    uint64_t total_routes;   /* allocations the router has routed */
    uint64_t route_failures; /* routed requests nothing could serve (NULL, ENOMEM) */
    uint64_t fallback_count; /* routed requests served by the mmap box instead of their box */
} RouterHealth;

/* Allocate through the Central Router (the hak_alloc_at entry). In the central mode the front
 * door's malloc and hak_alloc_at take the same decision and executor (core/router). */
HAK_API void *hak_router_alloc(size_t size, uintptr_t site_id);
/* Free anything hakmem allocated, whichever path allocated it (as hak_free). */
HAK_API void hak_router_free(void *ptr);
/* Are the boxes ready (after init), and the router's counters. */
HAK_API RouterHealth hak_router_health_check(void);
/* One line per routing decision on stderr (write(2)), or not. */
HAK_API void hak_router_set_verbose(bool verbose);

#ifdef __cplusplus
}
#endif
#endif /* HAK_ROUTER_H */
