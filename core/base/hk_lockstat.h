/* hk_lockstat.h: how often the block engine's shared locks are taken, and how often a thread
 * found one held and waited (the measure of contention behind README's "Scaling").
 *
 * The counts are kept by the lock's holder, so they need no atomic read-modify-write and add
 * no cache-line traffic of their own: a trylock first (one atomic, as a lock's), a blocking
 * lock only when it failed, then two relaxed stores while the lock is held. Readers load
 * them without the lock (relaxed; a count may be one behind).
 */
#ifndef HK_LOCKSTAT_H
#define HK_LOCKSTAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "hk_internal.h"

typedef struct {
    _Atomic uint64_t acquired; /* times taken */
    _Atomic uint64_t waited;   /* of which the lock was held by another thread first */
} hk_lockstat;

/* Counts of a kind of lock, summed over its instances. */
typedef struct {
    uint64_t acquired, waited;
} hk_lockcount;

HK_INLINE void hk_lockstat_bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* pthread_mutex_lock(m), counted in s. */
HK_INLINE void hk_lock_counted(pthread_mutex_t *m, hk_lockstat *s)
{
    if (HK_UNLIKELY(pthread_mutex_trylock(m) != 0)) {
        pthread_mutex_lock(m);
        hk_lockstat_bump(&s->waited);
    }
    hk_lockstat_bump(&s->acquired);
}

/* pthread_mutex_trylock(m), its success counted in s (a busy lock is skipped, not waited). */
HK_INLINE bool hk_trylock_counted(pthread_mutex_t *m, hk_lockstat *s)
{
    if (pthread_mutex_trylock(m) != 0)
        return false;
    hk_lockstat_bump(&s->acquired);
    return true;
}

HK_INLINE void hk_lockcount_add(hk_lockcount *to, const hk_lockstat *s)
{
    to->acquired += atomic_load_explicit(&s->acquired, memory_order_relaxed);
    to->waited += atomic_load_explicit(&s->waited, memory_order_relaxed);
}

#endif
