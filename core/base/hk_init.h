/* hk_init.h: whether process init is done (data: the front door's hk_init() sets it last,
 * front/hk_process.c; every layer below reads it). While it is false, the small boxes' slow
 * paths serve nothing (their callers fall back to the mmap box): that is how an allocation
 * made from inside init itself is served.
 */
#ifndef HK_INIT_H
#define HK_INIT_H

#include <stdatomic.h>

#include "hk_internal.h"

extern atomic_bool hk_initialized;

HK_INLINE bool hk_ready(void)
{
    return atomic_load_explicit(&hk_initialized, memory_order_acquire);
}

#endif
