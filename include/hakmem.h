/* hakmem.h: the public API of hakmem, a size-routed memory allocator.
 *
 * This is the only installed header. Link with -lhakmem (pkg-config hakmem) to call the hak_*
 * functions directly; LD_PRELOAD=libhakmem.so replaces the process's malloc family instead.
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h> /* struct mallinfo, struct mallinfo2, M_* */
#include <stdio.h>  /* FILE (hak_malloc_info) */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HAK_API __attribute__((visibility("default")))
#else
#define HAK_API
#endif

/* A call site: any value that identifies where an allocation comes from (the malloc wrapper
 * passes its caller's return address). */
typedef uintptr_t hak_callsite_t;

/* The boxes that own memory. HAK_BOX_NONE: not a live hakmem allocation. */
typedef enum hak_box {
    HAK_BOX_NONE = 0,
    HAK_BOX_TINY,
    HAK_BOX_POOL,
    HAK_BOX_MID,
    HAK_BOX_L25,
    HAK_BOX_MMAP,
    HAK_BOX_COUNT
} hak_box_t;

/* Where a request entered: the malloc family (malloc, calloc, ..., hak_malloc) or
 * hak_alloc_at. Routing knobs can treat the two differently (HAKMEM_WRAP_L2). */
typedef enum hak_entry { HAK_ENTRY_WRAP = 0, HAK_ENTRY_API = 1 } hak_entry_t;

/* The knobs that change routing (HAKMEM_ACE_ENABLED, HAKMEM_WRAP_L2). */
typedef struct hak_knobs {
    bool ace_enabled;
    bool wrap_l2;
} hak_knobs_t;

/* A routing decision: the box, and the box's own class index (-1 for the mmap box). */
typedef struct hak_decision {
    hak_box_t box;
    int cls;
} hak_decision_t;

/* The Central Router's routing decision, computed without allocating (for tools and tests;
 * in a build with the legacy path, its decision is hak_legacy_decide, hakmem_migration.h). */
HAK_API hak_decision_t hak_router_decide(size_t size, hak_entry_t entry, hak_knobs_t knobs);
/* The knobs in force in this process. */
HAK_API hak_knobs_t hak_knobs(void);

/* The hak_alloc_api entry: allocate size bytes on behalf of call site `site`. */
HAK_API void *hak_alloc_at(size_t size, hak_callsite_t site);
HAK_API void hak_free(void *ptr);

/* The malloc family with glibc's semantics (these are what the LD_PRELOAD wrapper calls). */
HAK_API void *hak_malloc(size_t size);
HAK_API void *hak_calloc(size_t n, size_t size);
HAK_API void *hak_realloc(void *ptr, size_t size);
HAK_API void *hak_reallocarray(void *ptr, size_t n, size_t size);
HAK_API int hak_posix_memalign(void **out, size_t alignment, size_t size);
HAK_API void *hak_aligned_alloc(size_t alignment, size_t size);
HAK_API void *hak_memalign(size_t alignment, size_t size);
HAK_API void *hak_valloc(size_t size);
HAK_API void *hak_pvalloc(size_t size);
HAK_API size_t hak_malloc_usable_size(const void *ptr);
HAK_API void hak_free_sized(void *ptr, size_t size);
HAK_API void hak_free_aligned_sized(void *ptr, size_t alignment, size_t size);
HAK_API int hak_malloc_trim(size_t pad);
HAK_API struct mallinfo2 hak_mallinfo2(void);

/* glibc's introspection calls, answered by hakmem (the preloaded library exports them as
 * malloc_info, malloc_stats, mallinfo, mallopt; hakmem(3) describes each):
 *   hak_malloc_info   XML in glibc's shape, one heap per small box, one size per class;
 *                     0, or -1 with errno (EINVAL: options not 0 or fp NULL; a write error)
 *   hak_malloc_stats  the statistics report (hak_stats_print) on stderr
 *   hak_mallinfo      mallinfo2's figures in the old struct's int fields, saturated at INT_MAX
 *   hak_mallopt       1 when the parameter has a meaning in hakmem and the value was taken:
 *                     M_TRIM_THRESHOLD (the free-resident floor; negative: no purge under
 *                     pressure), M_CHECK_ACTION with the abort bit (what hakmem does anyway),
 *                     M_ARENA_MAX >= 0 (hakmem has one arena), HAK_M_PURGE_DELAY_MS (-1 ..
 *                     3600000, as HAKMEM_PURGE_DELAY_MS); 0 for every other parameter */
HAK_API int hak_malloc_info(int options, FILE *fp);
HAK_API void hak_malloc_stats(void);
HAK_API struct mallinfo hak_mallinfo(void);
HAK_API int hak_mallopt(int param, int value);
/* hakmem's own mallopt parameter: the purge delay in ms (HAKMEM_PURGE_DELAY_MS), from now on. */
#define HAK_M_PURGE_DELAY_MS 0x48414b01

/* Introspection. */
HAK_API hak_box_t hak_box_of(const void *ptr);
HAK_API const char *hak_box_name(hak_box_t box);
/* Write the statistics report (what HAKMEM_STATS=1 prints at exit) to file descriptor fd. */
HAK_API void hak_stats_print(int fd);
/* The same statistics as one JSON object on one line (what HAKMEM_STATS=json prints at exit;
 * format "hakmem-stats/1", README "Statistics as data"), written with write(2) without
 * allocating. 0, or -1 with errno when a write failed. */
HAK_API int hak_stats_print_json(int fd);

#ifdef __cplusplus
}
#endif

#include "hak_router.h" /* the Central Router box: hak_router_alloc, RouterHealth, ... */

#endif /* HAKMEM_H */
