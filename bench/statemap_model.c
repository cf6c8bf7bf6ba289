/* statemap_model.c: what a denser state map would cost the front door's fast paths.
 *
 * The state map (hk_slab.h) has a byte per 16-byte granule, found from the pointer alone. A
 * denser map would keep a byte per block, packed at the start of its page's stretch of the
 * map: the block's index found by multiplying its offset in the page by the reciprocal of
 * its class's size, and checked by multiplying back, so that a pointer inside a block is
 * still refused. The library's own fast paths are compiled here unchanged (hk_front_malloc,
 * hk_front_free); the denser map's differ only in where the state byte is, and reuse the
 * engine's pop (hk_slab_unlink) and push (hk_slab_free_at) around it. Not linked into
 * anything: bench/statemap-model.sh compiles it as the library is compiled and counts each
 * hit path's instructions, after checking that the unchanged pair executes what the
 * library's malloc and free execute. */
#include "hk_front.h"

/* What a class would need besides hk_class_info: its page mask and size's reciprocal. */
typedef struct {
    uint32_t pmask; /* page size - 1 */
    uint32_t recip; /* 2^32 / bsize, rounded up */
} model_class;
HK_HIDDEN model_class model_classes[HK_NCLASSES];

/* The block at arena offset off in a page of class k: its offset in the page (*po) and the
 * index of its byte in hk_state. */
HK_INLINE uintptr_t model_block_byte(uintptr_t off, unsigned k, uint32_t *po)
{
    *po = (uint32_t)off & model_classes[k].pmask;
    uint32_t idx = (uint32_t)(((uint64_t)*po * model_classes[k].recip) >> 32);
    return ((off - *po) >> HK_GRAN_SHIFT) + idx;
}

void *malloc_granule(size_t size) { return hk_front_malloc(size, HK_CALLER); }
void free_granule(void *p) { hk_front_free(p); }

void *malloc_block(size_t size)
{
    if (HK_LIKELY(size < hk_front_fast.end)) {
        unsigned c = hk_front_fast.cls[size];
        hk_tcache *t = hk_tc_self();
        void *p = t->head[c];
        if (HK_LIKELY(p != NULL)) {
            hk_slab_unlink_in(t, c, p);
            uint32_t po; /* a popped block is a block's start: no check */
            uintptr_t b = model_block_byte((uintptr_t)p - hk_arena_base, c, &po);
            atomic_store_explicit(&hk_state[b], (uint8_t)c, memory_order_relaxed);
            return p;
        }
    }
    return hk_front_route[HK_ENTRY_WRAP](size, HK_CALLER, HK_ENTRY_WRAP);
}

void free_block(void *p)
{
    uintptr_t g = hk_slab_granule(p);
    if (HK_LIKELY(g < hk_arena_grans_now())) {
        uintptr_t off = (uintptr_t)p - hk_arena_base;
        unsigned k = hk_pagecls[off >> HK_UNIT_SHIFT];
        uint32_t po;
        uintptr_t b = model_block_byte(off, k, &po);
        /* a block's start, not a pointer inside one: multiply back */
        if (HK_LIKELY((uint32_t)(b - ((off - po) >> HK_GRAN_SHIFT)) * hk_classes[k].bsize == po)) {
            hk_slab_free_at(p, b);
            return;
        }
    }
    hk_free_other(p);
}
