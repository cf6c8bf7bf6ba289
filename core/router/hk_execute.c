/* hk_execute.c: the one executor of routing decisions (hk_route.h): the chosen box allocates;
 * when it cannot, the mmap box serves and the fallback is counted. Both routing paths and the
 * differential mode carry their decisions out here. Also the process's routing path
 * (hk_central_active), data that every layer above reads.
 */
#include <errno.h>

#include "hk_route.h"
#include "hk_stats.h"
#include "hk_l25.h"
#include "hk_mid.h"
#include "hk_mmap.h"
#include "hk_pool.h"
#include "hk_tiny.h"

bool hk_central_active = HAKMEM_CONFIG_CENTRAL_ROUTER;

void *hk_execute(hk_decision d, size_t size, bool *fell_back)
{
    void *p;
    switch (d.box) {
    case HAK_BOX_TINY: p = hk_tiny_alloc(d.cls); break;
    case HAK_BOX_POOL: p = hk_pool_alloc(d.cls); break;
    case HAK_BOX_MID: p = hk_mid_alloc(d.cls); break;
    case HAK_BOX_L25: p = hk_l25_alloc(d.cls); break;
    default: p = NULL; break;
    }
    if (HK_LIKELY(p != NULL))
        return p;
    if (d.box != HAK_BOX_MMAP) {
        hk_count_fallback(d.box);
        if (fell_back)
            *fell_back = true;
    }
    p = hk_os_alloc_dirty(size, HK_MIN_ALIGN);
    if (!p) {
        hk_count(HK_CTR_ENOMEM);
        errno = ENOMEM;
    }
    return p;
}
