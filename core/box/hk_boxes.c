/* hk_boxes.c: the box-descriptor array (see hk_boxes.h). */
#include "hk_boxes.h"

static int no_class(size_t size)
{
    (void)size;
    return -1;
}
static int tiny_class(size_t size) { return hk_tiny_class(size); }
static int mid_class(size_t size) { return hk_mid_class(size); }

int hk_box_class_ref(hak_box_t box, size_t size)
{
    int first, end; /* the box's classes: first .. end - 1 of its size list */
    switch (box) {
    case HAK_BOX_TINY: first = 0, end = HK_TINY_NCLASSES; break;
    case HAK_BOX_POOL: first = 0, end = HK_ACE_POOL_LAST + 1; break;
    case HAK_BOX_MID: first = 0, end = HK_MID_NCLASSES; break;
    case HAK_BOX_L25: first = HK_ACE_L25_FIRST, end = HK_ACE_NCLASSES; break;
    default: return -1;
    }
    for (int c = first; c < end; c++) {
        size_t bsize = box == HAK_BOX_TINY  ? hk_tiny_sizes[c]
                       : box == HAK_BOX_MID ? hk_mid_sizes[c]
                                            : hk_ace_sizes[c];
        if (size <= bsize)
            return c;
    }
    return -1;
}

const hk_box_desc hk_boxes[HAK_BOX_COUNT] = {
    [HAK_BOX_NONE] = {0, no_class, 0},
    [HAK_BOX_TINY] = {HK_TINY_MAX, tiny_class, HK_CLS_TINY0},
    [HAK_BOX_POOL] = {HK_POOL_MAX, hk_ace_class, HK_CLS_POOL0},
    [HAK_BOX_MID] = {HK_MID_MAX, mid_class, HK_CLS_MID0},
    [HAK_BOX_L25] = {HK_L25_CLASS_MAX, hk_l25_class, HK_CLS_L250 - HK_ACE_L25_FIRST},
    [HAK_BOX_MMAP] = {SIZE_MAX, no_class, 0},
};
