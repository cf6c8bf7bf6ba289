/* hk_init.h: process-wide initialisation, shared by the front door and the boxes' slow paths.
 *
 * hk_init() is idempotent and safe to call from any slow path, including recursively while
 * init itself runs (it then returns at once, with hk_ready() still false: callers must
 * serve such requests without the small boxes, i.e. from the mmap box).
 */
#ifndef HK_INIT_H
#define HK_INIT_H

#include <stdatomic.h>

#include "hk_internal.h"

extern atomic_bool hk_initialized;

void hk_init(void);
HK_INLINE bool hk_ready(void) { return atomic_load_explicit(&hk_initialized, memory_order_acquire); }

#endif
