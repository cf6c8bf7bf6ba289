/* hk_legacy.h: the legacy routing path's primary router, at the hak_alloc_api entry.
 *
 * Rules (sizes in bytes, both ends inclusive):
 *   0 .. 1024            Tiny            (exactly 1024 is Tiny)
 *   1025 .. 8192         -> ACE (hk_legacy_ace.h): Pool classes 0-4, or mmap per the knobs
 *   8193 .. 32768        Mid             (exactly 8 KiB is Pool, exactly 32 KiB is Mid)
 *   32769 .. 2097151     -> ACE: Pool Bridge classes (40, 52 KiB), L25 (64 KiB .. 2 MiB)
 *   2097152 ..           mmap            (exactly 2 MiB is mmap)
 * Requests above HK_MAX_REQUEST return NULL with ENOMEM. When the chosen box cannot serve,
 * the mmap box does, and the fallback is counted (hk_execute).
 *
 * hk_legacy_alloc is the inline fast path (Tiny, then one call); hk_legacy_decide computes
 * the whole path's decision without allocating, for tools and the differential mode.
 */
#ifndef HAK_ALLOC_API_H
#define HAK_ALLOC_API_H

#include "hk_route.h"
#include "hk_tiny.h"

/* The legacy decision above Tiny (ACE, Mid, mmap), out of line. */
hk_decision hk_legacy_decide_rest(size_t size, hk_entry_t entry, hk_knobs k);

/* The legacy path's decision for one request (pure: no allocation, no lock, no logging). */
HK_INLINE hk_decision hk_legacy_decide(size_t size, hk_entry_t entry, hk_knobs k)
{
    if (config_count_decisions)
        hk_tc.tctr[HK_TCTR_DECIDE_LEGACY]++;
    if (HK_LIKELY(size <= HK_TINY_MAX))
        return (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)};
    return hk_legacy_decide_rest(size, entry, k);
}
void *hk_legacy_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry);

HK_INLINE void *hk_legacy_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    void *p = hk_tiny_fast(size, HK_TINY_MAX + 1);
    if (HK_LIKELY(p != NULL))
        return p;
    return hk_legacy_alloc_slow(size, site, entry); /* a tail call: refills, other boxes */
}

#endif
