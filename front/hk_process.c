/* hk_process.c: the process's life under hakmem: init (options, arena, boxes, prewarm, the
 * routing path and the differential mode), the fork handlers, and what runs at exit (the
 * differential record's end, HAKMEM_STATS, the fault-injection summary).
 *
 * Init is lazy and re-entrant: the first allocation may come from the dynamic loader before
 * constructors run; a nested allocation during init is served by the mmap box.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "hk_front.h"
#include "hk_init.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_options_check.h"
#include "hk_pageheap.h"
#include "hk_purge.h"
#include "hk_stats_snap.h"
#include "hk_sys.h"
#include "hk_l25.h"
#include "hk_mid.h"
#include "hk_mmap.h"
#include "hk_pool.h"
#include "hk_tiny.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static HK_TLS bool in_init;

/* Lock order: init, the mode machine's, the purge clock (its purge functions take the
 * others), the block engine's, the mmap box's. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&init_lock);
    hk_mode_atfork_prepare();
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
    hk_mode_atfork_parent();
    pthread_mutex_unlock(&init_lock);
    hk_ph_atfork_done(); /* the purges asked for while the fork held the page heap */
}
static void atfork_child(void)
{
    hk_sys_atfork_parent(); /* the child's only thread holds the lock: release it */
    hk_os_atfork_child();
    hk_slab_atfork_child();
    hk_purge_atfork_child();
    hk_mode_atfork_parent(); /* the child's only thread holds it: release it */
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
        hk_pool_init();     /* defines the Pool classes, then prewarms the Bridge classes */
        hk_mode_register(); /* the router and compare/ reach the mode machine through it */
        hk_router_init();
        /* The build's default path, unless HAKMEM_USE_CENTRAL_ROUTER says otherwise. */
        bool central = config_central_router;
        if (config_legacy && hk_opt(HK_OPT_USE_CENTRAL_ROUTER) >= 0)
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

bool hk_exec_begin(void) { return hk_ready() && hk_compare_active && hk_divergence_exec_begin(); }

void hk_exec_failed(void) { hk_divergence_exec_failed(); }

void hk_quick_exit(int status)
{
    if (hk_ready() && hk_compare_active)
        hk_divergence_quick_exit();
    hk_sys_exit_group(status);
}
