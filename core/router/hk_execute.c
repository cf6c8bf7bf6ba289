/* hk_execute.c: the one executor of routing decisions (hk_route.h): the chosen box allocates;
 * when it cannot, the mmap box serves and the fallback is counted. Both routing paths and the
 * differential mode carry their decisions out here; so realloc's resizes in place and
 * memalign's aligned mmap blocks are decided here too, under the routing of the call (its
 * site's, in a rollout by site) and counted and compared as any allocation. Also the
 * process's routing path (hk_central_active), data that every layer above reads.
 */
#include <errno.h>

#include "hk_boxes.h"
#include "hk_mmap.h"
#include "hk_route.h"
#include "hk_stats.h"

bool hk_central_active = HAKMEM_CONFIG_CENTRAL_ROUTER;

/* The allocation realloc or memalign makes (front/hakmem.c: its size and site), taken once:
 * realloc's old block resized where it is where the decision allows (placed: the caller
 * neither copies nor frees it), or for an L25 block's growth a fresh page; for memalign, the
 * alignment and the size the mmap box maps, should it serve (the call's size less the room to
 * align it in another box's block). NULL: allocate as any. */
static void *pending_take(unsigned e, size_t *size, size_t *align)
{
    void *old = hk_tc.realloc_old, *p = NULL;
    hk_tc.pending_size = 0; /* taken first: nothing nested can take it then */
    hk_tc.realloc_old = NULL;
    if (hk_tc.memalign_align) {
        *align = hk_tc.memalign_align;
        *size -= *align;
        hk_tc.memalign_align = 0;
        return NULL;
    }
    if (!old)
        return NULL;
    if (e)
        p = hk_slab_realloc_place(old, e);
    else if (!hk_slab_owns(old))
        p = hk_os_resize(old, *size); /* the mmap box's block, to the mmap box */
    if (p && (p == old || !e))
        hk_tc.realloc_placed = p;
    return p;
}

void *hk_execute(hk_decision d, size_t size, hak_callsite_t site, bool *fell_back)
{
    unsigned e = hk_box_engine_class(d.box, d.cls); /* 0: the mmap box's */
    void *p = NULL;
    size_t os_size = size, align = HK_MIN_ALIGN;
    if (HK_UNLIKELY(hk_tc.pending_size == size) && size != 0 && hk_tc.pending_site == site) {
        p = pending_take(e, &os_size, &align);
        if (p)
            return p;
    }
    if (e)
        p = hk_slab_alloc(e);
    if (HK_LIKELY(p != NULL))
        return p;
    if (d.box != HAK_BOX_MMAP) {
        hk_count_fallback(d.box);
        if (fell_back)
            *fell_back = true;
    }
    p = hk_os_alloc_dirty(os_size, align);
    if (!p) {
        hk_count(HK_CTR_ENOMEM);
        errno = ENOMEM;
    }
    return p;
}
