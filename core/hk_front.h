/* hk_front.h: the front door's fast paths, inlined into both the hak_* API and the exported
 * malloc family. Routing goes through the legacy path until the Central Router lands.
 */
#ifndef HK_FRONT_H
#define HK_FRONT_H

#include "hak_alloc_api.h"
#include "hk_slab.h"

void hk_free_slow(void *p);

HK_INLINE void *hk_front_malloc(size_t size, hak_callsite_t site)
{
    return hk_legacy_alloc(size, site, HK_ENTRY_WRAP);
}

HK_INLINE void hk_front_free(void *p)
{
    if (HK_LIKELY(hk_slab_owns(p))) {
        hk_slab_free(p);
        return;
    }
    if (p)
        hk_free_slow(p);
}

/* The rest of the family, out of line in hakmem.c; site is the caller's return address. */
void *hk_calloc_at(size_t n, size_t size, hak_callsite_t site);
void *hk_realloc_at(void *p, size_t size, hak_callsite_t site);
void *hk_reallocarray_at(void *p, size_t n, size_t size, hak_callsite_t site);
void *hk_memalign_at(size_t align, size_t size, hak_callsite_t site);
int hk_posix_memalign_at(void **out, size_t align, size_t size, hak_callsite_t site);
void *hk_aligned_alloc_at(size_t align, size_t size, hak_callsite_t site);
void *hk_valloc_at(size_t size, hak_callsite_t site);
void *hk_pvalloc_at(size_t size, hak_callsite_t site);

#define HK_CALLER ((hak_callsite_t)__builtin_return_address(0))

#endif
