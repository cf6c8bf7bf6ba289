/* hk_purge.c: the delayed purge's clock and scheduling (see hk_purge.h). */
#include "hk_purge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

_Atomic long hk_purge_delay = -1;
static _Atomic uint32_t hk_purge_next = HK_PURGE_NEVER;
static hk_purge_thread_fn thread_hook;

static hk_purge_fn fns[HK_PURGE_MAX_FNS];
static int nfns;
static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t base_ms;

static int64_t clock_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
#endif
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hk_purge_init(void) { base_ms = clock_ms(); }

uint32_t hk_purge_now(void)
{
    uint32_t t = (uint32_t)(clock_ms() - base_ms);
    return t == HK_PURGE_NEVER ? 0 : t;
}

void hk_purge_register(hk_purge_fn fn)
{
    hk_assert(nfns < HK_PURGE_MAX_FNS);
    fns[nfns++] = fn;
}

void hk_purge_schedule(uint32_t deadline)
{
    if (deadline == HK_PURGE_NEVER)
        return;
    uint32_t cur = atomic_load_explicit(&hk_purge_next, memory_order_relaxed);
    while (cur == HK_PURGE_NEVER || (int32_t)(deadline - cur) < 0) {
        if (atomic_compare_exchange_weak_explicit(&hk_purge_next, &cur, deadline,
                                                  memory_order_relaxed, memory_order_relaxed))
            return;
    }
}

static void run_locked(uint32_t now, bool all)
{
    /* Cleared first: a deadline scheduled while the functions run is kept (schedule takes
     * the earliest), and each function reports what it still holds. */
    atomic_store_explicit(&hk_purge_next, HK_PURGE_NEVER, memory_order_relaxed);
    for (int i = 0; i < nfns; i++)
        hk_purge_schedule(fns[i](now, all));
}

void hk_purge_set_thread_hook(hk_purge_thread_fn fn) { thread_hook = fn; }

void hk_purge_set_delay(long ms)
{
    pthread_mutex_lock(&purge_lock);
    hk_purge_delay = ms;
    /* Every owner recomputes its deadlines under the new delay (what is due now goes now). */
    run_locked(hk_purge_now(), false);
    pthread_mutex_unlock(&purge_lock);
}

void hk_purge_tick(void)
{
    if (hk_purge_delay < 0)
        return;
    uint32_t now = hk_purge_now();
    if (thread_hook)
        thread_hook(now);
    uint32_t next = atomic_load_explicit(&hk_purge_next, memory_order_relaxed);
    if (!hk_purge_due(next, now) || pthread_mutex_trylock(&purge_lock) != 0)
        return; /* nothing due, or another thread purges */
    run_locked(now, false);
    pthread_mutex_unlock(&purge_lock);
}

void hk_purge_atfork_prepare(void) { pthread_mutex_lock(&purge_lock); }
void hk_purge_atfork_parent(void) { pthread_mutex_unlock(&purge_lock); }
void hk_purge_atfork_child(void) { pthread_mutex_unlock(&purge_lock); }
