/* hk_pool.h: the Pool box, class-sized blocks for ACE classes 0-6 (2 KiB .. 52 KiB, including
 * the Bridge classes 40 KiB and 52 KiB), carved from pages of the shared page heap (16 KiB
 * to 1 MiB, chosen by the block engine), per-thread caches in front. At init it
 * pre-allocates HAKMEM_POOL_PREWARM_PAGES pages for each Bridge class, counting only pages
 * that were really carved.
 */
#ifndef HK_POOL_H
#define HK_POOL_H

#include "hk_ace.h"
#include "hk_slab.h"

void hk_pool_init(void);
/* Pre-allocate `pages` pages of ACE class ace_cls, one per shard in turn. Returns how many
 * were allocated (refills that succeeded; never more than asked). */
int hk_pool_prewarm(int ace_cls, int pages);

#endif
