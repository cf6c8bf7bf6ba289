/* hk_mid.h: the Mid box, 8 KiB+1 .. 32 KiB in 8 classes (four per doubling), 128-256 KiB pages
 * of the shared page heap, sharded transfer caches, per-thread caches in front.
 *
 *  class  size    serves              worst-case waste
 *    0    10 KiB  8193 .. 10240 B     2047 B (20%)
 *    1-3  12, 14, 16 KiB              2047 B (16.7%, 14.3%, 12.5%)
 *    4-7  20, 24, 28, 32 KiB          4095 B (20% at 16 KiB+1)
 */
#ifndef HK_MID_H
#define HK_MID_H

#include "hk_sizes.h"
#include "hk_slab.h"

extern const uint8_t hk_mid_lookup[16];
extern const uint32_t hk_mid_sizes[HK_MID_NCLASSES];

/* Class of a size <= HK_MID_MAX (sizes <= 8 KiB get class 0). */
HK_INLINE int hk_mid_class(size_t size) { return size ? hk_mid_lookup[(size - 1) >> 11] : 0; }
void hk_mid_init(void);

#endif
