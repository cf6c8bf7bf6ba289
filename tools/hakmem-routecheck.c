/* hakmem-routecheck: prove or refute, offline, that the legacy routing path and the Central
 * Router decide the same.
 *
 *   hakmem-routecheck [--table FILE] [--allow FILE] [--aa] [--progress]
 *
 * Compares hk_legacy_decide(size, entry, knobs) with hk_table_decide(table, ...) (the built-in
 * table, or the candidate FILE) for every size from 0 to 4 MiB inclusive, every class edge and
 * rule edge +-1, every power of two +-1 up to 2^63, and SIZE_MAX; for both entries (malloc,
 * hak_alloc_at) and every knob combination (ace_enabled x wrap_l2). A divergence is a
 * different box or a different class. Divergent sizes are printed as ranges, coalesced only
 * over contiguous sizes that were all checked and all diverge the same way (beyond 4 MiB only
 * the probe points are checked, so a range there never spans an unchecked size).
 *
 * --allow FILE: accepted divergences, `<lo> <hi> <legacy-box> <central-box>` per line (see
 * compare/README.md); an allowed range is marked "(allowed)", and an entry that matches no
 * divergence is reported as stale (stale entries alone do not fail the run).
 * --aa: A/A mode: legacy against legacy and the table against itself (must report 0).
 *
 * Exit status: 0 no divergence (or all allowed), 1 divergences, 2 usage error (unknown
 * option, missing argument, unreadable or invalid table or allow file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hk_ace.h"
#include "hk_legacy.h"
#include "hk_table.h"
#include "hk_mid.h"
#include "hk_tiny.h"

#define PROG "hakmem-routecheck"
/* Every size up to here is checked; above it, only the probe points. */
#define DENSE_MAX ((size_t)4 * 1024 * 1024)
#define CHUNK ((size_t)1 << 16)
#define NCOMBOS 8

/* --------------------------------------------------------------- the two sides */

typedef enum { SIDE_LEGACY, SIDE_TABLE } side_t;

typedef struct {
    side_t a, b;
    const char *label; /* A/A mode only */
} pair_t;

typedef struct {
    hk_knobs k;
    hk_entry_t entry;
} combo_t;

static const hk_table *table;

HK_INLINE hk_decision side_decide(side_t s, size_t size, hk_entry_t e, hk_knobs k)
{
    return s == SIDE_LEGACY ? hk_legacy_decide(size, e, k) : hk_table_decide(table, size, e, k);
}

/* ------------------------------------------------------------------ allow list */

typedef struct {
    size_t lo, hi;
    hak_box_t legacy, central;
    int line;
    bool used;
} allow_t;

static allow_t *allows;
static int nallows;

static bool parse_size(const char *s, size_t *out)
{
    size_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Load the allow file; on a fault print one line and return false. */
static bool load_allow(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, PROG ": %s: cannot open (%s)\n", path, strerror(errno));
        return false;
    }
    char *buf = NULL;
    size_t cap = 0;
    int line = 0, cap_allows = 0;
    bool ok = true;
    while (getline(&buf, &cap, f) >= 0) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *fld[5], *save = NULL;
        int nf = 0;
        for (char *t = strtok_r(buf, " \t\r\n\v\f", &save); t;
             t = strtok_r(NULL, " \t\r\n\v\f", &save)) {
            if (nf == 5)
                break;
            fld[nf++] = t;
        }
        if (nf == 0)
            continue;
        const char *fault = NULL;
        allow_t a = {0, 0, HAK_BOX_NONE, HAK_BOX_NONE, line, false};
        if (nf != 4)
            fault = "expected <lo> <hi> <legacy-box> <central-box>";
        else if (!parse_size(fld[0], &a.lo) || !parse_size(fld[1], &a.hi))
            fault = "bad number (sizes are decimal byte counts)";
        else if (a.lo > a.hi)
            fault = "lo is above hi";
        else if ((a.legacy = hk_box_from_name(fld[2], strlen(fld[2]))) == HAK_BOX_NONE ||
                 (a.central = hk_box_from_name(fld[3], strlen(fld[3]))) == HAK_BOX_NONE)
            fault = "unknown box (expected tiny, pool, mid, l25 or mmap)";
        if (fault) {
            fprintf(stderr, PROG ": %s: line %d: %s\n", path, line, fault);
            ok = false;
            break;
        }
        if (nallows == cap_allows) {
            cap_allows = cap_allows ? 2 * cap_allows : 16;
            allows = realloc(allows, (size_t)cap_allows * sizeof *allows);
            if (!allows) {
                fprintf(stderr, PROG ": out of memory\n");
                exit(2);
            }
        }
        allows[nallows++] = a;
    }
    if (ok && ferror(f)) {
        fprintf(stderr, PROG ": %s: read error (%s)\n", path, strerror(errno));
        ok = false;
    }
    free(buf);
    fclose(f);
    return ok;
}

/* ------------------------------------------------------------------ the ranges */

typedef struct {
    size_t lo, hi;
    hk_decision a, b;
    int pair, combo;
    bool allowed;
} range_t;

static range_t *ranges;
static size_t nranges, cap_ranges;

static void add_range(const range_t *r)
{
    if (nranges == cap_ranges) {
        cap_ranges = cap_ranges ? 2 * cap_ranges : 64;
        ranges = realloc(ranges, cap_ranges * sizeof *ranges);
        if (!ranges) {
            fprintf(stderr, PROG ": out of memory\n");
            exit(2);
        }
    }
    ranges[nranges++] = *r;
}

/* The run being coalesced: divergent, contiguous, checked sizes with one (a -> b). */
static range_t run;
static bool run_open;

static void flush_run(void)
{
    if (run_open)
        add_range(&run);
    run_open = false;
}

HK_INLINE void diverged(size_t size, hk_decision a, hk_decision b, int pair, int combo)
{
    if (run_open && size == run.hi + 1 && run.a.box == a.box && run.a.cls == a.cls &&
        run.b.box == b.box && run.b.cls == b.cls) {
        run.hi = size;
        return;
    }
    flush_run();
    run = (range_t){size, size, a, b, pair, combo, false};
    run_open = true;
}

/* -------------------------------------------------------------------- progress */

static bool progress_on;
static bool progress_shown;
static int progress_last = -1;
static struct timespec t_start;
static unsigned long long work_total, work_done;

static double elapsed(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t_start.tv_sec) + (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

static void progress(void)
{
    if (!progress_on || elapsed() <= 1.0)
        return;
    int pct = (int)(work_done * 100 / (work_total ? work_total : 1));
    if (pct != progress_last) {
        fprintf(stderr, "\r" PROG ": %d%%", pct);
        fflush(stderr);
        progress_last = pct;
        progress_shown = true;
    }
}

/* ---------------------------------------------------------------------- probes */

static size_t probes[1024];
static size_t nprobes;

static void probe(size_t x)
{
    /* x-1, x, x+1 (without wrapping), those above the dense sweep only. */
    for (int d = -1; d <= 1; d++) {
        if ((d < 0 && x == 0) || (d > 0 && x == SIZE_MAX))
            continue;
        size_t v = d < 0 ? x - 1 : d > 0 ? x + 1 : x;
        if (v > DENSE_MAX && nprobes < sizeof probes / sizeof *probes)
            probes[nprobes++] = v;
    }
}

static int cmp_size(const void *p, const void *q)
{
    size_t a = *(const size_t *)p, b = *(const size_t *)q;
    return a < b ? -1 : a > b;
}

static void build_probes(const hk_table *t)
{
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        probe(hk_tiny_sizes[c]);
    for (int c = 0; c < HK_ACE_NCLASSES; c++)
        probe(hk_ace_sizes[c]);
    for (int c = 0; c < HK_MID_NCLASSES; c++)
        probe(hk_mid_sizes[c]);
    /* Each box's largest size (the box-descriptor array), the built-in table's edges (the
     * legacy path's boundaries) and the compared table's. */
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++)
        probe(hk_boxes[b].max);
    probe(HK_MAX_REQUEST);
    const hk_table *edges[2] = {&hk_table_builtin, t};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < edges[k]->n; i++) {
            probe(edges[k]->rules[i].lo);
            probe(edges[k]->rules[i].hi);
        }
    for (int k = 0; k < 64; k++)
        probe((size_t)1 << k);
    probe(SIZE_MAX);
    qsort(probes, nprobes, sizeof *probes, cmp_size);
    size_t n = 0;
    for (size_t i = 0; i < nprobes; i++)
        if (n == 0 || probes[i] != probes[n - 1])
            probes[n++] = probes[i];
    nprobes = n;
}

/* ----------------------------------------------------------------------- check */

static void check(const pair_t *p, int pair, const combo_t *c, int combo)
{
    const hk_knobs k = c->k;
    const hk_entry_t e = c->entry;
    for (size_t lo = 0;; lo += CHUNK) {
        size_t hi = lo + CHUNK - 1 < DENSE_MAX ? lo + CHUNK - 1 : DENSE_MAX;
        for (size_t s = lo;; s++) {
            hk_decision a = side_decide(p->a, s, e, k);
            hk_decision b = side_decide(p->b, s, e, k);
            if (HK_UNLIKELY(a.box != b.box || a.cls != b.cls))
                diverged(s, a, b, pair, combo);
            else if (HK_UNLIKELY(run_open))
                flush_run();
            if (s == hi)
                break;
        }
        work_done += hi - lo + 1;
        progress();
        if (hi == DENSE_MAX)
            break;
    }
    for (size_t i = 0; i < nprobes; i++) {
        size_t s = probes[i];
        hk_decision a = side_decide(p->a, s, e, k);
        hk_decision b = side_decide(p->b, s, e, k);
        if (a.box != b.box || a.cls != b.cls)
            diverged(s, a, b, pair, combo); /* coalesces only with s - 1, itself checked */
        else
            flush_run();
    }
    flush_run();
    work_done += nprobes;
    progress();
}

/* ---------------------------------------------------------------------- output */

static void print_range(const range_t *r, const pair_t *pairs, bool aa, const combo_t *combos)
{
    const combo_t *c = &combos[r->combo];
    const char *an = hak_box_name(r->a.box), *bn = hak_box_name(r->b.box);
    printf("%zu-%zu ", r->lo, r->hi);
    if (r->a.box != r->b.box)
        printf("%s\u2192%s", an, bn);
    else
        printf("%s[%d]\u2192%s[%d]", an, r->a.cls, bn, r->b.cls);
    printf("  (ace_enabled=%d wrap_l2=%d entry=%s%s%s)", c->k.ace_enabled, c->k.wrap_l2,
           c->entry == HK_ENTRY_WRAP ? "malloc" : "hak_alloc_at", aa ? " pair=" : "",
           aa ? pairs[r->pair].label : "");
    if (r->a.box != r->b.box) {
        char ac[16] = "-", bc[16] = "-";
        if (r->a.cls >= 0)
            snprintf(ac, sizeof ac, "%d", r->a.cls);
        if (r->b.cls >= 0)
            snprintf(bc, sizeof bc, "%d", r->b.cls);
        printf("  class %s\u2192%s", ac, bc);
    }
    if (r->allowed)
        fputs("  (allowed)", stdout);
    putchar('\n');
}

static int usage(FILE *f)
{
    fputs("usage: " PROG " [--table FILE] [--allow FILE] [--aa] [--progress]\n"
          "Compares the legacy routing decision with the Central Router's (the built-in table,\n"
          "or the candidate table FILE) for every size 0..4 MiB, every class and rule edge +-1,\n"
          "every power of two +-1 and SIZE_MAX, for both entries and every knob combination,\n"
          "and prints the divergent ranges.\n"
          "  --table FILE  compare against this candidate table (format: hakmem-routes)\n"
          "  --allow FILE  accepted divergences, `<lo> <hi> <legacy-box> <central-box>' a line\n"
          "  --aa          A/A check: legacy against legacy, the table against itself\n"
          "  --progress    show progress on stderr even when it is not a terminal\n"
          "  --help        this text\n"
          "Exit status: 0 no (unallowed) divergence, 1 divergences, 2 usage error.\n",
          f);
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *table_path = NULL, *allow_path = NULL;
    bool aa = false, want_progress = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(stdout);
        if (!strcmp(a, "--aa")) {
            aa = true;
            continue;
        }
        if (!strcmp(a, "--progress")) {
            want_progress = true;
            continue;
        }
        if (!strncmp(a, "--table", 7))
            dst = &table_path;
        else if (!strncmp(a, "--allow", 7))
            dst = &allow_path;
        if (dst && a[7] == '=' && a[8]) {
            *dst = a + 8;
            continue;
        }
        if (dst && a[7] == '\0') {
            if (i + 1 >= argc) {
                fprintf(stderr, PROG ": %s needs a FILE argument\n", a);
                return usage(stderr);
            }
            *dst = argv[++i];
            continue;
        }
        if (a[0] == '-')
            fprintf(stderr, PROG ": unknown option '%s'\n", a);
        else
            fprintf(stderr, PROG ": unexpected argument '%s'\n", a);
        return usage(stderr);
    }

    static hk_table candidate;
    table = &hk_table_builtin;
    if (table_path) {
        char err[256];
        if (!hk_table_load_file(table_path, false, &candidate, err, sizeof err)) {
            fprintf(stderr, PROG ": %s: %s\n", table_path, err);
            return 2;
        }
        table = &candidate;
    }
    if (allow_path && !load_allow(allow_path))
        return 2;

    progress_on = want_progress || isatty(2);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    build_probes(table);

    static const pair_t normal[] = {{SIDE_LEGACY, SIDE_TABLE, "legacy/central"}};
    static const pair_t aa_pairs[] = {{SIDE_LEGACY, SIDE_LEGACY, "legacy/legacy"},
                                      {SIDE_TABLE, SIDE_TABLE, "central/central"}};
    const pair_t *pairs = aa ? aa_pairs : normal;
    const int npairs = aa ? 2 : 1;
    combo_t combos[NCOMBOS];
    int nc = 0;
    for (int ace = 1; ace >= 0; ace--)
        for (int wrap = 1; wrap >= 0; wrap--)
            for (int e = 0; e < 2; e++)
                combos[nc++] = (combo_t){{ace, wrap}, e ? HK_ENTRY_API : HK_ENTRY_WRAP};

    const unsigned long long per_combo = (unsigned long long)DENSE_MAX + 1 + nprobes;
    work_total = per_combo * NCOMBOS * (unsigned long long)npairs;
    for (int p = 0; p < npairs; p++)
        for (int c = 0; c < NCOMBOS; c++)
            check(&pairs[p], p, &combos[c], c);
    if (progress_shown) {
        if (progress_last != 100)
            fprintf(stderr, "\r" PROG ": 100%%");
        fputc('\n', stderr);
        fflush(stderr);
    }

    size_t unallowed = 0, allowed = 0;
    for (size_t i = 0; i < nranges; i++) {
        range_t *r = &ranges[i];
        for (int j = 0; j < nallows; j++) {
            allow_t *al = &allows[j];
            if (al->legacy == r->a.box && al->central == r->b.box && al->lo <= r->lo &&
                r->hi <= al->hi) {
                r->allowed = true;
                al->used = true;
            }
        }
        if (r->allowed)
            allowed++;
        else
            unallowed++;
        print_range(r, pairs, aa, combos);
    }
    int stale = 0;
    for (int j = 0; j < nallows; j++) {
        const allow_t *al = &allows[j];
        if (al->used)
            continue;
        stale++;
        printf("stale allow entry: %zu %zu %s %s (line %d)\n", al->lo, al->hi,
               hak_box_name(al->legacy), hak_box_name(al->central), al->line);
    }
    printf(PROG ": %s%d knob/entry combinations, %llu decisions compared, %zu divergent range%s",
           aa ? "A/A: " : "", NCOMBOS, work_total, nranges, nranges == 1 ? "" : "s");
    if (allow_path)
        printf(" (%zu allowed, %d stale allow entr%s)", allowed, stale, stale == 1 ? "y" : "ies");
    putchar('\n');
    fflush(stdout);
    free(ranges);
    free(allows);
    return unallowed ? 1 : 0;
}
