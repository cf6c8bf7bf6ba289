/* hk_ptr.h: what a pointer given to free, realloc or malloc_usable_size is to hakmem, the
 * vocabulary of the fail-closed checks.
 *
 * The block engine (hk_slab_classify) and the mmap box (hk_os_classify) each say what a
 * pointer is to them; the front door (hk_ptr_check, hk_ptr_fault) combines the two and
 * names the fault in one line:
 *   use after free    realloc / malloc_usable_size of a block hakmem returned and that is free
 *   double free       free of such a block
 *   invalid pointer   inside hakmem's memory, but not a pointer it returned: the padding before
 *                     an aligned pointer, any interior or misaligned offset, memory not carved
 *                     into blocks, an mmap block's header page, hakmem's own metadata
 *   foreign pointer   not hakmem's memory at all (another allocator's, the stack, a global, or
 *                     a block freed and unmapped long enough ago that hakmem forgot it)
 */
#ifndef HK_PTR_H
#define HK_PTR_H

#include "hk_internal.h"

typedef enum {
    HK_PTR_LIVE,    /* a pointer hakmem returned, not freed: the call may proceed */
    HK_PTR_FREED,   /* a pointer hakmem returned, already freed */
    HK_PTR_INVALID, /* inside hakmem's memory, never returned as such */
    HK_PTR_FOREIGN, /* not hakmem's memory */
} hk_ptr_kind;

/* Why a pointer is INVALID (or how a FREED one was recognised). */
typedef enum {
    HK_WHY_NONE,
    HK_WHY_INTERIOR, /* inside a block, not its start (any offset, misaligned too) */
    HK_WHY_PADDING,  /* between an aligned block's start and the aligned pointer */
    HK_WHY_UNCARVED, /* in the arena, in memory not (yet) cut into blocks */
    HK_WHY_HEADER,   /* an mmap block's header page */
    HK_WHY_ALIGNED,  /* FREED: an aligned pointer into a block */
    HK_WHY_CACHED,   /* FREED / INVALID: a region the mmap box keeps for reuse */
    HK_WHY_RECENT,   /* FREED: an mmap block freed recently, already unmapped */
    HK_WHY_METADATA, /* hakmem's own maps of the arena (the state and class maps) */
} hk_ptr_why;

typedef struct {
    hk_ptr_kind kind;
    hk_ptr_why why;
    hak_box_t box;     /* the box of the block (or region) p is in; HAK_BOX_NONE if none */
    uintptr_t block;   /* that block's start (the mmap box: its user pointer), or 0 */
    size_t bsize;      /* its size in bytes (the mmap box: usable bytes), or 0 */
    uintptr_t aligned; /* HK_WHY_PADDING / HK_WHY_ALIGNED: the aligned pointer, or 0 */
    bool block_free;   /* the block p is inside is free */
} hk_ptr_info;

/* One line naming op ("free()", "realloc()", "malloc_usable_size()"), p and its fault as
 * described by info, then abort (fail-closed). */
HK_NORETURN HK_COLD void hk_ptr_fault(const char *op, const void *p, const hk_ptr_info *info);

#endif
