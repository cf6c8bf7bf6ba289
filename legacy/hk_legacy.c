/* hk_legacy.c: the legacy primary router (see hk_legacy.h). */
#include "hk_legacy.h"
#include "hakmem_migration.h"

#include <errno.h>

#include "hk_stats.h"
#include "hk_legacy_ace.h"
#include "hk_mid.h"

typedef enum { PRIMARY_TINY, PRIMARY_ACE, PRIMARY_MID, PRIMARY_MMAP } hk_primary;

static hk_primary primary(size_t size)
{
    if (size <= HK_TINY_MAX)
        return PRIMARY_TINY;
    if (size <= HK_POOL_LOW_MAX)
        return PRIMARY_ACE;
    if (size <= HK_MID_MAX)
        return PRIMARY_MID;
    if (size <= HK_L25_MAX)
        return PRIMARY_ACE;
    return PRIMARY_MMAP;
}

hk_decision hk_legacy_decide_rest(size_t size, hk_entry_t entry, hk_knobs k)
{
    switch (primary(size)) {
    case PRIMARY_TINY: return (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)};
    case PRIMARY_ACE: return hk_legacy_ace_decide(size, entry, k);
    case PRIMARY_MID: return (hk_decision){HAK_BOX_MID, hk_mid_class(size)};
    default: return (hk_decision){HAK_BOX_MMAP, -1};
    }
}

void *hk_legacy_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_UNLIKELY(size > HK_MAX_REQUEST)) {
        hk_count(HK_CTR_ENOMEM);
        errno = ENOMEM;
        return NULL;
    }
    if (primary(size) == PRIMARY_ACE)
        return hk_legacy_ace_alloc(size, site, entry);
    return hk_execute(hk_legacy_decide(size, entry, hk_knobs_get()), size, NULL);
}

hak_decision_t hak_legacy_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs)
{
    return hk_legacy_decide(size, entry, knobs);
}
