/* hk_purge.h: when free memory goes back to the OS (the delayed purge's clock).
 *
 * Free memory that stays free for HAKMEM_PURGE_DELAY_MS (0: at once, -1: never) is returned
 * to the OS by whoever owns it (the page heap's free runs, the mmap box's cached regions, the
 * central transfer caches' idle blocks). There is no timer thread: the owners register a
 * purge function here, and slow paths (page release, refill and flush, the mmap box's
 * allocations and frees) call hk_purge_tick(), which reads the coarse monotonic clock and,
 * once the earliest registered deadline has passed, runs the purge functions (one thread at
 * a time; a thread that finds another purging carries on).
 *
 * Each purge function returns the time of its next deadline (HK_PURGE_NEVER when it holds
 * nothing); an owner that frees something calls hk_purge_schedule(when) so that the next
 * tick after `when` runs it.
 */
#ifndef HK_PURGE_H
#define HK_PURGE_H

#include <stdatomic.h>

#include "hk_internal.h"

#define HK_PURGE_NEVER UINT32_MAX
#define HK_PURGE_MAX_FNS 4

/* Milliseconds on the coarse monotonic clock since the first call (wraps after 49 days:
 * compare with hk_purge_due, never with <). */
uint32_t hk_purge_now(void);
/* The delay in force (ms; -1: never). Read at init from HAKMEM_PURGE_DELAY_MS; changed
 * only by hk_purge_set_delay (mallopt), while other threads' frees read it without a lock:
 * atomic, so each read sees the old delay or the new one (a plain load on x86-64). */
extern _Atomic long hk_purge_delay;
/* A new delay from now on: the owners' purge functions run at once to reschedule (what the
 * new delay makes due is released now). */
void hk_purge_set_delay(long ms);
HK_INLINE bool hk_purge_due(uint32_t deadline, uint32_t now)
{
    return deadline != HK_PURGE_NEVER && (int32_t)(now - deadline) >= 0;
}
/* The deadline of something freed now (HK_PURGE_NEVER when the delay is -1). */
HK_INLINE uint32_t hk_purge_deadline(uint32_t now)
{
    long delay = hk_purge_delay;
    if (delay < 0)
        return HK_PURGE_NEVER;
    uint32_t d = now + (uint32_t)delay;
    return d == HK_PURGE_NEVER ? d - 1 : d;
}

/* fn(now, all): purge what is due at `now` (everything when `all`), return the next
 * deadline. Registered once at init. */
typedef uint32_t (*hk_purge_fn)(uint32_t now, bool all);
void hk_purge_register(hk_purge_fn fn);

void hk_purge_init(void);
/* Make sure the purge functions run at the first tick at or after `deadline`. */
void hk_purge_schedule(uint32_t deadline);

/* The calling thread's part (hk_purge_set_thread_hook: the block engine collects the bins
 * of its thread cache that sat idle for a delay), called by every tick with the time. */
typedef void (*hk_purge_thread_fn)(uint32_t now);
void hk_purge_set_thread_hook(hk_purge_thread_fn fn);

/* The slow paths' clock check (a vDSO clock read; no lock may be held): the calling
 * thread's hook, then the purge functions when the earliest deadline has passed. */
void hk_purge_tick(void);

void hk_purge_atfork_prepare(void);
void hk_purge_atfork_parent(void);
void hk_purge_atfork_child(void);

#endif
