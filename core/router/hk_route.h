/* hk_route.h: the vocabulary shared by every routing path (the legacy path and the Central
 * Router): where a request entered, the knobs that change routing, a decision, and the one
 * executor that carries a decision out.
 *
 * A decision is data: computing it never allocates, locks or logs. Carrying it out is
 * hk_execute()'s job, so any path that can decide can also be compared.
 */
#ifndef HK_ROUTE_H
#define HK_ROUTE_H

#include "hk_internal.h"
#include "hk_options.h"
#include "hk_sizes.h"

typedef hak_entry_t hk_entry_t;
typedef hak_knobs_t hk_knobs;
typedef hak_decision_t hk_decision;
#define HK_ENTRY_WRAP HAK_ENTRY_WRAP
#define HK_ENTRY_API HAK_ENTRY_API

/* Test builds count every decision each path computes (the differential mode's "each path
 * decides exactly once per compared call" is checked with it). */
#ifndef HK_COUNT_DECISIONS
#define HK_COUNT_DECISIONS 0
#endif
static const bool config_count_decisions = HK_COUNT_DECISIONS;

/* The knobs in force (read from the option table, set once at init): two array loads. */
HK_INLINE hk_knobs hk_knobs_get(void)
{
    return (hk_knobs){hk_opt(HK_OPT_ACE_ENABLED) != 0, hk_opt(HK_OPT_WRAP_L2) != 0};
}
static const bool config_central_router = HAKMEM_CONFIG_CENTRAL_ROUTER;
/* The process's routing path: the build's default (--enable-central-router), overridden at
 * init by HAKMEM_USE_CENTRAL_ROUTER; set by the front door (hk_set_central), read by compare/
 * (rollout) and the front door. Defined in hk_execute.c. */
extern bool hk_central_active;

/* Carry out a decision for a call of `size` from `site`: the chosen box allocates; when it
 * cannot, the mmap box serves and the box's fallback is counted (and *fell_back set, when
 * given). NULL with errno ENOMEM only when nothing can serve. The call realloc or memalign
 * makes (front/hakmem.c) is known by its size and site: the executor carries out its request
 * too (hk_tcache's pending_*). */
void *hk_execute(hk_decision d, size_t size, hak_callsite_t site, bool *fell_back);

#endif
