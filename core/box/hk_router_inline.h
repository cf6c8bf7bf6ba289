/* hk_router_inline.h: the Central Router's fast path and internal controls.
 *
 * The fast path serves sizes below hk_router_tiny_limit (the first rule's end + 1, when that
 * rule is Tiny and the router is not verbose; 0 otherwise) straight from the Tiny box; every
 * other request takes hk_router_alloc_slow, which looks the size up in the table.
 */
#ifndef HK_ROUTER_INLINE_H
#define HK_ROUTER_INLINE_H

#include "hk_table.h"
#include "tiny.h"

extern size_t hk_router_tiny_limit;
extern const hk_table *hk_router_table;

void *hk_router_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry);
/* Carry out a router decision with the router's accounting (fallbacks, failures, verbose
 * line); the differential path uses it so that each path decides exactly once. */
void *hk_router_execute(hk_decision d, size_t size, hak_callsite_t site);
/* Read HAKMEM_ROUTER_TABLE and the verbose flag (from hk_init). */
void hk_router_init(void);
/* Use table t from now on (NULL: the built-in table). Tests and init only: not thread-safe
 * against concurrent allocation. */
void hk_router_use_table(const hk_table *t);

HK_INLINE void *hk_router_alloc_inline(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_LIKELY(size < hk_router_tiny_limit)) {
        void *p = hk_tiny_pop(hk_tiny_class(size));
        if (HK_LIKELY(p != NULL))
            return p;
    }
    return hk_router_alloc_slow(size, site, entry); /* a tail call */
}

#endif
