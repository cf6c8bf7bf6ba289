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

/* The reference decision (debug builds, HK_ASSERT_LEVEL >= 2): the rules above as this
 * banner states them, a list of ranges scanned in order, ACE's choice as the first Pool then
 * L25 class that holds the size (hk_box_class_ref). Slow; written apart from the primary and
 * secondary routers it checks. */
hk_decision hk_legacy_decide_ref(size_t size, hk_entry_t entry, hk_knobs k);
/* Abort with one line naming both decisions unless d is the reference's for that request. */
void hk_legacy_check(size_t size, hk_entry_t entry, hk_knobs k, hk_decision d);

HK_INLINE hk_decision hk_legacy_lookup(size_t size, hk_entry_t entry, hk_knobs k)
{
    if (HK_LIKELY(size <= HK_TINY_MAX))
        return (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)};
    return hk_legacy_decide_rest(size, entry, k);
}

/* The legacy path's decision for one request (pure: no allocation, no lock, no logging);
 * checked against the reference in debug builds. */
HK_INLINE hk_decision hk_legacy_decide(size_t size, hk_entry_t entry, hk_knobs k)
{
    if (config_count_decisions)
        hk_tc.tctr[HK_TCTR_DECIDE_LEGACY]++;
    hk_decision d = hk_legacy_lookup(size, entry, k);
    if (HK_ASSERT_LEVEL >= 2)
        hk_legacy_check(size, entry, k, d);
    return d;
}
void *hk_legacy_alloc_slow(size_t size, hak_callsite_t site, hk_entry_t entry);

HK_INLINE void *hk_legacy_alloc(size_t size, hak_callsite_t site, hk_entry_t entry)
{
    if (HK_ASSERT_LEVEL >= 2 && size < HK_TINY_MAX + 1) /* the fast path's decision */
        hk_legacy_check(size, entry, hk_knobs_get(),
                        (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)});
    void *p = hk_tiny_fast(size, HK_TINY_MAX + 1);
    if (HK_LIKELY(p != NULL))
        return p;
    return hk_legacy_alloc_slow(size, site, entry); /* a tail call: refills, other boxes */
}

#endif
