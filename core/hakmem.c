/* hakmem.c: the front door. Process init (options, arena, boxes, prewarm, fork handlers),
 * the executor that carries out routing decisions, the hak_* API and the malloc family's
 * semantics (glibc's, edge cases included). The exported malloc symbols are in malloc_wrap.c.
 *
 * Init is lazy and re-entrant: the first allocation may come from the dynamic loader before
 * constructors run; a nested allocation during init is served by the mmap box.
 */
#define _GNU_SOURCE
#include "hakmem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "hk_compare.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_options_check.h"
#include "hk_purge.h"
#include "hk_stats.h"
#include "hk_sys.h"
#include "l25.h"
#include "mid.h"
#include "os.h"
#include "pool.h"
#include "tiny.h"

#define HK_PAGE ((size_t)4096)

atomic_bool hk_initialized;
bool hk_central_active = HAKMEM_CONFIG_CENTRAL_ROUTER;
bool hk_compare_active;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static HK_TLS bool in_init;

/* Lock order: init, the purge clock (its purge functions take the others), the block
 * engine's, the mmap box's. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&init_lock);
    hk_purge_atfork_prepare();
    hk_slab_atfork_prepare();
    hk_os_atfork_prepare();
    hk_sys_atfork_prepare();
}
static void atfork_parent(void)
{
    hk_sys_atfork_parent();
    hk_os_atfork_parent();
    hk_slab_atfork_parent();
    hk_purge_atfork_parent();
    pthread_mutex_unlock(&init_lock);
}
static void atfork_child(void)
{
    hk_sys_atfork_parent(); /* the child's only thread holds the lock: release it */
    hk_os_atfork_child();
    hk_slab_atfork_child();
    hk_purge_atfork_child();
    hk_divergence_atfork_child();
    pthread_mutex_unlock(&init_lock);
}

void hk_init(void)
{
    if (HK_LIKELY(hk_ready()) || in_init)
        return;
    pthread_mutex_lock(&init_lock);
    if (!hk_ready()) {
        in_init = true;
        hk_options_init();
        hk_options_check(config_central_router);
        hk_purge_delay = hk_opt(HK_OPT_PURGE_DELAY_MS);
        hk_purge_init();
        hk_tiny_init();
        hk_mid_init();
        hk_l25_init();
        hk_slab_init((size_t)hk_opt(HK_OPT_ARENA_GB) << 30); /* registers its purge first */
        hk_purge_register(hk_os_purge);
        hk_pool_init(); /* defines the Pool classes, then prewarms the Bridge classes */
        hk_router_init();
        /* The build's default path, unless HAKMEM_USE_CENTRAL_ROUTER says otherwise. */
        bool central = config_central_router;
        if (hk_opt(HK_OPT_USE_CENTRAL_ROUTER) >= 0)
            central = hk_opt(HK_OPT_USE_CENTRAL_ROUTER) == 1;
        hk_set_central(central);
        hk_set_compare(hk_compare_init());
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
        /* Reports written at exit reach stderr even when the program closed it first
         * (coreutils do, in atexit): keep a duplicate, checked before each use (hk_log.h). */
        if (hk_opt(HK_OPT_STATS) || hk_opt_str(HK_OPT_DIVERGENCE_REPORT) ||
            (config_fault_injection && hk_opt_str(HK_OPT_FAULT)))
            hk_log_keep_stderr();
        in_init = false;
        atomic_store_explicit(&hk_initialized, true, memory_order_release);
    }
    pthread_mutex_unlock(&init_lock);
}

__attribute__((constructor)) static void hk_constructor(void) { hk_init(); }

/* Fault-injection builds: say what HAKMEM_FAULT did (test drivers stop a sweep when a run
 * injected nothing). */
static void fault_report(void)
{
    char line[512];
    size_t n = 0;
    for (int i = 0; i < HK_SYS_COUNT; i++)
        if (hk_fault_calls((hk_sys_prim)i))
            n += hk_fmt(line + n, sizeof line - n, "%s%s %llu calls %llu injected", n ? ", " : "",
                        hk_sys_name((hk_sys_prim)i),
                        (unsigned long long)hk_fault_calls((hk_sys_prim)i),
                        (unsigned long long)hk_fault_injected((hk_sys_prim)i));
    hk_warn("fault injection (HAKMEM_FAULT=%s): %s", hk_opt_str(HK_OPT_FAULT),
            n ? line : "no call of an armed primitive");
}

__attribute__((destructor)) static void hk_destructor(void)
{
    if (hk_ready() && hk_compare_active)
        hk_divergence_exit();
    int fd;
    if (hk_ready() && hk_opt(HK_OPT_STATS) && (fd = hk_log_fd()) >= 0) {
        if (hk_opt(HK_OPT_STATS) == 2)
            (void)hk_stats_json(fd);
        else
            hk_stats_report(fd);
    }
    if (config_fault_injection && hk_ready() && hk_opt_str(HK_OPT_FAULT))
        fault_report(); /* last: the exit-time writes above count */
}

void hk_quick_exit(int status)
{
    if (hk_ready() && hk_compare_active)
        hk_divergence_quick_exit();
    hk_sys_exit_group(status);
}

volatile unsigned char hk_front_mode = HK_FRONT_INIT;
hk_front_fast_t hk_front_fast = {0, hk_size_cls};

void *hk_front_other(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (hk_front_mode == HK_FRONT_COMPARE)
        return hk_compare_alloc(size, site, entry);
    hk_init();
    if (hk_front_mode == HK_FRONT_INIT) {
        /* An allocation from inside init itself: the build's default path serves it. */
        if (config_central_router)
            return hk_router_alloc_inline(size, site, entry);
        return hk_legacy_alloc(size, site, entry);
    }
    return hk_front_alloc(size, site, entry);
}

void *hk_front_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    switch (hk_front_mode) {
    case HK_FRONT_LEGACY:
        hk_tc.tctr[HK_TCTR_SERVED_LEGACY]++;
        return hk_legacy_alloc_slow(size, site, entry);
    case HK_FRONT_CENTRAL:
        hk_tc.tctr[HK_TCTR_SERVED_CENTRAL]++;
        return hk_router_alloc_slow(size, site, entry);
    case HK_FRONT_DIFF_CENTRAL:
        return hk_diff_alloc(size, site, entry, true);
    case HK_FRONT_DIFF_LEGACY:
        return hk_diff_alloc(size, site, entry, false);
    default:
        return hk_front_other(size, site, entry);
    }
}

void hk_front_update_mode(void)
{
    unsigned char m;
    if (!hk_compare_active)
        m = hk_central_active ? HK_FRONT_CENTRAL : HK_FRONT_LEGACY;
    else if (hk_report_requested || !hk_compare_inline_ok())
        m = HK_FRONT_COMPARE;
    else
        m = hk_compare_process_central() ? HK_FRONT_DIFF_CENTRAL : HK_FRONT_DIFF_LEGACY;
    /* The fast path: closed while the mode changes, its allocations so far settled to the
     * path that served them, then opened for the new path (legacy and central only). */
    hk_front_fast.end = 0;
    if (m <= HK_FRONT_CENTRAL)
        hk_slab_fast_settle(m == HK_FRONT_CENTRAL);
    hk_front_mode = m;
    /* A SIGUSR2 between the test above and the store: its mode switch was overwritten. */
    if ((m == HK_FRONT_DIFF_LEGACY || m == HK_FRONT_DIFF_CENTRAL) && hk_report_requested)
        hk_front_mode = HK_FRONT_COMPARE;
    if (m <= HK_FRONT_CENTRAL)
        hk_front_fast.end = hk_tiny_end_of[m];
}

void hk_set_compare(bool on)
{
    hk_compare_active = on;
    hk_front_update_mode();
}

void hk_set_central(bool central)
{
    hk_central_active = central;
    hk_front_update_mode();
}

hak_knobs_t hak_knobs(void) { return hk_knobs_get(); }

hak_decision_t hak_legacy_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs)
{
    return hk_legacy_decide(size, entry, knobs);
}

void *hk_execute(hk_decision d, size_t size, bool *fell_back)
{
    void *p;
    switch (d.box) {
    case HAK_BOX_TINY: p = hk_tiny_alloc(d.cls); break;
    case HAK_BOX_POOL: p = hk_pool_alloc(d.cls); break;
    case HAK_BOX_MID: p = hk_mid_alloc(d.cls); break;
    case HAK_BOX_L25: p = hk_l25_alloc(d.cls); break;
    default: p = NULL; break;
    }
    if (HK_LIKELY(p != NULL))
        return p;
    if (d.box != HAK_BOX_MMAP) {
        hk_count_fallback(d.box);
        if (fell_back)
            *fell_back = true;
    }
    p = hk_os_alloc_dirty(size, HK_MIN_ALIGN);
    if (!p) {
        hk_count(HK_CTR_ENOMEM);
        errno = ENOMEM;
    }
    return p;
}

/* ---------------------------------------------------------------- free and queries */

hk_ptr_kind hk_ptr_check(const void *p, hk_ptr_info *info)
{
    if (hk_slab_owns(p))
        return hk_slab_classify(p, info);
    if (hk_ph_owns_meta(p)) {
        *info = (hk_ptr_info){HK_PTR_INVALID, HK_WHY_METADATA, HAK_BOX_NONE, 0, 0, 0, false};
        return HK_PTR_INVALID;
    }
    return hk_os_classify(p, info);
}

HK_COLD HK_NORETURN static void pointer_fault(const char *op, const void *p)
{
    hk_ptr_info info;
    hk_ptr_check(p, &info);
    hk_ptr_fault(op, p, &info);
}

void hk_free_other(void *p)
{
    if (!p)
        return;
    if (hk_slab_owns(p))
        hk_slab_free_slow(p); /* misaligned, or past the committed prefix: named there */
    else
        hk_free_slow(p);
}

void hk_free_slow(void *p)
{
    if (!hk_os_free(p))
        pointer_fault("free()", p);
}

static size_t usable_size(const void *p, const char *op)
{
    size_t u = hk_slab_owns(p) ? hk_slab_usable(p) : hk_os_usable(p);
    if (HK_UNLIKELY(!u))
        pointer_fault(op, p);
    return u;
}

hak_box_t hak_box_of(const void *p)
{
    if (!p)
        return HAK_BOX_NONE;
    if (hk_slab_owns(p))
        return hk_slab_box_of(p);
    return hk_os_owns(p) ? HAK_BOX_MMAP : HAK_BOX_NONE;
}

const char *hak_box_name(hak_box_t box)
{
    static const char *const names[HAK_BOX_COUNT] = {"none", "tiny", "pool", "mid", "l25",
                                                     "mmap"};
    return (unsigned)box < HAK_BOX_COUNT ? names[box] : "none";
}

/* ---------------------------------------------------------------- the family */

static void *enomem(void)
{
    hk_count(HK_CTR_ENOMEM);
    errno = ENOMEM;
    return NULL;
}

void *hk_calloc_at(size_t n, size_t size, hak_callsite_t site)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return enomem();
    void *p = hk_front_malloc(total, site);
    if (p && (hk_slab_owns(p) || !hk_os_fresh(p))) /* fresh mappings are already zero */
        memset(p, 0, total);
    return p;
}

void *hk_realloc_at(void *p, size_t size, hak_callsite_t site)
{
    if (!p)
        return hk_front_malloc(size, site);
    if (size == 0) { /* glibc: free and return NULL (a bad p is named as realloc's) */
        (void)usable_size(p, "realloc()");
        hk_front_free(p);
        return NULL;
    }
    if (size > HK_MAX_REQUEST) {
        (void)usable_size(p, "realloc()");
        return enomem();
    }
    size_t usable = usable_size(p, "realloc()");
    if (hk_slab_owns(p)) {
        if (size <= usable && (size > usable / 2 || usable <= 64))
            return p; /* fits, and not wastefully: keep it */
    } else if (size >= HK_MMAP_MIN) {
        void *q = hk_os_resize(p, size); /* in place or mremap, no copy */
        if (q)
            return q;
    }
    void *q = hk_front_malloc(size, site);
    if (!q)
        return NULL; /* p stays valid, errno is ENOMEM */
    memcpy(q, p, size < usable ? size : usable);
    hk_front_free(p);
    return q;
}

void *hk_reallocarray_at(void *p, size_t n, size_t size, hak_callsite_t site)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return enomem();
    return hk_realloc_at(p, total, site);
}

void *hk_memalign_at(size_t align, size_t size, hak_callsite_t site)
{
    if (align <= HK_MIN_ALIGN)
        return hk_front_malloc(size, site);
    if (align > SIZE_MAX / 2 + 1) { /* as glibc: EINVAL only above the largest power of 2 */
        errno = EINVAL;
        return NULL;
    }
    if (!hk_is_pow2(align)) /* glibc rounds a non-power-of-two alignment up */
        align = (size_t)1 << (64 - __builtin_clzll((unsigned long long)align));
    if (size > HK_MAX_REQUEST || align > HK_MAX_REQUEST)
        return enomem();
    size_t total = size + align;
    if (hk_front_decide(total, HK_ENTRY_WRAP).box == HAK_BOX_MMAP) {
        void *p = hk_os_alloc_dirty(size, align);
        return p ? p : enomem();
    }
    void *p = hk_front_malloc(total, site);
    if (!p || ((uintptr_t)p & (align - 1)) == 0)
        return p;
    if (hk_slab_owns(p)) {
        void *q = (void *)hk_align_up((uintptr_t)p, align);
        hk_slab_mark_aligned(p, q);
        return q;
    }
    /* A fallback to the mmap box: allocate it aligned there instead. */
    hk_os_free(p);
    p = hk_os_alloc_dirty(size, align);
    return p ? p : enomem();
}

int hk_posix_memalign_at(void **out, size_t align, size_t size, hak_callsite_t site)
{
    if (align < sizeof(void *) || !hk_is_pow2(align))
        return EINVAL;
    int saved = errno;
    void *p = hk_memalign_at(align, size, site);
    if (!p)
        return ENOMEM;
    errno = saved;
    *out = p;
    return 0;
}

void *hk_aligned_alloc_at(size_t align, size_t size, hak_callsite_t site)
{
    if (!hk_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return hk_memalign_at(align, size, site);
}

void *hk_valloc_at(size_t size, hak_callsite_t site) { return hk_memalign_at(HK_PAGE, size, site); }

void *hk_pvalloc_at(size_t size, hak_callsite_t site)
{
    if (size > HK_MAX_REQUEST)
        return enomem();
    return hk_memalign_at(HK_PAGE, hk_align_up(size ? size : 1, HK_PAGE), site);
}

/* ---------------------------------------------------------------- the hak_* API */

void *hak_alloc_at(size_t size, hak_callsite_t site) { return hk_front_alloc(size, site, HK_ENTRY_API); }
void hak_free(void *p) { hk_front_free(p); }
void *hak_malloc(size_t size) { return hk_front_malloc(size, HK_CALLER); }
void *hak_calloc(size_t n, size_t size) { return hk_calloc_at(n, size, HK_CALLER); }
void *hak_realloc(void *p, size_t size) { return hk_realloc_at(p, size, HK_CALLER); }
void *hak_reallocarray(void *p, size_t n, size_t size)
{
    return hk_reallocarray_at(p, n, size, HK_CALLER);
}
int hak_posix_memalign(void **out, size_t align, size_t size)
{
    return hk_posix_memalign_at(out, align, size, HK_CALLER);
}
void *hak_aligned_alloc(size_t align, size_t size)
{
    return hk_aligned_alloc_at(align, size, HK_CALLER);
}
void *hak_memalign(size_t align, size_t size) { return hk_memalign_at(align, size, HK_CALLER); }
void *hak_valloc(size_t size) { return hk_valloc_at(size, HK_CALLER); }
void *hak_pvalloc(size_t size) { return hk_pvalloc_at(size, HK_CALLER); }

size_t hak_malloc_usable_size(const void *p)
{
    return p ? usable_size(p, "malloc_usable_size()") : 0;
}
void hak_free_sized(void *p, size_t size)
{
    (void)size;
    hk_front_free(p);
}
void hak_free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    hk_front_free(p);
}

int hak_malloc_trim(size_t pad)
{
    (void)pad;
    hk_init();
    size_t released = hk_slab_trim(); /* the calling thread's cache and every small box */
    released += hk_os_trim();         /* every cached region of the mmap box, what it kept */
    released += hk_sys_release_retry(); /* the arena's pieces munmap refused at init */
    return released > 0;
}
