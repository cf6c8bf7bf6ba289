/* hk_boxes.c: the box-descriptor array (see hk_boxes.h). */
#include "hk_boxes.h"

static int no_class(size_t size)
{
    (void)size;
    return -1;
}
static int tiny_class(size_t size) { return hk_tiny_class(size); }
static int mid_class(size_t size) { return hk_mid_class(size); }

const hk_box_desc hk_boxes[HAK_BOX_COUNT] = {
    [HAK_BOX_NONE] = {0, no_class},
    [HAK_BOX_TINY] = {HK_TINY_MAX, tiny_class},
    [HAK_BOX_POOL] = {HK_POOL_MAX, hk_ace_class},
    [HAK_BOX_MID] = {HK_MID_MAX, mid_class},
    [HAK_BOX_L25] = {HK_L25_CLASS_MAX, hk_l25_class},
    [HAK_BOX_MMAP] = {SIZE_MAX, no_class},
};
