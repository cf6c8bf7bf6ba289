/* hk_router_api.c: the Central Router box (see hak_router.h). One table, one decision function,
 * one slow path that executes, counts and logs. It never allocates memory itself: the boxes
 * do, through hk_execute.
 *
 *   hak_router_alloc / front door (central mode)
 *     -> hk_router_alloc_inline     sizes of the table's leading Tiny rule: Tiny box
 *     -> hk_router_alloc_slow       hk_table_decide, hk_execute (fallback to mmap counted),
 *                                   verbose line, failure counted
 */
#include "hak_router.h"

#include <errno.h>
#include <stdlib.h>

#include "hak_router_stats.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_router_inline.h"
#include "hk_slab.h"

const hk_table *hk_router_table = &hk_table_builtin;
/* [1], hk_router_tiny_limit: the built-in table's first rule to start with. */
size_t hk_tiny_end_of[2] = {HK_TINY_MAX + 1, HK_TINY_MAX + 1};
static bool verbose;
static hk_table loaded;

void (*hk_router_changed_hook)(void);

static void update_fast_limit(void)
{
    hk_router_tiny_limit = verbose ? 0 : hk_router_table->tiny_end;
    if (hk_router_changed_hook)
        hk_router_changed_hook();
    /* The front door's fast path serves the router's Tiny bound (after init, which sets the
     * mode itself). */
    if (hk_front_mode != HK_FRONT_INIT)
        hk_front_update_mode();
}

void hk_router_use_table(const hk_table *t)
{
    hk_router_table = t ? t : &hk_table_builtin;
    update_fast_limit();
}

void hk_router_init(void)
{
    verbose = hk_opt(HK_OPT_VERBOSE) != 0;
    const char *path = hk_opt_str(HK_OPT_ROUTER_TABLE);
    if (path && *path) {
        char err[256];
        if (hk_table_load_file(path, true, &loaded, err, sizeof err)) {
            hk_router_table = &loaded;
            if (verbose)
                hk_dprintf(2, "[Router] HAKMEM_ROUTER_TABLE=%s: %d rules in force\n", path,
                           loaded.n);
        } else {
            hk_warn("HAKMEM_ROUTER_TABLE=%s: %s; keeping the built-in table", path, err);
        }
    }
    update_fast_limit();
}

void *hk_router_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_UNLIKELY(size > HK_MAX_REQUEST)) {
        hk_count(HK_CTR_ROUTER_FAILURES);
        hk_count(HK_CTR_ENOMEM);
        if (verbose)
            hk_dprintf(2, "[Router] size=%zu site=%p box=none class=-1 FAILED (impossible size)\n",
                       size, (void *)site);
        errno = ENOMEM;
        return NULL;
    }
    return hk_router_execute(hk_table_decide(hk_router_table, size, entry, hk_knobs_get()), size,
                             site);
}


void *hk_router_execute(hk_decision d, size_t size, hak_callsite_t site)
{
    bool fell_back = false;
    void *p = hk_execute(d, size, &fell_back);
    if (fell_back)
        hk_count(HK_CTR_ROUTER_FALLBACKS);
    if (!p)
        hk_count(HK_CTR_ROUTER_FAILURES);
    if (verbose)
        hk_dprintf(2, "[Router] size=%zu site=%p box=%s class=%d%s\n", size, (void *)site,
                   hak_box_name(d.box), d.cls,
                   !p ? " FAILED" : fell_back ? " fallback=mmap" : "");
    return p;
}

/* ---------------------------------------------------------------- public API */

void *hak_router_alloc(size_t size, uintptr_t site_id)
{
    hk_tc.tctr[HK_TCTR_SERVED_CENTRAL]++;
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

void hak_router_set_verbose(bool on)
{
    verbose = on;
    update_fast_limit();
}
