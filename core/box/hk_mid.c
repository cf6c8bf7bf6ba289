/* hk_mid.c: the Mid box's classes (see hk_mid.h). */
#include "hk_mid.h"

const uint32_t hk_mid_sizes[HK_MID_NCLASSES] = {10240, 12288, 14336, 16384,
                                                20480, 24576, 28672, 32768};
/* Indexed by (size - 1) / 2 KiB. */
const uint8_t hk_mid_lookup[16] = {0, 0, 0, 0, 0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7};

void hk_mid_init(void)
{
    for (int c = 0; c < HK_MID_NCLASSES; c++)
        hk_slab_define_class(HK_CLS_MID0 + (unsigned)c, HAK_BOX_MID, hk_mid_sizes[c]);
}
