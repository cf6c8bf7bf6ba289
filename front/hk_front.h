/* hk_front.h: the front door's fast paths, inlined into both the hak_* API and the exported
 * malloc family.
 *
 * Which routing path serves allocations is one process-wide flag, hk_central_active: the
 * build's default (--enable-central-router -> config_central_router), overridden once at
 * init by HAKMEM_USE_CENTRAL_ROUTER (per call site under HAKMEM_ROUTER_ROLLOUT, see
 * compare/hk_compare.h). Frees never depend on it: a pointer's owner is found
 * from its address alone (hk_slab.h, hk_mmap.h), so memory allocated under one path frees
 * correctly under the other.
 */
#ifndef HK_FRONT_H
#define HK_FRONT_H

#include "hk_migration.h"
#include "hk_router_inline.h"
#include "hk_slab.h"

/* Process init: idempotent, and safe to call from any front-door slow path, including
 * recursively while init itself runs (it then returns at once, with hk_ready() still false:
 * the small boxes then serve nothing and the mmap box serves). */
void hk_init(void);
/* True when HAKMEM_ROUTER_DIFF or HAKMEM_ROUTER_ROLLOUT is set: every allocation goes
 * through the differential path in compare/. */
extern bool hk_compare_active;
/* The two flags above as one byte, so the fast path tests one load: legacy, central, the
 * inline differential path executing legacy or central (HAKMEM_ROUTER_DIFF=1 with the
 * executing path fixed for the process: compare/hk_diff_inline.h), or the out-of-line
 * compare path (rollout by site or class, A/A, a pending SIGUSR2 report). Kept in step by
 * hk_front_update_mode(); the SIGUSR2 handler moves the inline differential modes to
 * HK_FRONT_COMPARE. */
enum {
    HK_FRONT_LEGACY = 0,
    HK_FRONT_CENTRAL = 1,
    HK_FRONT_DIFF_LEGACY = 2,
    HK_FRONT_DIFF_CENTRAL = 3,
    HK_FRONT_COMPARE = 4,
    HK_FRONT_INIT = 5
};
extern HK_HIDDEN volatile unsigned char hk_front_mode;
_Static_assert(HK_FRONT_LEGACY == 0 && HK_FRONT_CENTRAL == 1 &&
                   HK_TCTR_SERVED_CENTRAL == HK_TCTR_SERVED_LEGACY + 1,
               "hk_tiny_end_of and the SERVED counters are indexed by mode");
void hk_front_update_mode(void);
/* Fork: the mode machine's lock (hk_mode.c), taken before the block engine's; the child
 * releases it as the parent does. */
void hk_mode_atfork_prepare(void);
void hk_mode_atfork_parent(void);
/* Give compare/ its hooks into the mode machine (init, before hk_compare_init). */
void hk_mode_register(void);
/* The out-of-line compare path and the process's first allocation (HK_FRONT_INIT: the
 * options are read before the first decision is made). */
void *hk_front_other(size_t size, hak_callsite_t site, hk_entry_t entry);

void hk_free_slow(void *p);
/* What p is to hakmem (the block engine's arena or the mmap box), without side effects: the
 * fail-closed checks' classification, callable by tests on any pointer without aborting. */
hk_ptr_kind hk_ptr_check(const void *p, hk_ptr_info *info);
/* _exit and _Exit of the preloaded library: the differential record says how the process
 * ended, then exit_group(2) as glibc's _exit. */
HK_NORETURN void hk_quick_exit(int status);
/* The exec family of the preloaded library (malloc_wrap.c): the differential record says the
 * image ended by exec before it is replaced (hk_exec_begin true), and goes back to running
 * when the exec failed (hk_exec_failed). */
bool hk_exec_begin(void);
void hk_exec_failed(void);
/* Switch the routing path (init, and tests flipping modes between phases), and the
 * differential path on or off (init, tests). */
void hk_set_central(bool central);
void hk_set_compare(bool on);

/* The fast path's parameters, kept in step with the mode by hk_front_update_mode(): a size
 * below `end` (the routing path's Tiny bound in the legacy and central modes, 0 in every
 * other mode) is served from the thread's bin of class cls[size]; anything else goes to
 * hk_front_route[entry]. */
typedef struct {
    size_t end;
    const uint8_t *cls;
} hk_front_fast_t;
extern HK_HIDDEN hk_front_fast_t hk_front_fast;
/* The fast path's second table, for what the first one misses up to HK_POOL_MAX (sizes
 * above the Tiny bound: Pool, Mid and the Bridge classes; an empty bin): per 256 bytes
 * (index (size + 255) >> 8), per routing path (legacy, central) and per entry, the block
 * engine's class id that the path decides for every size of those 256 bytes, or 0 where
 * the path's own slow route must serve (sizes of several classes, the mmap box, a rule that
 * starts inside, the router's verbose log). Built from each path's decision function with
 * the knobs in force (hk_front_update_mode, hk_mode.c), so that it can only repeat what
 * the path decides (tests/check_router.c compares every size with
 * the path's decision; debug builds check every lookup against the reference decision). Looked up at the start of the
 * legacy and central slow routes, never in the other modes. */
#define HK_FRONT_SPAN_SHIFT 8
#define HK_FRONT_SPAN_N ((HK_POOL_MAX >> HK_FRONT_SPAN_SHIFT) + 1)
extern HK_HIDDEN uint8_t hk_front_span[2][2][HK_FRONT_SPAN_N];
/* Everything the fast path does not serve goes to the mode's own route, per entry: the legacy
 * or central slow route, the inline differential path of the executing path (one function per
 * entry, so that the entry is a constant there), or hk_front_other (the compare path, init).
 * Kept in step with the mode byte by the mode machine (hk_mode.c), read with a relaxed load
 * (the mode changes while other threads allocate): the fast path's miss is one indirect
 * tail call, with no dispatch on the mode. */
typedef void *(*hk_front_route_fn)(size_t size, hak_callsite_t site, hk_entry_t entry);
extern HK_HIDDEN hk_front_route_fn hk_front_route[2];
/* Tests: do the routes agree with the mode byte? And a hook the mode machine calls once it
 * has derived the new mode, before it writes anything (a test pauses there while another
 * thread changes compare's state). */
bool hk_front_routes_match(void);
extern void (*hk_mode_pause_hook)(void);
/* free() of what the fast path does not take: NULL, a pointer outside the arena's committed
 * prefix or misaligned (the mmap box's blocks, and every fault). */
void hk_free_other(void *p);
/* Debug builds (HK_ASSERT_LEVEL >= 2): the fast path's decision for size (the engine's class
 * cls) against the reference of the path in force (hk_table_check, hk_legacy_check). */
void hk_front_check_fast(size_t size, hk_entry_t entry, unsigned cls);

/* Legacy and central share one fast path (the path's Tiny bound and class table are data),
 * so that neither pays a branch for the other: the router costs what the path it replaces
 * costs. The allocations it serves are counted by the thread cache alone (nalloc) and
 * attributed to their path when the path changes (hk_slab_fast_settle). */
HK_INLINE void *hk_front_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_LIKELY(size < hk_front_fast.end)) {
        if (HK_ASSERT_LEVEL >= 2)
            hk_front_check_fast(size, entry, hk_front_fast.cls[size]);
        void *p = hk_slab_pop_fast(hk_front_fast.cls[size]);
        if (HK_LIKELY(p != NULL))
            return p;
    }
    return __atomic_load_n(&hk_front_route[entry], __ATOMIC_RELAXED)(size, site, entry);
}

HK_INLINE void *hk_front_malloc(size_t size, hak_callsite_t site)
{
    return hk_front_alloc(size, site, HK_ENTRY_WRAP);
}

HK_INLINE void hk_front_free(void *p)
{
    uintptr_t g = hk_slab_granule(p);
    if (HK_LIKELY(g < hk_arena_grans_now())) {
        hk_slab_free_at(p, g);
        return;
    }
    hk_free_other(p);
}

/* The rest of the family, out of line in hakmem.c; site is the caller's return address. */
void *hk_calloc_at(size_t n, size_t size, hak_callsite_t site);
void *hk_realloc_at(void *p, size_t size, hak_callsite_t site);
void *hk_reallocarray_at(void *p, size_t n, size_t size, hak_callsite_t site);
void *hk_memalign_at(size_t align, size_t size, hak_callsite_t site);
int hk_posix_memalign_at(void **out, size_t align, size_t size, hak_callsite_t site);
void *hk_aligned_alloc_at(size_t align, size_t size, hak_callsite_t site);
void *hk_valloc_at(size_t size, hak_callsite_t site);
void *hk_pvalloc_at(size_t size, hak_callsite_t site);

/* The decision of the routing path that serves a call of `size` from `entry` now: the Central
 * Router's table in force, or the legacy path's (in the differential mode, the process's
 * executing path, the rollback latch included): the tests' reference for where a block
 * lands. A call's own routing (its site's, in a rollout by site) is the route's (hk_execute). */
HK_INLINE hk_decision hk_front_decide(size_t size, hk_entry_t entry)
{
    bool central = hk_compare_active ? hk_compare_process_central() : hk_central_active;
    if (central)
        return hk_table_decide(hk_router_table, size, entry, hk_knobs_get());
    return hk_legacy_decide(size, entry, hk_knobs_get());
}

#define HK_CALLER ((hak_callsite_t)__builtin_return_address(0))

#endif
