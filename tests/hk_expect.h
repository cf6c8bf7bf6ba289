/* hk_expect.h: the test oracle, the README's routing table written out by hand, independent
 * of both routing paths (shared by the Check suites and the integration programs). */
#ifndef HK_EXPECT_H
#define HK_EXPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "hakmem.h"

/* The box the built-in routing must choose for `size` entering through the malloc family
 * (via_wrapper) or hak_alloc_at, with the knobs HAKMEM_ACE_ENABLED and HAKMEM_WRAP_L2. */
static inline hak_box_t hk_expect_box(size_t size, bool via_wrapper, bool ace_enabled, bool wrap_l2)
{
    if (size <= 1024)
        return HAK_BOX_TINY;
    if (size > 8192 && size <= 32768)
        return HAK_BOX_MID;
    if (size >= 2097152)
        return HAK_BOX_MMAP;
    if (!ace_enabled || (via_wrapper && !wrap_l2))
        return HAK_BOX_MMAP;
    return size <= 53248 ? HAK_BOX_POOL : HAK_BOX_L25;
}

#endif
