/* hk_legacy_ace.c: the legacy secondary router (see hk_legacy_ace.h). */
#include "hk_legacy_ace.h"

#include "hk_ace.h"
#include "hk_legacy.h"

hk_decision hk_legacy_ace_decide(size_t size, hk_entry_t entry, hk_knobs k)
{
    if (!k.ace_enabled || (entry == HK_ENTRY_WRAP && !k.wrap_l2))
        return (hk_decision){HAK_BOX_MMAP, -1};
    int cls = hk_ace_class(size);
    if (cls < 0)
        return (hk_decision){HAK_BOX_MMAP, -1};
    return (hk_decision){cls <= HK_ACE_POOL_LAST ? HAK_BOX_POOL : HAK_BOX_L25, cls};
}

void *hk_legacy_ace_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    hk_knobs k = hk_knobs_get();
    hk_decision d = hk_legacy_ace_decide(size, entry, k);
    if (HK_ASSERT_LEVEL >= 2) /* the primary router handed size to ACE: the path's decision */
        hk_legacy_check(size, entry, k, d);
    return hk_execute(d, size, site, NULL);
}
