/* hk_tiny.h: the Tiny box, blocks of 0 to 1024 bytes in 20 classes (four per doubling above 128).
 *
 * class  size  worst-case internal waste (request that wastes most)
 *   0-7   16..128 step 16   15 B (waste as a share of the block: size 1 in 16 is 94%,
 *                                 17 in 32 is 47%, 113 in 128 is 12%)
 *   8-11  160 192 224 256   31 B (129 in 160: 19.4%)
 *  12-15  320 384 448 512   63 B (257 in 320: 19.7%)
 *  16-19  640 768 896 1024 127 B (513 in 640: 19.8%)
 * malloc(0) gets a unique 16-byte block. Pages of 8 KiB from the shared page heap are carved
 * into one class each (and go back to the heap when their last block is freed);
 * per-thread caches sit in front (hk_slab.h). A block freed by another thread goes into that
 * thread's cache and back to the transfer caches from there, so it is reused, never lost.
 */
#ifndef HK_TINY_H
#define HK_TINY_H

#include "hk_sizes.h"
#include "hk_slab.h"

extern const uint8_t hk_tiny_lookup[(HK_TINY_MAX >> 4) + 1];
/* The global class id (HK_CLS_TINY0 + class) of every size 0 .. HK_TINY_MAX, indexed by the
 * size itself: the front door's fast path (filled by hk_tiny_init, before any use). */
extern uint8_t hk_size_cls[HK_TINY_MAX + 1];
extern const uint16_t hk_tiny_sizes[HK_TINY_NCLASSES];

/* Class of a size <= HK_TINY_MAX. */
HK_INLINE int hk_tiny_class(size_t size) { return hk_tiny_lookup[(size + 15) >> 4]; }
/* The cache hit only (NULL when the thread's bin is empty). */
HK_INLINE void *hk_tiny_pop(int cls) { return hk_slab_pop(HK_CLS_TINY0 + (unsigned)cls); }
/* The fast path of every routing path: a block of size's class from the thread's cache when
 * size < end (the path's Tiny bound), else NULL. */
HK_INLINE void *hk_tiny_fast(size_t size, size_t end)
{
    if (HK_LIKELY(size < end))
        return hk_tiny_pop(hk_tiny_class(size));
    return NULL;
}
void hk_tiny_init(void);

#endif
