/* hk_router_stats.h: the Central Router's counters. Routes are counted per thread on the
 * fast path (HK_TCTR_SERVED_CENTRAL, a plain increment in the thread's block); failures and
 * fallbacks are rare and counted with relaxed atomics (HK_CTR_ROUTER_*), all declared once in
 * hk_stats.h. This header only gathers them.
 */
#ifndef HAK_ROUTER_STATS_H
#define HAK_ROUTER_STATS_H

#include "hk_slab.h"
#include "hk_stats.h"

typedef struct {
    uint64_t total_routes, route_failures, fallback_count;
} hk_router_stats;

HK_INLINE hk_router_stats hk_router_stats_get(void)
{
    return (hk_router_stats){hk_slab_thread_counter(HK_TCTR_SERVED_CENTRAL),
                             hk_counter(HK_CTR_ROUTER_FAILURES),
                             hk_counter(HK_CTR_ROUTER_FALLBACKS)};
}

#endif
