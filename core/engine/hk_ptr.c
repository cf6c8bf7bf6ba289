/* hk_ptr.c: naming a bad pointer's fault in one line (see hk_ptr.h). */
#include "hk_ptr.h"

#include "hk_log.h"

void hk_ptr_fault(const char *op, const void *p, const hk_ptr_info *i)
{
    const char *box = hak_box_name(i->box);
    const bool is_free = op[0] == 'f';
    switch (i->kind) {
    case HK_PTR_FREED:
        if (i->why == HK_WHY_ALIGNED)
            hk_fatal("%s: %s of %p (aligned pointer into a %s block of %zu bytes%s); aborting "
                     "(fail-closed)",
                     op, is_free ? "double free" : "use after free", p, box, i->bsize,
                     is_free ? "" : ", freed");
        if (i->box == HAK_BOX_MMAP)
            hk_fatal("%s: %s of %p (mmap block, freed%s); aborting (fail-closed)", op,
                     is_free ? "double free" : "use after free", p,
                     i->why == HK_WHY_CACHED ? ": its memory is kept for reuse" : " and unmapped");
        hk_fatal("%s: %s of %p (%s block of %zu bytes%s); aborting (fail-closed)", op,
                 is_free ? "double free" : "use after free", p, box, i->bsize,
                 is_free ? "" : ", freed");
    case HK_PTR_INVALID:
        switch (i->why) {
        case HK_WHY_PADDING:
            hk_fatal("%s: invalid pointer %p (padding before the aligned pointer %p in a %s "
                     "block of %zu bytes at %p%s); aborting (fail-closed)",
                     op, p, (void *)i->aligned, box, i->bsize, (void *)i->block,
                     i->block_free ? ", freed" : "");
        case HK_WHY_UNCARVED:
            if (i->box != HAK_BOX_NONE)
                hk_fatal("%s: invalid pointer %p (in a %s page of hakmem's arena, past its "
                         "carved blocks); aborting (fail-closed)",
                         op, p, box);
            hk_fatal("%s: invalid pointer %p (in hakmem's arena, in memory no block holds: "
                     "never carved, or given back after its block was freed, so a double free "
                     "or use after free if hakmem returned it); aborting (fail-closed)",
                     op, p);
        case HK_WHY_HEADER:
            hk_fatal("%s: invalid pointer %p (inside an mmap block: the header page before its "
                     "pointer %p); aborting (fail-closed)",
                     op, p, (void *)i->block);
        case HK_WHY_METADATA:
            hk_fatal("%s: invalid pointer %p (inside hakmem's own metadata, never a block); "
                     "aborting (fail-closed)",
                     op, p);
        case HK_WHY_CACHED:
            hk_fatal("%s: invalid pointer %p (inside memory the mmap box keeps for reuse); "
                     "aborting (fail-closed)",
                     op, p);
        default:
            if (i->box == HAK_BOX_MMAP)
                hk_fatal("%s: invalid pointer %p (inside an mmap block of %zu bytes at %p: not "
                         "a pointer hakmem returned); aborting (fail-closed)",
                         op, p, i->bsize, (void *)i->block);
            hk_fatal("%s: invalid pointer %p (inside a %s block of %zu bytes at %p%s: not a "
                     "pointer hakmem returned); aborting (fail-closed)",
                     op, p, box, i->bsize, (void *)i->block, i->block_free ? ", freed" : "");
        }
    case HK_PTR_LIVE: /* not a fault: a caller's bug */
        hk_fatal("%s: internal error: %p reported as a fault but is live; aborting", op, p);
    case HK_PTR_FOREIGN:
    default:
        hk_fatal("%s: foreign pointer %p (not hakmem's memory: another allocator's, the stack, "
                 "a global, or a block freed and unmapped long ago); aborting (fail-closed)",
                 op, p);
    }
}
