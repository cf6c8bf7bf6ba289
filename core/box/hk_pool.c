/* hk_pool.c: the Pool box (see hk_pool.h). */
#include "hk_pool.h"

#include "hk_log.h"
#include "hk_options.h"

int hk_pool_prewarm(int ace_cls, int pages)
{
    int allocated = 0;
    for (int i = 0; i < pages; i++) {
        /* Count successes only: hk_slab_refill_page returns true when a page was carved. */
        if (hk_slab_refill_page(HK_CLS_POOL0 + (unsigned)ace_cls, (unsigned)i % HK_NSHARDS))
            allocated++;
    }
    return allocated;
}

void hk_pool_init(void)
{
    for (int c = 0; c <= HK_ACE_POOL_LAST; c++)
        hk_slab_define_class(HK_CLS_POOL0 + (unsigned)c, HAK_BOX_POOL, hk_ace_sizes[c]);
    const int bridge[2] = {HK_ACE_BRIDGE_40K, HK_ACE_BRIDGE_52K};
    int pages = (int)hk_opt(HK_OPT_POOL_PREWARM_PAGES);
    for (int i = 0; i < 2; i++) {
        int got = hk_pool_prewarm(bridge[i], pages);
        if (hk_opt(HK_OPT_VERBOSE))
            hk_dprintf(2, "[Pool] Pre-allocated %d pages for Bridge class %d (%u KB)\n", got,
                       bridge[i], hk_ace_sizes[bridge[i]] / 1024);
    }
}
