/* hk_boxes.h: the box-descriptor array, the one place where a size meets a box: for each box
 * (index: the public hak_box_t), the largest size it has a class for and its class function.
 * Table validation (hk_table.c), class lookup (hk_box_class), hakmem-routes and
 * hakmem-routecheck's probes read it; nothing else states a box's limit.
 */
#ifndef HK_BOXES_H
#define HK_BOXES_H

#include "hk_ace.h"
#include "hk_l25.h"
#include "hk_mid.h"
#include "hk_sizes.h"
#include "hk_tiny.h"

typedef struct {
    size_t max;              /* the largest size the box has a class for */
    int (*cls)(size_t size); /* the box's own class index for a size <= max (-1: none) */
    int engine0;             /* the block engine's class id of the box's class 0 (0: none) */
} hk_box_desc;

extern const hk_box_desc hk_boxes[HAK_BOX_COUNT];

/* The block engine's class id (hk_slab.h) that serves class cls of box `box`, or 0 when the
 * engine does not serve the box (mmap, none). The one place a box's class meets the engine's. */
HK_INLINE unsigned hk_box_engine_class(hak_box_t box, int cls)
{
    int e0 = hk_boxes[box].engine0;
    return e0 ? (unsigned)(e0 + cls) : 0;
}

/* L25's classes continue ACE's numbering after Pool's; a size below them takes the first. */
HK_INLINE int hk_l25_class(size_t size)
{
    int c = hk_ace_class(size);
    return c < HK_ACE_L25_FIRST ? HK_ACE_L25_FIRST : c;
}

/* The reference class (the level-2 checks of every routing decision, hk_internal.h): the
 * first of the box's block sizes, scanned in order, that holds size; -1 for mmap, or when no
 * class of the box holds it. Written from the boxes' size lists alone, apart from the class
 * functions (their lookup tables and arithmetic) it checks. */
int hk_box_class_ref(hak_box_t box, size_t size);

/* The box's own class index for a size the box may serve (-1 for mmap): the descriptor's
 * class function, with Tiny's (the common decision) inlined. */
HK_INLINE int hk_box_class(hak_box_t box, size_t size)
{
    if (HK_LIKELY(box == HAK_BOX_TINY))
        return hk_tiny_class(size);
    return hk_boxes[box].cls(size);
}

#endif
