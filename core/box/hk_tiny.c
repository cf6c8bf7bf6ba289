/* hk_tiny.c: the Tiny box's classes (see hk_tiny.h). */
#include "hk_tiny.h"

const uint16_t hk_tiny_sizes[HK_TINY_NCLASSES] = {16,  32,  48,  64,  80,  96,  112,
                                                  128, 160, 192, 224, 256, 320, 384,
                                                  448, 512, 640, 768, 896, 1024};

/* Indexed by (size + 15) / 16; kept constant so the first malloc, before init, is right. */
const uint8_t hk_tiny_lookup[(HK_TINY_MAX >> 4) + 1] = {
    0,  0,  1,  2,  3,  4,  5,  6,  7,                              /* 0..128 */
    8,  8,  9,  9,  10, 10, 11, 11,                                 /* ..256 */
    12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, /* ..512 */
    16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, /* ..768 */
    18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19, /* ..1024 */
};

uint8_t hk_size_cls[HK_TINY_MAX + 1];

void hk_tiny_init(void)
{
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        hk_slab_define_class(HK_CLS_TINY0 + (unsigned)c, HAK_BOX_TINY, hk_tiny_sizes[c]);
    for (size_t s = 0; s <= HK_TINY_MAX; s++)
        hk_size_cls[s] = (uint8_t)(HK_CLS_TINY0 + hk_tiny_class(s));
}
