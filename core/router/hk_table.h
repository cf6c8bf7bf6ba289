/* hk_table.h: the Central Router's routing table: data, its text format, and the pure lookup.
 *
 * Text format, one rule per line:  <lo> <hi> <box> [ace]
 *   sizes in bytes, decimal, inclusive; rules sorted and contiguous from 0 to SIZE_MAX;
 *   box is tiny, pool, mid, l25 or mmap; "ace" marks a row whose requests go through ACE
 *   rounding and obey its knobs (HAKMEM_ACE_ENABLED=0, or HAKMEM_WRAP_L2=0 for requests from
 *   the malloc family, send the row to mmap); '#' starts a comment.
 * A box may only be given sizes it has classes for (hk_boxes[box].max, core/box/hk_boxes.h;
 * hakmem-routes prints them), and "ace" only on pool and l25 rows.
 */
#ifndef HK_TABLE_H
#define HK_TABLE_H

#include "hk_boxes.h"
#include "hk_route.h"

#define HK_TABLE_MAX_RULES 64

typedef struct {
    size_t lo, hi;
    hak_box_t box;
    bool ace;
} hk_rule;

typedef struct {
    int n;
    /* Derived when the table is built (hk_table_tiny_end): sizes below it fall in a leading
     * Tiny rule, so the common decision is one compare and one lookup. */
    size_t tiny_end;
    hk_rule rules[HK_TABLE_MAX_RULES];
} hk_table;

/* The tiny_end a table must carry: its first rule's hi + 1 when that rule is Tiny, else 0. */
HK_INLINE size_t hk_table_tiny_end(const hk_table *t)
{
    return t->rules[0].box == HAK_BOX_TINY ? t->rules[0].hi + 1 : 0;
}

/* The built-in table's rules, X(lo, hi, box, ace) each, in order: the seed's ranges. */
#define HK_BUILTIN_RULES(X)                                                                        \
    X(0, HK_TINY_MAX, HAK_BOX_TINY, false)                                                         \
    X(HK_TINY_MAX + 1, HK_POOL_LOW_MAX, HAK_BOX_POOL, true)                                        \
    X(HK_POOL_LOW_MAX + 1, HK_MID_MAX, HAK_BOX_MID, false)                                         \
    X(HK_MID_MAX + 1, HK_POOL_MAX, HAK_BOX_POOL, true)                                             \
    X(HK_POOL_MAX + 1, HK_L25_MAX, HAK_BOX_L25, true)                                              \
    X(HK_MMAP_MIN, SIZE_MAX, HAK_BOX_MMAP, false)
/* Its Tiny bound, as hk_table_tiny_end computes it (the first rule's hi + 1 when that rule is
 * Tiny), as a constant for the fast path's bound before init: the sum over the rules of that
 * term for the rule that starts at 0. */
#define HK_RULE_TINY_END(lo, hi, box, ace)                                                         \
    +((lo) == 0 && (box) == HAK_BOX_TINY ? (size_t)(hi) + 1 : (size_t)0)
#define HK_BUILTIN_TINY_END (0 HK_BUILTIN_RULES(HK_RULE_TINY_END))

extern const hk_table hk_table_builtin;

/* Parse a table from text. On a fault returns false and writes "line N: <fault>" to err. */
bool hk_table_parse(const char *text, size_t len, hk_table *out, char *err, size_t errcap);
/* Read and parse a file with open/read into static storage (no malloc; not reentrant).
 * regular_only (HAKMEM_ROUTER_TABLE at init): anything but a regular file is refused without
 * blocking and without reading from it (a FIFO, /dev/stdin as a pipe, a device); the tools
 * pass false, so that `hakmem-routes --table <(...)` reads a pipe. */
bool hk_table_load_file(const char *path, bool regular_only, hk_table *out, char *err,
                        size_t errcap);
/* Write the table in the text format (it parses back to the same table). */
void hk_table_write(const hk_table *t, int fd);
hak_box_t hk_box_from_name(const char *name, size_t len);

/* The decision past the leading Tiny rule: the first rule whose hi >= size, then the knobs. */
hk_decision hk_table_decide_rules(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k);

/* The reference decision (debug builds, HK_ASSERT_LEVEL >= 2): the table's rules scanned one
 * by one for the one whose lo .. hi holds size (tiny_end unused), its "ace" mark against the
 * knobs, and the box's reference class (hk_box_class_ref). Slow; written apart from the
 * lookup above and below. {HAK_BOX_NONE, -1} when no rule holds size (a broken table). */
hk_decision hk_table_decide_ref(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k);
/* Abort with one line naming both decisions unless d is the reference's for that request. */
void hk_table_check(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k, hk_decision d);

HK_INLINE hk_decision hk_table_lookup(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k)
{
    if (HK_LIKELY(size < t->tiny_end))
        return (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)};
    return hk_table_decide_rules(t, size, entry, k);
}

/* The decision for one request (pure: no allocation, no lock, no logging); checked against
 * the reference in debug builds. */
HK_INLINE hk_decision hk_table_decide(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k)
{
    if (config_count_decisions)
        hk_tc.tctr[HK_TCTR_DECIDE_CENTRAL]++;
    hk_decision d = hk_table_lookup(t, size, entry, k);
    if (HK_ASSERT_LEVEL >= 2)
        hk_table_check(t, size, entry, k, d);
    return d;
}

#endif
