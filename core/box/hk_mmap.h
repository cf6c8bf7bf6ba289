/* hk_mmap.h: the mmap box. Serves 2 MiB and more directly from the OS, and is the fallback for
 * any request another box cannot serve. Every region carries a header at its start and is
 * registered in a striped hash table keyed by the pointer handed out, so free() recognises
 * exactly the pointers this box returned (nothing else, and nothing twice).
 */
#ifndef HK_OS_H
#define HK_OS_H

#include "hk_internal.h"
#include "hk_ptr.h"

/* A zero-filled region of at least size bytes, aligned to align (a power of two, >= 16). */
void *hk_os_alloc(size_t size, size_t align);
/* The same, but a region reused from the cache of freed regions is not cleared:
 * hk_os_fresh(p) tells whether it is still zero-filled. */
void *hk_os_alloc_dirty(size_t size, size_t align);
bool hk_os_fresh(const void *p);
/* Unmap every cached free region, and retry the regions munmap refused earlier; returns the
 * bytes released. */
size_t hk_os_trim(void);
/* The delayed purge (hk_purge_fn): unmap the regions cached for the purge delay. */
uint32_t hk_os_purge(uint32_t now, bool all);
/* True when p is a live pointer of this box. */
bool hk_os_owns(const void *p);
/* What p is to this box (fault messages, tests): LIVE, FREED (a freed pointer whose region
 * is kept for reuse, or among the last 256 freed), INVALID (inside a live or kept region:
 * header page, interior) or FOREIGN. Slow: for faults and tests only. */
hk_ptr_kind hk_os_classify(const void *p, hk_ptr_info *info);
/* Free p: its region is cached for reuse (up to the purge delay) or unmapped. Returns false
 * (and does nothing) when p is not a live pointer of this box. */
bool hk_os_free(void *p);
/* Usable bytes at p (0 when not ours). */
size_t hk_os_usable(const void *p);
/* Resize in place or by mremap; NULL when that is not possible (p stays valid). The box's
 * counts (regions handed out and given back) do not change; the router, which routed the
 * realloc, counts a route. */
void *hk_os_resize(void *p, size_t size);

typedef struct {
    uint64_t allocs, frees, bytes_mapped_now, bytes_total, reused, bytes_cached;
    uint64_t bytes_purged; /* cached regions unmapped by the delayed purge or malloc_trim */
    uint64_t bytes_kept;   /* regions munmap refused, kept for reuse or a later unmap */
    uint64_t cache_budget; /* the cache's budget learnt (at least 32 MiB; see hk_mmap.c) */
} hk_os_stats;
void hk_os_get_stats(hk_os_stats *out);

void hk_os_atfork_prepare(void);
void hk_os_atfork_parent(void);
void hk_os_atfork_child(void);

#endif
