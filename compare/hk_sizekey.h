/* hk_sizekey.h: the differential mode's size key -- the partition of every request size
 * 0..SIZE_MAX into intervals on which neither routing path's decision can change.
 *
 * The edges are the union of every place a decision may change: the legacy path's bounds,
 * each rule of the routing table in force, and every class edge of every box (Tiny, ACE for
 * Pool and L25, Mid), so that two sizes in one interval get the same decision from both
 * paths, for every entry and knob. A key (interval, entry) is what "the first call of every
 * distinct key is compared" and the per-class rollout count on; the knobs are fixed for a
 * process. Built at init (and again when the table changes); the unit tests check the
 * property over every size up to 4 MiB.
 */
#ifndef HK_SIZEKEY_H
#define HK_SIZEKEY_H

#include "hk_table.h"

#define HK_SIZEKEY_MAX 256 /* intervals; the built-in table makes about 50 */

typedef struct {
    unsigned n;                     /* intervals */
    bool truncated;                 /* more edges than HK_SIZEKEY_MAX (never expected) */
    const hk_table *table;          /* the table it was built for */
    size_t lo[HK_SIZEKEY_MAX];      /* lower bound of each interval; lo[0] == 0 */
    uint8_t small[HK_TINY_MAX + 1]; /* the interval of each size <= 1024 */
} hk_sizekey;

void hk_sizekey_build(hk_sizekey *k, const hk_table *t);

/* The interval of a size (a table lookup up to 1 KiB, then a binary search). */
HK_INLINE unsigned hk_sizekey_of(const hk_sizekey *k, size_t size)
{
    if (HK_LIKELY(size <= HK_TINY_MAX))
        return k->small[size];
    unsigned a = 0, b = k->n; /* the last i with lo[i] <= size */
    while (b - a > 1) {
        unsigned m = (a + b) / 2;
        if (k->lo[m] <= size)
            a = m;
        else
            b = m;
    }
    return a;
}

/* The last size of interval i. */
HK_INLINE size_t hk_sizekey_hi(const hk_sizekey *k, unsigned i)
{
    return i + 1 < k->n ? k->lo[i + 1] - 1 : SIZE_MAX;
}

#endif
