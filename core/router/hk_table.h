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

/* The decision for one request (pure: no allocation, no lock, no logging). */
HK_INLINE hk_decision hk_table_decide(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k)
{
    if (config_count_decisions)
        hk_tc.tctr[HK_TCTR_DECIDE_CENTRAL]++;
    if (HK_LIKELY(size < t->tiny_end))
        return (hk_decision){HAK_BOX_TINY, hk_tiny_class(size)};
    return hk_table_decide_rules(t, size, entry, k);
}

#endif
