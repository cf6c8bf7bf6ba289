/* hk_router_api.c: the Central Router box's public API (include/hak_router.h): allocate and
 * free through it, its decision, its health and counters, its verbose log. The router itself
 * is core/router/hk_router.c.
 */
#include "hak_router.h"

#include "hk_router_stats.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_router_inline.h"
#include "hk_slab.h"

void *hak_router_alloc(size_t size, uintptr_t site_id)
{
    hk_slab_count(HK_TCTR_SERVED_CENTRAL);
    return hk_router_alloc_inline(size, site_id, HK_ENTRY_API);
}

void hak_router_free(void *ptr) { hk_front_free(ptr); }

hak_decision_t hak_router_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs)
{
    return hk_table_decide(hk_router_table, size, entry, knobs);
}

RouterHealth hak_router_health_check(void)
{
    bool up = hk_ready(), arena = up && hk_arena_size != 0;
    hk_router_stats s = hk_router_stats_get();
    RouterHealth h = {
        .tiny_ready = arena && hk_classes[HK_CLS_TINY0].bsize != 0,
        .mid_ready = arena && hk_classes[HK_CLS_MID0].bsize != 0,
        .ace_ready = up,
        .pool_ready = arena && hk_classes[HK_CLS_POOL0].bsize != 0,
        .mmap_ready = true, /* the mmap box needs no init */
        .l25_ready = arena && hk_classes[HK_CLS_L250].bsize != 0,
        .total_routes = s.total_routes,
        .route_failures = s.route_failures,
        .fallback_count = s.fallback_count,
    };
    return h;
}

void hak_router_set_verbose(bool on) { hk_router_set_verbose(on); }
