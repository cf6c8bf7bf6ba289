/* hk_sizes.h: the size boundaries of the boxes and of the built-in routing (inclusive upper
 * bounds), in one place. The boxes' own limits (the largest size each has a class for) are
 * in the box-descriptor array (hk_boxes.h), which is derived from these.
 */
#ifndef HK_SIZES_H
#define HK_SIZES_H

#include "hk_internal.h"

#define HK_TINY_MAX ((size_t)1024)
#define HK_POOL_LOW_MAX ((size_t)8 * 1024)
#define HK_MID_MAX ((size_t)32 * 1024)
#define HK_POOL_MAX ((size_t)52 * 1024) /* the 52 KiB Bridge class */
/* L25's largest class is 2 MiB; the built-in routing sends 2 MiB itself to the mmap box. */
#define HK_L25_CLASS_MAX ((size_t)2 * 1024 * 1024)
#define HK_L25_MAX (HK_L25_CLASS_MAX - 1)
#define HK_MMAP_MIN ((size_t)2 * 1024 * 1024)

#endif
