/* hk_table.c: the built-in routing table, and the table's text format (see hk_table.h). */
#include "hk_table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hk_log.h"
#include "hk_sys.h"

/* The seed's ranges, with exactly the legacy path's boundaries (hk_legacy.h), written once
 * (hk_table.h's HK_BUILTIN_RULES); the row count and the Tiny bound are derived from them. */
#define HK_RULE_INIT(lo, hi, box, ace) {lo, hi, box, ace},
#define HK_RULE_COUNT(lo, hi, box, ace) +1
const hk_table hk_table_builtin = {
    0 HK_BUILTIN_RULES(HK_RULE_COUNT),
    HK_BUILTIN_TINY_END,
    {HK_BUILTIN_RULES(HK_RULE_INIT)},
};
#undef HK_RULE_INIT
#undef HK_RULE_COUNT

HK_NOINLINE hk_decision hk_table_decide_rules(const hk_table *t, size_t size, hk_entry_t entry,
                                              hk_knobs k)
{
    const hk_rule *r = t->rules;
    while (size > r->hi)
        r++;
    if (r->ace && (!k.ace_enabled || (entry == HK_ENTRY_WRAP && !k.wrap_l2)))
        return (hk_decision){HAK_BOX_MMAP, -1};
    return (hk_decision){r->box, hk_box_class(r->box, size)};
}

hk_decision hk_table_decide_ref(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k)
{
    for (int i = 0; i < t->n; i++) {
        const hk_rule *r = &t->rules[i];
        if (size < r->lo || size > r->hi)
            continue;
        /* An ACE row obeys the knobs: ACE off, or the malloc family with L2 wrapping off. */
        bool knobs_allow = k.ace_enabled && (k.wrap_l2 || entry != HK_ENTRY_WRAP);
        hak_box_t box = !r->ace || knobs_allow ? r->box : HAK_BOX_MMAP;
        return (hk_decision){box, hk_box_class_ref(box, size)};
    }
    return (hk_decision){HAK_BOX_NONE, -1};
}

void hk_table_check(const hk_table *t, size_t size, hk_entry_t entry, hk_knobs k, hk_decision d)
{
    hk_decision r = hk_table_decide_ref(t, size, entry, k);
    if (HK_UNLIKELY(d.box != r.box || d.cls != r.cls))
        hk_fatal("internal check failed: the Central Router decided %s class %d for size %zu "
                 "(entry %d, ace %d, wrap_l2 %d), its reference %s class %d",
                 hak_box_name(d.box), d.cls, size, (int)entry, (int)k.ace_enabled, (int)k.wrap_l2,
                 hak_box_name(r.box), r.cls);
}

hak_box_t hk_box_from_name(const char *name, size_t len)
{
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++) {
        const char *n = hak_box_name((hak_box_t)b);
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return (hak_box_t)b;
    }
    return HAK_BOX_NONE;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parse a decimal size_t; false on anything else or overflow. */
static bool parse_size(const char *s, size_t len, size_t *out)
{
    size_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool hk_table_parse(const char *text, size_t len, hk_table *out, char *err, size_t errcap)
{
    hk_table t;
    memset(&t, 0, sizeof t);
    int line = 0;
    size_t pos = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        /* Split the line (up to a '#') into fields. */
        const char *f[5];
        size_t fl[5];
        int nf = 0;
        size_t i = pos;
        while (i < end && text[i] != '#') {
            while (i < end && is_space(text[i]))
                i++;
            if (i >= end || text[i] == '#')
                break;
            size_t s = i;
            while (i < end && !is_space(text[i]) && text[i] != '#')
                i++;
            if (nf == 5) {
                hk_fmt(err, errcap, "line %d: too many fields (expected <lo> <hi> <box> [ace])",
                       line);
                return false;
            }
            f[nf] = text + s;
            fl[nf++] = i - s;
        }
        pos = end + 1;
        if (nf == 0)
            continue;
        if (nf < 3) {
            hk_fmt(err, errcap, "line %d: expected <lo> <hi> <box> [ace]", line);
            return false;
        }
        hk_rule r = {0, 0, HAK_BOX_NONE, false};
        if (!parse_size(f[0], fl[0], &r.lo) || !parse_size(f[1], fl[1], &r.hi)) {
            hk_fmt(err, errcap, "line %d: bad number (sizes are decimal byte counts up to %zu)",
                   line, (size_t)SIZE_MAX);
            return false;
        }
        r.box = hk_box_from_name(f[2], fl[2]);
        if (r.box == HAK_BOX_NONE) {
            char name[32];
            size_t n = fl[2] < sizeof name - 1 ? fl[2] : sizeof name - 1;
            memcpy(name, f[2], n);
            name[n] = '\0';
            hk_fmt(err, errcap,
                   "line %d: unknown box \"%s\" (expected tiny, pool, mid, l25 or mmap)", line,
                   name);
            return false;
        }
        if (nf >= 4) {
            if (fl[3] != 3 || memcmp(f[3], "ace", 3) != 0 || nf > 4) {
                hk_fmt(err, errcap,
                       "line %d: unexpected field after the box (only \"ace\" may follow)", line);
                return false;
            }
            if (r.box != HAK_BOX_POOL && r.box != HAK_BOX_L25) {
                hk_fmt(err, errcap, "line %d: \"ace\" applies only to pool and l25 rows", line);
                return false;
            }
            r.ace = true;
        }
        if (r.lo > r.hi) {
            hk_fmt(err, errcap, "line %d: lo %zu is above hi %zu", line, r.lo, r.hi);
            return false;
        }
        if (r.hi > hk_boxes[r.box].max) {
            hk_fmt(err, errcap,
                   "line %d: box %s has no class for sizes above %zu (rule ends at %zu)", line,
                   hak_box_name(r.box), hk_boxes[r.box].max, r.hi);
            return false;
        }
        if (t.n == 0) {
            if (r.lo != 0) {
                hk_fmt(err, errcap, "line %d: gap: the first rule must start at 0, not %zu", line,
                       r.lo);
                return false;
            }
        } else {
            const hk_rule *p = &t.rules[t.n - 1];
            if (p->hi == SIZE_MAX) {
                hk_fmt(err, errcap, "line %d: overlap: the previous rule already ends at %zu", line,
                       (size_t)SIZE_MAX);
                return false;
            }
            if (r.lo < p->lo) {
                hk_fmt(err, errcap,
                       "line %d: unsorted: starts at %zu, before the previous rule's %zu", line,
                       r.lo, p->lo);
                return false;
            }
            if (r.lo <= p->hi) {
                hk_fmt(err, errcap,
                       "line %d: overlap: starts at %zu, but the previous rule ends at %zu", line,
                       r.lo, p->hi);
                return false;
            }
            if (r.lo != p->hi + 1) {
                hk_fmt(err, errcap, "line %d: gap: sizes %zu-%zu are not covered", line, p->hi + 1,
                       r.lo - 1);
                return false;
            }
        }
        if (t.n == HK_TABLE_MAX_RULES) {
            hk_fmt(err, errcap, "line %d: too many rules (at most %d)", line, HK_TABLE_MAX_RULES);
            return false;
        }
        t.rules[t.n++] = r;
    }
    if (t.n == 0) {
        hk_fmt(err, errcap, "line %d: no rules", line);
        return false;
    }
    if (t.rules[t.n - 1].hi != SIZE_MAX) {
        hk_fmt(err, errcap,
               "line %d: gap: sizes %zu-%zu are not covered (the last rule must end "
               "at %zu)",
               line, t.rules[t.n - 1].hi + 1, (size_t)SIZE_MAX, (size_t)SIZE_MAX);
        return false;
    }
    t.tiny_end = hk_table_tiny_end(&t);
    *out = t;
    return true;
}

bool hk_table_load_file(const char *path, bool regular_only, hk_table *out, char *err,
                        size_t errcap)
{
    static char buf[64 * 1024];
    /* O_NONBLOCK: opening a FIFO without a writer must not wait (a regular file ignores it);
     * O_NOCTTY: a terminal never becomes the controlling one. */
    int fd = hk_sys_open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK | O_NOCTTY : 0),
                         0);
    if (fd < 0) {
        hk_fmt(err, errcap, "cannot open (errno %d)", errno);
        return false;
    }
    struct stat st;
    if (regular_only && hk_sys_fstat(fd, &st) != 0) {
        hk_fmt(err, errcap, "cannot stat (errno %d)", errno);
        hk_sys_close(fd);
        return false;
    }
    if (regular_only && !S_ISREG(st.st_mode)) {
        hk_sys_close(fd);
        hk_fmt(err, errcap,
               "not a regular file (a FIFO, device, socket or directory is never "
               "read)");
        return false;
    }
    size_t len = 0;
    for (;;) {
        if (len == sizeof buf) {
            hk_sys_close(fd);
            hk_fmt(err, errcap, "larger than %zu bytes", sizeof buf);
            return false;
        }
        ssize_t r = hk_sys_read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            hk_fmt(err, errcap, "read error (errno %d)", errno);
            hk_sys_close(fd);
            return false;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    hk_sys_close(fd);
    return hk_table_parse(buf, len, out, err, errcap);
}

void hk_table_write(const hk_table *t, int fd)
{
    hk_dprintf(fd,
               "# hakmem routing table: <lo> <hi> <box> [ace]\n"
               "# sizes in bytes, inclusive, sorted, contiguous from 0 to %zu\n"
               "# box: tiny pool mid l25 mmap; ace: the row obeys HAKMEM_ACE_ENABLED and "
               "HAKMEM_WRAP_L2\n",
               (size_t)SIZE_MAX);
    for (int i = 0; i < t->n; i++)
        hk_dprintf(fd, "%zu %zu %s%s\n", t->rules[i].lo, t->rules[i].hi,
                   hak_box_name(t->rules[i].box), t->rules[i].ace ? " ace" : "");
}
