/* hk_router.c: the Central Router (see hk_router_inline.h; its public API is
 * front/hk_router_api.c). One table, one decision function,
 * one slow path that executes, counts and logs. It never allocates memory itself: the boxes
 * do, through hk_execute.
 *
 *   hak_router_alloc / front door (central mode)
 *     -> hk_router_alloc_inline     sizes of the table's leading Tiny rule: Tiny box
 *     -> hk_router_alloc_slow       hk_table_decide, hk_execute (fallback to mmap counted),
 *                                   verbose line, failure counted
 */
#include <errno.h>
#include <stdlib.h>

#include "hk_log.h"
#include "hk_options.h"
#include "hk_router_inline.h"
#include "hk_stats.h"

const hk_table *hk_router_table = &hk_table_builtin;
/* [1], hk_router_tiny_limit: the built-in table's first rule to start with. */
size_t hk_tiny_end_of[2] = {HK_TINY_MAX + 1, HK_BUILTIN_TINY_END};
static bool verbose; /* atomic accesses: hak_router_set_verbose runs while others allocate */
static hk_table loaded;
static char load_error[256]; /* why HAKMEM_ROUTER_TABLE was not loaded ("": it was, or none) */

void (*hk_router_changed_hook)(void);
void (*hk_router_front_hook)(void);

static void update_fast_limit(void)
{
    __atomic_store_n(&hk_tiny_end_of[1], hk_router_verbose() ? 0 : hk_router_table->tiny_end,
                     __ATOMIC_RELAXED);
    if (hk_router_changed_hook)
        hk_router_changed_hook();
    /* The front door's fast path serves the router's Tiny bound. */
    if (hk_router_front_hook)
        hk_router_front_hook();
}

void hk_router_use_table(const hk_table *t)
{
    hk_router_table = t ? t : &hk_table_builtin;
    update_fast_limit();
}

void hk_router_init(void)
{
    __atomic_store_n(&verbose, hk_opt(HK_OPT_VERBOSE) != 0, __ATOMIC_RELAXED);
    const char *path = hk_opt_str(HK_OPT_ROUTER_TABLE);
    if (path && *path) {
        char err[256];
        if (hk_table_load_file(path, true, &loaded, err, sizeof err)) {
            hk_router_table = &loaded;
            if (hk_router_verbose())
                hk_dprintf(2, "[Router] HAKMEM_ROUTER_TABLE=%s: %d rules in force\n", path,
                           loaded.n);
        } else {
            hk_warn("HAKMEM_ROUTER_TABLE=%s: %s; keeping the built-in table", path, err);
            hk_fmt(load_error, sizeof load_error, "%s", err);
        }
    }
    update_fast_limit();
}

const char *hk_router_table_error(void) { return load_error[0] ? load_error : NULL; }

void *hk_router_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_UNLIKELY(size > HK_MAX_REQUEST)) {
        hk_count(HK_CTR_ROUTER_FAILURES);
        hk_count(HK_CTR_ENOMEM);
        if (hk_router_verbose())
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
    void *p = hk_execute(d, size, site, &fell_back);
    if (fell_back)
        hk_count(HK_CTR_ROUTER_FALLBACKS);
    if (!p)
        hk_count(HK_CTR_ROUTER_FAILURES);
    if (hk_router_verbose())
        hk_dprintf(2, "[Router] size=%zu site=%p box=%s class=%d%s\n", size, (void *)site,
                   hak_box_name(d.box), d.cls,
                   !p          ? " FAILED"
                   : fell_back ? " fallback=mmap"
                               : "");
    return p;
}

bool hk_router_verbose(void) { return __atomic_load_n(&verbose, __ATOMIC_RELAXED); }

void hk_router_set_verbose(bool on)
{
    __atomic_store_n(&verbose, on, __ATOMIC_RELAXED);
    update_fast_limit();
}
