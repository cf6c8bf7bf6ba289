/* hk_mode.c: the front door's mode machine: which path serves allocations (legacy, central,
 * the inline differential path, the out-of-line compare path, init), kept in one byte and in
 * the routes the fast path's miss calls (hk_front.h), and those routes.
 */
#include "hk_front.h"

#include <pthread.h>

#include "hk_boxes.h"
#include "hk_tiny.h"

bool hk_compare_active;

/* The mode byte (hk_front.h), read and written with relaxed atomics: it changes while other
 * threads allocate (the router's controls, the rollback latch, the SIGUSR2 handler). */
HK_INLINE unsigned char front_mode(void)
{
    return __atomic_load_n(&hk_front_mode, __ATOMIC_RELAXED);
}
static const hk_front_route_fn mode_route[HK_FRONT_INIT + 1][2];
/* Each word written only when it changes (the fast path's miss reads the routes). A SIGUSR2
 * handler's switch (leave_inline) can land between the stores; the caller's second call
 * (hk_front_update_mode) then completes its own switch word by word. */
HK_INLINE void set_front_mode(unsigned char m)
{
    if (front_mode() != m)
        __atomic_store_n(&hk_front_mode, m, __ATOMIC_RELAXED);
    for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
        if (__atomic_load_n(&hk_front_route[e], __ATOMIC_RELAXED) != mode_route[m][e])
            __atomic_store_n(&hk_front_route[e], mode_route[m][e], __ATOMIC_RELAXED);
}

/* From compare's SIGUSR2 handler (async-signal-safe): the inline differential modes do not
 * look at the report flag, so the next allocation goes out of line, where it is written. */
static void leave_inline(void)
{
    unsigned char m = front_mode();
    if (m == HK_FRONT_DIFF_LEGACY || m == HK_FRONT_DIFF_CENTRAL)
        set_front_mode(HK_FRONT_COMPARE);
}

/* The second table of path m is rebuilt when the knobs it was built with changed, or the
 * router's table or log (router_changed) for the central path. */
static bool span_stale[2] = {true, true};
static hk_knobs span_knobs[2];
static void span_build(unsigned m);
static void *span_alloc_diff(bool central, size_t size, hk_entry_t entry);

/* The path whose second table mode m reads: legacy, central, the differential modes'
 * executing path (hk_diff_unsampled_seen, through span_alloc_diff); -1 for the others. */
static int span_path(unsigned char m)
{
    if (m <= HK_FRONT_CENTRAL)
        return m;
    if (m == HK_FRONT_DIFF_LEGACY || m == HK_FRONT_DIFF_CENTRAL)
        return m == HK_FRONT_DIFF_CENTRAL;
    return -1;
}

/* One thread at a time re-derives the mode and writes what follows from it (the routes, the
 * fast path's bound, the second tables): the report writer, the rollback latch, the router's
 * controls and the knobs may do so at once, and the last to write must be the one that saw
 * the latest state (a rollback latched while another thread restored the inline path after a
 * report left the Central Router executing). Never taken by the SIGUSR2 handler
 * (leave_inline); held around fork (hk_mode_atfork_*). */
static pthread_mutex_t mode_lock = PTHREAD_MUTEX_INITIALIZER;
static void update_mode_locked(void);

void hk_mode_atfork_prepare(void) { pthread_mutex_lock(&mode_lock); }
void hk_mode_atfork_parent(void) { pthread_mutex_unlock(&mode_lock); }

/* From the router, after its table or Tiny bound changed (after init, which sets the mode
 * itself). */
static void router_changed(void)
{
    pthread_mutex_lock(&mode_lock);
    span_stale[HK_FRONT_CENTRAL] = true;
    if (front_mode() != HK_FRONT_INIT)
        update_mode_locked();
    pthread_mutex_unlock(&mode_lock);
}

/* From the options (a test changing the knobs): the second table follows them. */
static void knobs_changed(void)
{
    pthread_mutex_lock(&mode_lock);
    int path = span_path(front_mode());
    if (path >= 0)
        span_build((unsigned)path);
    pthread_mutex_unlock(&mode_lock);
}

void hk_mode_register(void)
{
    hk_knobs_changed_hook = knobs_changed;
    hk_compare_hooks = (hk_compare_hooks_t){hk_front_update_mode, leave_inline, span_alloc_diff};
    hk_router_front_hook = router_changed;
}

volatile unsigned char hk_front_mode = HK_FRONT_INIT;
hk_front_fast_t hk_front_fast = {0, hk_size_cls};

void *hk_front_other(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (front_mode() == HK_FRONT_COMPARE)
        return hk_compare_alloc(size, site, entry);
    hk_init();
    if (front_mode() == HK_FRONT_INIT) {
        /* An allocation from inside init itself: the build's default path serves it. */
        if (config_central_router)
            return hk_router_alloc_inline(size, site, entry);
        return hk_legacy_alloc(size, site, entry);
    }
    return hk_front_alloc(size, site, entry);
}

uint8_t hk_front_span[2][2][HK_FRONT_SPAN_N];

/* The debug builds' check of a class the second table of path m gave for size. */
static void span_check(unsigned m, size_t size, hk_entry_t entry, unsigned cls)
{
    hak_box_t box = (hak_box_t)hk_classes[cls].box;
    hk_decision d = {box, (int)cls - hk_boxes[box].engine0};
    if (m == HK_FRONT_CENTRAL)
        hk_table_check(hk_router_table, size, entry, hk_knobs_get(), d);
    else if (config_legacy)
        hk_legacy_check(size, entry, hk_knobs_get(), d);
}

/* The class the second table (hk_front.h) of path m holds for size, or 0. */
static inline unsigned span_class(unsigned m, size_t size, hk_entry_t entry)
{
    if (size > HK_POOL_MAX) /* first: the rounding below would wrap near SIZE_MAX */
        return 0;
    unsigned cls =
        __atomic_load_n(&hk_front_span[m][entry][(size + (1u << HK_FRONT_SPAN_SHIFT) - 1) >>
                                                 HK_FRONT_SPAN_SHIFT],
                        __ATOMIC_ACQUIRE);
    if (HK_ASSERT_LEVEL >= 2 && cls != 0)
        span_check(m, size, entry, cls);
    return cls;
}

/* The legacy and central slow routes' use of it: a block of the class path m decides for size,
 * from the thread's cache (counted by the cache alone, as the fast path's), else refilled
 * (counted as the path's slow route); NULL where the table has no class, or the engine has
 * no block: the path's slow route then serves (and falls back, counted). */
static inline void *span_alloc(unsigned m, size_t size, hk_entry_t entry)
{
    unsigned cls = span_class(m, size, entry);
    if (cls == 0)
        return NULL;
    void *p = hk_slab_pop_fast(cls);
    if (HK_LIKELY(p != NULL))
        return p;
    p = hk_slab_alloc_slow(cls);
    if (p)
        hk_slab_count(HK_TCTR_SERVED_LEGACY + m);
    return p;
}

/* The differential modes' use of it (hk_compare_hooks.span_alloc): the call was counted by
 * compare already, so the pop is counted apart from the fast path's. */
static void *span_alloc_diff(bool central, size_t size, hk_entry_t entry)
{
    unsigned cls = span_class(central, size, entry);
    if (cls == 0)
        return NULL;
    void *p = hk_slab_pop(cls);
    return p ? p : hk_slab_alloc_slow(cls);
}

/* The legacy and central slow routes, the second table first; out of line (one function per
 * path, the path a constant), so that the dispatch below stays a jump (no frame) for the
 * differential modes. */
HK_INLINE void *path_slow(unsigned m, size_t size, hak_callsite_t site, hk_entry_t entry)
{
    void *p = span_alloc(m, size, entry);
    if (p)
        return p;
    hk_slab_count(HK_TCTR_SERVED_LEGACY + m);
    if (m == HK_FRONT_CENTRAL)
        return hk_router_alloc_slow(size, site, entry);
    return hk_legacy_alloc_slow(size, site, entry);
}

static HK_NOINLINE void *legacy_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    return path_slow(HK_FRONT_LEGACY, size, site, entry);
}

static HK_NOINLINE void *central_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    return path_slow(HK_FRONT_CENTRAL, size, site, entry);
}

/* The inline differential path, one function per executing path and entry (both constants
 * there). */
#define DIFF_ROUTE(name, e, central)                                                               \
    static void *name(size_t size, hak_callsite_t site, hk_entry_t entry)                          \
    {                                                                                              \
        (void)entry;                                                                               \
        return hk_diff_alloc(size, site, e, central);                                              \
    }
DIFF_ROUTE(diff_legacy_wrap, HK_ENTRY_WRAP, false)
DIFF_ROUTE(diff_legacy_api, HK_ENTRY_API, false)
DIFF_ROUTE(diff_central_wrap, HK_ENTRY_WRAP, true)
DIFF_ROUTE(diff_central_api, HK_ENTRY_API, true)

/* Each mode's routes, per entry (the mode byte's values index it). */
static const hk_front_route_fn mode_route[HK_FRONT_INIT + 1][2] = {
    [HK_FRONT_LEGACY] = {legacy_slow, legacy_slow},
    [HK_FRONT_CENTRAL] = {central_slow, central_slow},
    [HK_FRONT_DIFF_LEGACY] = {diff_legacy_wrap, diff_legacy_api},
    [HK_FRONT_DIFF_CENTRAL] = {diff_central_wrap, diff_central_api},
    [HK_FRONT_COMPARE] = {hk_front_other, hk_front_other},
    [HK_FRONT_INIT] = {hk_front_other, hk_front_other},
};
hk_front_route_fn hk_front_route[2] = {hk_front_other, hk_front_other};

void (*hk_mode_pause_hook)(void);

bool hk_front_routes_match(void)
{
    unsigned char m = front_mode();
    for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
        if (__atomic_load_n(&hk_front_route[e], __ATOMIC_RELAXED) != mode_route[m][e])
            return false;
    return true;
}

/* The path's decision, uncounted (test builds count the decisions of allocations). */
static hk_decision span_decide(unsigned m, size_t size, hk_entry_t entry, hk_knobs k)
{
    if (m == HK_FRONT_CENTRAL)
        return hk_table_lookup(hk_router_table, size, entry, k);
    return hk_legacy_lookup(size, entry, k);
}

/* Fill the second table of path m from its decisions (before the mode opens the path). The
 * sizes lo .. hi of an entry get one class when the path decides alike for lo and hi: every
 * box's class grows with the size, and a path's box changes only where one of its ranges
 * ends, which for the legacy path is at a multiple of 256 (hk_legacy.h) and for a router
 * table wherever a rule starts, so an entry that a rule starts inside gets 0. The entries
 * decide alike unless the malloc family's requests skip ACE (wrap_l2 off). */
static void span_build(unsigned m)
{
    hk_knobs k = hk_knobs_get();
    if (!span_stale[m] && span_knobs[m].ace_enabled == k.ace_enabled &&
        span_knobs[m].wrap_l2 == k.wrap_l2)
        return;
    /* Built apart, then published entry by entry: other threads may be reading the table
     * (hak_router_set_verbose at run time, the rollback latch), and each entry must go from
     * one correct value to another, never through an unfinished one. */
    uint8_t t[2][HK_FRONT_SPAN_N];
    bool off = m == HK_FRONT_CENTRAL ? hk_router_verbose() : !config_legacy;
    for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
        for (size_t i = 0; i < HK_FRONT_SPAN_N; i++) {
            size_t hi = i << HK_FRONT_SPAN_SHIFT, lo = i ? hi - (1u << HK_FRONT_SPAN_SHIFT) + 1 : 0;
            unsigned cls = 0;
            if (e == HK_ENTRY_API && k.wrap_l2) {
                cls = t[HK_ENTRY_WRAP][i];
            } else if (!off) {
                hk_decision a = span_decide(m, lo, (hk_entry_t)e, k),
                            b = span_decide(m, hi, (hk_entry_t)e, k);
                if (a.box == b.box && a.cls == b.cls)
                    cls = hk_box_engine_class(a.box, a.cls);
            }
            t[e][i] = (uint8_t)cls;
        }
    if (m == HK_FRONT_CENTRAL)
        for (int r = 1; r < hk_router_table->n; r++) {
            size_t lo = hk_router_table->rules[r].lo,
                   i = (lo + (1u << HK_FRONT_SPAN_SHIFT) - 1) >> HK_FRONT_SPAN_SHIFT;
            if (i < HK_FRONT_SPAN_N && ((lo - 1) & ((1u << HK_FRONT_SPAN_SHIFT) - 1)) != 0)
                t[HK_ENTRY_WRAP][i] = t[HK_ENTRY_API][i] = 0;
        }
    for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
        for (size_t i = 0; i < HK_FRONT_SPAN_N; i++)
            __atomic_store_n(&hk_front_span[m][e][i], t[e][i], __ATOMIC_RELEASE);
    span_knobs[m] = k;
    span_stale[m] = false;
}

void hk_front_update_mode(void)
{
    pthread_mutex_lock(&mode_lock);
    update_mode_locked();
    pthread_mutex_unlock(&mode_lock);
}

static void update_mode_locked(void)
{
    unsigned char m;
    if (!hk_compare_active)
        m = hk_central_active ? HK_FRONT_CENTRAL : HK_FRONT_LEGACY;
    else if (hk_report_requested || !hk_compare_inline_ok())
        m = HK_FRONT_COMPARE;
    else
        m = hk_compare_process_central() ? HK_FRONT_DIFF_CENTRAL : HK_FRONT_DIFF_LEGACY;
    if (HK_UNLIKELY(hk_mode_pause_hook != NULL))
        hk_mode_pause_hook();
    /* The fast path: closed while the mode changes, its allocations so far settled to the
     * path that served them, then opened for the new path (legacy and central only). Its
     * bound is read on the fast path with a plain load (a compare with memory), so it is
     * written only when it changes: a differential mode's rebuilds leave it alone. */
    if (hk_front_fast.end != 0)
        hk_front_fast.end = 0;
    int path = span_path(m);
    if (path >= 0) {
        /* the fast path's pops so far to the path that served them (the inline differential
         * path's Tiny pops are counted as the fast path's: its executing path's) */
        hk_slab_fast_settle(path == HK_FRONT_CENTRAL);
        span_build((unsigned)path); /* the second table, before the mode can read it */
    }
    set_front_mode(m);
    /* A SIGUSR2 between the test above and the store: its mode switch was overwritten. */
    if ((m == HK_FRONT_DIFF_LEGACY || m == HK_FRONT_DIFF_CENTRAL) && hk_report_requested)
        set_front_mode(HK_FRONT_COMPARE);
    if (m <= HK_FRONT_CENTRAL)
        hk_front_fast.end = __atomic_load_n(&hk_tiny_end_of[m], __ATOMIC_RELAXED);
}

void hk_front_check_fast(size_t size, hk_entry_t entry, unsigned cls)
{
    unsigned char m = front_mode();
    if (m <= HK_FRONT_CENTRAL)
        span_check(m, size, entry, cls);
}

void hk_set_compare(bool on)
{
    hk_compare_active = on;
    hk_front_update_mode();
}

void hk_set_central(bool central)
{
    hk_central_active = central || !config_legacy; /* --disable-legacy: the router only */
    hk_front_update_mode();
}
