/* hk_route.h: the vocabulary shared by every routing path (legacy today, the Central Router
 * next): where a request entered, the knobs that change routing, and a decision.
 *
 * A decision is data: computing it never allocates, locks or logs. Carrying it out is the
 * job of hk_execute() in the front door, so any path that can decide can also be compared.
 */
#ifndef HK_ROUTE_H
#define HK_ROUTE_H

#include "hk_internal.h"

typedef enum {
    HK_ENTRY_WRAP = 0, /* the malloc family: malloc, calloc, realloc, memalign..., hak_malloc */
    HK_ENTRY_API = 1,  /* hak_alloc_at(size, site) */
} hk_entry_t;

typedef struct {
    bool ace_enabled; /* HAKMEM_ACE_ENABLED */
    bool wrap_l2;     /* HAKMEM_WRAP_L2 */
} hk_knobs;

typedef struct {
    hak_box_t box; /* TINY, POOL, MID, L25 or MMAP */
    int cls;       /* the box's own class index; -1 for MMAP */
} hk_decision;

/* Size boundaries (inclusive upper bounds), in one place. */
#define HK_TINY_MAX ((size_t)1024)
#define HK_POOL_LOW_MAX ((size_t)8 * 1024)
#define HK_MID_MAX ((size_t)32 * 1024)
#define HK_L25_MAX ((size_t)2 * 1024 * 1024 - 1)
#define HK_MMAP_MIN ((size_t)2 * 1024 * 1024)

/* The knobs in force (read from the option table, set once at init). */
hk_knobs hk_knobs_get(void);
/* Carry out a decision: the chosen box allocates; when it cannot, the mmap box serves and the
 * fallback is counted. NULL with errno ENOMEM only when nothing can serve. */
void *hk_execute(hk_decision d, size_t size);

#endif
