/* hakmem.c: the front door's free and pointer queries, the malloc family's semantics (glibc's,
 * edge cases included) and the hak_* API. Init and exit are in hk_process.c, the mode machine
 * in hk_mode.c; the exported malloc symbols in malloc_wrap.c.
 */
#define _GNU_SOURCE
#include "hakmem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "hk_front.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_stats.h"
#include "hk_sys.h"
#include "hk_mmap.h"

hak_knobs_t hak_knobs(void) { return hk_knobs_get(); }

/* ---------------------------------------------------------------- free and queries */

hk_ptr_kind hk_ptr_check(const void *p, hk_ptr_info *info)
{
    if (hk_slab_owns(p))
        return hk_slab_classify(p, info);
    if (hk_ph_owns_meta(p)) {
        *info = (hk_ptr_info){HK_PTR_INVALID, HK_WHY_METADATA, HAK_BOX_NONE, 0, 0, 0, false};
        return HK_PTR_INVALID;
    }
    return hk_os_classify(p, info);
}

HK_COLD HK_NORETURN static void pointer_fault(const char *op, const void *p)
{
    hk_ptr_info info;
    hk_ptr_check(p, &info);
    hk_ptr_fault(op, p, &info);
}

void hk_free_other(void *p)
{
    if (!p)
        return;
    if (hk_slab_owns(p))
        hk_slab_free_slow(p); /* misaligned, or past the committed prefix: named there */
    else
        hk_free_slow(p);
}

void hk_free_slow(void *p)
{
    if (!hk_os_free(p))
        pointer_fault("free()", p);
}

static size_t usable_size(const void *p, const char *op)
{
    size_t u = hk_slab_owns(p) ? hk_slab_usable(p) : hk_os_usable(p);
    if (HK_UNLIKELY(!u))
        pointer_fault(op, p);
    return u;
}

hak_box_t hak_box_of(const void *p)
{
    if (!p)
        return HAK_BOX_NONE;
    if (hk_slab_owns(p))
        return hk_slab_box_of(p);
    return hk_os_owns(p) ? HAK_BOX_MMAP : HAK_BOX_NONE;
}

/* ---------------------------------------------------------------- the family */

static void *enomem(void)
{
    hk_count(HK_CTR_ENOMEM);
    errno = ENOMEM;
    return NULL;
}

void *hk_calloc_at(size_t n, size_t size, hak_callsite_t site)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return enomem();
    void *p = hk_front_malloc(total, site);
    if (p && (hk_slab_owns(p) || !hk_os_fresh(p))) /* fresh mappings are already zero */
        memset(p, 0, total);
    return p;
}

/* realloc's and memalign's request to the executor (hk_execute), for the allocation of `size`
 * this call makes from `site` (no other call can take it: an allocation from another site, a
 * signal handler's, leaves it). The request of a call it interrupts (a signal handler's
 * realloc inside the program's) is kept and given back as it was found; the size is written
 * last and cleared first, so that a signal landing in between sees no half-made request. */
typedef struct {
    size_t size, align;
    hak_callsite_t site;
    void *old, *placed;
} hk_pending;

static hk_pending pending_begin(size_t size, hak_callsite_t site, void *old, size_t align)
{
    hk_pending outer = {hk_tc.pending_size, hk_tc.memalign_align, hk_tc.pending_site,
                        hk_tc.realloc_old, hk_tc.realloc_placed};
    hk_tc.pending_size = 0; /* no half-made request can be taken */
    atomic_signal_fence(memory_order_seq_cst);
    hk_tc.realloc_placed = NULL;
    hk_tc.realloc_old = old;
    hk_tc.memalign_align = align;
    hk_tc.pending_site = site;
    atomic_signal_fence(memory_order_seq_cst);
    hk_tc.pending_size = size;
    return outer;
}

static void pending_end(hk_pending outer)
{
    hk_tc.pending_size = 0;
    atomic_signal_fence(memory_order_seq_cst);
    hk_tc.pending_site = outer.site;
    hk_tc.memalign_align = outer.align;
    hk_tc.realloc_old = outer.old;
    hk_tc.realloc_placed = outer.placed;
    atomic_signal_fence(memory_order_seq_cst);
    hk_tc.pending_size = outer.size;
}

void *hk_realloc_at(void *p, size_t size, hak_callsite_t site)
{
    if (!p)
        return hk_front_malloc(size, site);
    if (size == 0) { /* glibc: free and return NULL (a bad p is named as realloc's) */
        (void)usable_size(p, "realloc()");
        hk_front_free(p);
        return NULL;
    }
    if (size > HK_MAX_REQUEST) {
        (void)usable_size(p, "realloc()");
        return enomem();
    }
    size_t usable = usable_size(p, "realloc()");
    if (hk_slab_owns(p) && size <= usable && (size > usable / 2 || usable <= 64))
        return p; /* fits, and not wastefully: keep it */
    /* The new block, allocated as any (routed, counted and compared for this call's site);
     * where the decision allows, the executor resizes p in place instead (an L25 block that
     * is a page of its own, the mmap box's block by mremap: hk_execute), consuming it. */
    hk_pending outer = pending_begin(size, site, p, 0);
    void *q = hk_front_malloc(size, site);
    void *placed = hk_tc.realloc_placed;
    pending_end(outer);
    if (!q)
        return NULL;           /* p stays valid, errno is ENOMEM */
    if (placed == q || q == p) /* p is live: nothing but its resize can return it */
        return q;
    memcpy(q, p, size < usable ? size : usable);
    hk_front_free(p);
    return q;
}

void *hk_reallocarray_at(void *p, size_t n, size_t size, hak_callsite_t site)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return enomem();
    return hk_realloc_at(p, total, site);
}

void *hk_memalign_at(size_t align, size_t size, hak_callsite_t site)
{
    if (align <= HK_MIN_ALIGN)
        return hk_front_malloc(size, site);
    if (align > SIZE_MAX / 2 + 1) { /* as glibc: EINVAL only above the largest power of 2 */
        errno = EINVAL;
        return NULL;
    }
    if (!hk_is_pow2(align)) /* glibc rounds a non-power-of-two alignment up */
        align = (size_t)1 << (64 - __builtin_clzll((unsigned long long)align));
    if (size > HK_MAX_REQUEST || align > HK_MAX_REQUEST)
        return enomem();
    /* Allocated as any (routed, counted and compared for this call's site) with room to align
     * it; where the mmap box serves it, the executor has the box align it (hk_execute). */
    size_t total = size + align;
    hk_pending outer = pending_begin(total, site, NULL, align);
    void *p = hk_front_malloc(total, site);
    pending_end(outer);
    if (!p || ((uintptr_t)p & (align - 1)) == 0)
        return p;
    if (hk_slab_owns(p)) {
        void *q = (void *)hk_align_up((uintptr_t)p, align);
        hk_slab_mark_aligned(p, q);
        return q;
    }
    /* A fallback to the mmap box: allocate it aligned there instead. */
    hk_os_free(p);
    p = hk_os_alloc_dirty(size, align);
    return p ? p : enomem();
}

int hk_posix_memalign_at(void **out, size_t align, size_t size, hak_callsite_t site)
{
    if (align < sizeof(void *) || !hk_is_pow2(align))
        return EINVAL;
    int saved = errno;
    void *p = hk_memalign_at(align, size, site);
    if (!p)
        return ENOMEM;
    errno = saved;
    *out = p;
    return 0;
}

void *hk_aligned_alloc_at(size_t align, size_t size, hak_callsite_t site)
{
    if (!hk_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return hk_memalign_at(align, size, site);
}

void *hk_valloc_at(size_t size, hak_callsite_t site)
{
    return hk_memalign_at(HK_PAGE_SIZE, size, site);
}

void *hk_pvalloc_at(size_t size, hak_callsite_t site)
{
    if (size > HK_MAX_REQUEST)
        return enomem();
    return hk_memalign_at(HK_PAGE_SIZE, hk_align_up(size ? size : 1, HK_PAGE_SIZE), site);
}

/* ---------------------------------------------------------------- the hak_* API */

void *hak_alloc_at(size_t size, hak_callsite_t site)
{
    return hk_front_alloc(size, site, HK_ENTRY_API);
}
void hak_free(void *p) { hk_front_free(p); }
void *hak_malloc(size_t size) { return hk_front_malloc(size, HK_CALLER); }
void *hak_calloc(size_t n, size_t size) { return hk_calloc_at(n, size, HK_CALLER); }
void *hak_realloc(void *p, size_t size) { return hk_realloc_at(p, size, HK_CALLER); }
void *hak_reallocarray(void *p, size_t n, size_t size)
{
    return hk_reallocarray_at(p, n, size, HK_CALLER);
}
int hak_posix_memalign(void **out, size_t align, size_t size)
{
    return hk_posix_memalign_at(out, align, size, HK_CALLER);
}
void *hak_aligned_alloc(size_t align, size_t size)
{
    return hk_aligned_alloc_at(align, size, HK_CALLER);
}
void *hak_memalign(size_t align, size_t size) { return hk_memalign_at(align, size, HK_CALLER); }
void *hak_valloc(size_t size) { return hk_valloc_at(size, HK_CALLER); }
void *hak_pvalloc(size_t size) { return hk_pvalloc_at(size, HK_CALLER); }

size_t hak_malloc_usable_size(const void *p)
{
    return p ? usable_size(p, "malloc_usable_size()") : 0;
}
void hak_free_sized(void *p, size_t size)
{
    (void)size;
    hk_front_free(p);
}
void hak_free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    hk_front_free(p);
}

int hak_malloc_trim(size_t pad)
{
    (void)pad;
    hk_init();
    size_t released = hk_slab_trim();   /* the calling thread's cache and every small box */
    released += hk_os_trim();           /* every cached region of the mmap box, what it kept */
    released += hk_sys_release_retry(); /* the arena's pieces munmap refused at init */
    return released > 0;
}
