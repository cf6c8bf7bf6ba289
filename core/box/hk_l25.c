/* hk_l25.c: the L25 box's classes (see hk_l25.h). */
#include "hk_l25.h"

void hk_l25_init(void)
{
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++)
        hk_slab_define_class(HK_CLS_L250 + (unsigned)(c - HK_ACE_L25_FIRST), HAK_BOX_L25,
                             hk_ace_sizes[c]);
}
