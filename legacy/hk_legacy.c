/* hk_legacy.c: the legacy primary router (see hk_legacy.h). */
#include "hk_legacy.h"
#include "hakmem_migration.h"

#include <errno.h>

#include "hk_boxes.h"
#include "hk_legacy_ace.h"
#include "hk_log.h"
#include "hk_mid.h"
#include "hk_stats.h"

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
    return hk_execute(hk_legacy_decide(size, entry, hk_knobs_get()), size, site, NULL);
}

/* The banner's table (hk_legacy.h), row by row: the last size of each range, its box, and
 * whether ACE (with its knobs) picks the box. */
static const struct {
    size_t last;
    hak_box_t box;
    bool ace;
} ref_rows[] = {
    {1024, HAK_BOX_TINY, false},   {8192, HAK_BOX_NONE, true},      {32768, HAK_BOX_MID, false},
    {2097151, HAK_BOX_NONE, true}, {SIZE_MAX, HAK_BOX_MMAP, false},
};

hk_decision hk_legacy_decide_ref(size_t size, hk_entry_t entry, hk_knobs k)
{
    size_t i = 0;
    while (size > ref_rows[i].last)
        i++;
    hak_box_t box = ref_rows[i].box;
    if (ref_rows[i].ace) {
        bool wrapped_off = entry == HK_ENTRY_WRAP && !k.wrap_l2;
        box = !k.ace_enabled || wrapped_off               ? HAK_BOX_MMAP
              : hk_box_class_ref(HAK_BOX_POOL, size) >= 0 ? HAK_BOX_POOL
              : hk_box_class_ref(HAK_BOX_L25, size) >= 0  ? HAK_BOX_L25
                                                          : HAK_BOX_MMAP;
    }
    return (hk_decision){box, hk_box_class_ref(box, size)};
}

void hk_legacy_check(size_t size, hk_entry_t entry, hk_knobs k, hk_decision d)
{
    hk_decision r = hk_legacy_decide_ref(size, entry, k);
    if (HK_UNLIKELY(d.box != r.box || d.cls != r.cls))
        hk_fatal("internal check failed: the legacy path decided %s class %d for size %zu "
                 "(entry %d, ace %d, wrap_l2 %d), its reference %s class %d",
                 hak_box_name(d.box), d.cls, size, (int)entry, (int)k.ace_enabled, (int)k.wrap_l2,
                 hak_box_name(r.box), r.cls);
}

hak_decision_t hak_legacy_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs)
{
    return hk_legacy_decide(size, entry, knobs);
}
