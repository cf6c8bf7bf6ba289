/* hk_l25.h: the L25 box, ACE classes 7-12 (64 KiB .. 2 MiB, for requests from 52 KiB+1 up to
 * 2 MiB-1), each block a page of its own from the shared page heap, per-thread caches in front
 * (one to four blocks per class), sharded transfer caches behind. Being pages of their own,
 * its blocks are what realloc resizes in place (hk_slab_resize).
 */
#ifndef HK_L25_H
#define HK_L25_H

#include "hk_ace.h"
#include "hk_slab.h"

#define HK_ACE_L25_FIRST (HK_ACE_POOL_LAST + 1)

void hk_l25_init(void);

#endif
