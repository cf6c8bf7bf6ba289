/* check_router.c: the Central Router box (include/hak_router.h, hk_table.h).
 *   - the table's text format: every fault of the parser, with its exact "line N: ..." message;
 *   - round trip: hk_table_write then hk_table_load_file gives the same table and decisions;
 *   - equivalence: the built-in table decides exactly as the legacy path, everywhere;
 *   - integration: every range and edge lands in the right box, through every entry, in both
 *     routing modes and for every knob combination;
 *   - fallback to mmap and failures, and the counters that record them;
 *   - health before init (a priority-101 constructor) and after; total_routes per mode;
 *   - verbose decision lines; blocks crossing a mode flip (one thread and two);
 *   - a replacement table (HAKMEM_ROUTER_TABLE's loader, then hk_router_use_table). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_ace.h"
#if HAKMEM_CONFIG_LEGACY
#include "hakmem_migration.h"
#endif
#include "hk_check.h"
#include "hk_expect.h"
#include "hk_router_inline.h"
#include "hk_stats.h"
#include "hk_table.h"
#include "hk_mid.h"
#include "hk_mmap.h"
#include "hk_tiny.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static const char *const entry_names[2] = {"WRAP", "API"};

/* ---------------------------------------------------------------- health before init */

/* Runs before hakmem's own constructor (which has no priority, so runs after every
 * prioritised one): the router's view of a process where nothing is initialised yet. */
static RouterHealth health_before_init;
static bool ready_before_init;

__attribute__((constructor(101))) static void record_health_before_init(void)
{
    ready_before_init = hk_ready();
    health_before_init = hak_router_health_check();
}

/* ---------------------------------------------------------------- helpers */

/* The README's routing table (both paths must route exactly so). */
static hak_box_t expect_box(size_t s, hk_entry_t e, hk_knobs k)
{
    return hk_expect_box(s, e == HK_ENTRY_WRAP, k.ace_enabled, k.wrap_l2);
}

static hk_knobs set_knobs(int combo)
{
    hk_option_set(HK_OPT_ACE_ENABLED, combo & 1);
    hk_option_set(HK_OPT_WRAP_L2, (combo >> 1) & 1);
    hk_knobs k = hak_knobs();
    ck_assert_int_eq(k.ace_enabled, combo & 1);
    ck_assert_int_eq(k.wrap_l2, (combo >> 1) & 1);
    return k;
}

/* Stamp stride: every byte of small blocks, every page up to 4 MiB, sparser beyond (faulting
 * in every page of the 64 MiB blocks would dominate the suite's time). */
static size_t stride_for(size_t n) { return n > 4 * MiB ? 256 * KiB : n > 64 * KiB ? 4096 : 0; }

/* Parse text (a C string); must fail with exactly `want` in err. */
static void expect_fault(const char *text, const char *want)
{
    hk_table t;
    memset(&t, 0xa5, sizeof t);
    hk_table before = t;
    char err[256] = "untouched";
    bool ok = hk_table_parse(text, strlen(text), &t, err, sizeof err);
    ck_assert_msg(!ok, "accepted: \"%s\"", text);
    ck_assert_msg(strcmp(err, want) == 0, "table \"%s\":\n  got  \"%s\"\n  want \"%s\"", text, err,
                  want);
    ck_assert_msg(memcmp(&t, &before, sizeof t) == 0, "a failed parse changed *out");
}

static hk_table expect_parse(const char *text)
{
    hk_table t;
    char err[256] = "";
    bool ok = hk_table_parse(text, strlen(text), &t, err, sizeof err);
    ck_assert_msg(ok, "rejected \"%s\": %s", text, err);
    return t;
}

static void same_table(const hk_table *a, const hk_table *b)
{
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        const hk_rule *x = &a->rules[i], *y = &b->rules[i];
        ck_assert_msg(x->lo == y->lo && x->hi == y->hi && x->box == y->box && x->ace == y->ace,
                      "rule %d: %zu %zu %s%s vs %zu %zu %s%s", i, x->lo, x->hi,
                      hak_box_name(x->box), x->ace ? " ace" : "", y->lo, y->hi,
                      hak_box_name(y->box), y->ace ? " ace" : "");
    }
}

/* Write text into a fresh temporary file; returns its path (static buffer of the caller). */
static void write_temp(char *path, const char *text)
{
    strcpy(path, "/tmp/hk_check_tableXXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* Capture what fn writes on fd 2. */
typedef struct {
    int saved, rd;
} capture;

static capture capture_begin(void)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    capture c = {dup(2), p[0]};
    ck_assert_int_ge(c.saved, 0);
    ck_assert_int_ge(dup2(p[1], 2), 0);
    close(p[1]);
    return c;
}

static size_t capture_end(capture c, char *buf, size_t cap)
{
    dup2(c.saved, 2);
    close(c.saved);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(c.rd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(c.rd);
    return len;
}

/* ---------------------------------------------------------------- the parser */

#define SMAX "18446744073709551615"
#define TAIL_AFTER_TINY                                                                            \
    "1025 8192 pool ace\n8193 32768 mid\n32769 53248 pool ace\n"                                   \
    "53249 2097151 l25 ace\n2097152 " SMAX " mmap\n"
#define BUILTIN_TEXT "0 1024 tiny\n" TAIL_AFTER_TINY

START_TEST(test_parse_builtin_text) {
    hk_table t = expect_parse(BUILTIN_TEXT);
    same_table(&t, &hk_table_builtin);
    /* Comments, blank lines, tabs, CRLF, trailing comments, no final newline. */
    t = expect_parse("# hakmem table\n\n   \n\t# indented comment\n0\t1024  tiny # tiny\r\n"
                     "1025 8192 pool ace#ace\n\n8193 32768 mid\n32769 53248 pool   ace  \n"
                     "# between\n53249 2097151 l25 ace\n2097152 " SMAX " mmap");
    same_table(&t, &hk_table_builtin);
    /* The smallest table: one mmap rule. */
    t = expect_parse("0 " SMAX " mmap\n");
    ck_assert_int_eq(t.n, 1);
    ck_assert_int_eq(t.rules[0].box, HAK_BOX_MMAP);
    /* Each box right up to its limit. */
    expect_parse("0 1024 tiny\n1025 32768 mid\n32769 53248 pool\n53249 2097152 l25\n"
                 "2097153 " SMAX " mmap\n");
    expect_parse("0 53248 pool ace\n53249 2097152 l25\n2097153 " SMAX " mmap\n");
}
END_TEST

START_TEST(test_parse_gap) {
    expect_fault("1 1024 tiny\n" TAIL_AFTER_TINY,
                 "line 1: gap: the first rule must start at 0, not 1");
    expect_fault("# comment\n\n5 " SMAX " mmap\n",
                 "line 3: gap: the first rule must start at 0, not 5");
    expect_fault("0 1000 tiny\n1025 8192 pool ace\n8193 " SMAX " mmap\n",
                 "line 2: gap: sizes 1001-1024 are not covered");
    expect_fault("0 1024 tiny\n1025 8192 pool ace\n# x\n8194 " SMAX " mmap\n",
                 "line 4: gap: sizes 8193-8193 are not covered");
    expect_fault("0 1024 tiny\n1025 8192 pool ace\n",
                 "line 2: gap: sizes 8193-" SMAX " are not covered (the last rule must end at " SMAX
                 ")");
    expect_fault("0 1024 tiny\n1025 8192 pool ace\n# trailing\n\n",
                 "line 4: gap: sizes 8193-" SMAX " are not covered (the last rule must end at " SMAX
                 ")");
    expect_fault("0 1024 tiny\n1025 "
                 "18446744073709551614"
                 " mmap\n",
                 "line 2: gap: sizes " SMAX "-" SMAX
                 " are not covered (the last rule must end at " SMAX ")");
    expect_fault("", "line 0: no rules");
    expect_fault("# only a comment\n\n", "line 2: no rules");
}
END_TEST

START_TEST(test_parse_overlap_unsorted) {
    expect_fault("0 1024 tiny\n1024 8192 pool ace\n8193 " SMAX " mmap\n",
                 "line 2: overlap: starts at 1024, but the previous rule ends at 1024");
    expect_fault("0 1024 tiny\n1025 8192 pool\n2000 " SMAX " mmap\n",
                 "line 3: overlap: starts at 2000, but the previous rule ends at 8192");
    expect_fault("0 " SMAX " mmap\n0 1024 tiny\n",
                 "line 2: overlap: the previous rule already ends at " SMAX);
    expect_fault("0 1024 tiny\n1025 " SMAX " mmap\n\n# x\n5 6 mmap\n",
                 "line 5: overlap: the previous rule already ends at " SMAX);
    expect_fault("0 1024 tiny\n1025 8192 pool ace\n500 600 tiny\n",
                 "line 3: unsorted: starts at 500, before the previous rule's 1025");
    expect_fault("0 100 tiny\n101 1024 tiny\n0 5 tiny\n",
                 "line 3: unsorted: starts at 0, before the previous rule's 101");
}
END_TEST

START_TEST(test_parse_unknown_box) {
    expect_fault("0 1024 huge\n1025 " SMAX " mmap\n",
                 "line 1: unknown box \"huge\" (expected tiny, pool, mid, l25 or mmap)");
    expect_fault("0 1024 tiny\n1025 " SMAX " MMAP\n",
                 "line 2: unknown box \"MMAP\" (expected tiny, pool, mid, l25 or mmap)");
    expect_fault("0 1024 none\n",
                 "line 1: unknown box \"none\" (expected tiny, pool, mid, l25 or mmap)");
    expect_fault("0 1024 tin\n",
                 "line 1: unknown box \"tin\" (expected tiny, pool, mid, l25 or mmap)");
    expect_fault("0 1024 tinyy\n",
                 "line 1: unknown box \"tinyy\" (expected tiny, pool, mid, l25 or mmap)");
    /* A long name is cut at 31 characters in the message. */
    expect_fault("0 1024 abcdefghijklmnopqrstuvwxyz0123456789\n",
                 "line 1: unknown box \"abcdefghijklmnopqrstuvwxyz01234\" (expected tiny, pool, "
                 "mid, l25 or mmap)");
}
END_TEST

START_TEST(test_parse_bad_number) {
    static const char *const bad[] = {"12a",
                                      "a12",
                                      "-1",
                                      "+5",
                                      "0x10",
                                      "1.5",
                                      "1e3",
                                      "18446744073709551616",
                                      "99999999999999999999",
                                      "184467440737095516150"};
    const char *msg = "bad number (sizes are decimal byte counts up to " SMAX ")";
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256], want[256];
        /* In lo, line 1. */
        snprintf(text, sizeof text, "%s 1024 tiny\n1025 " SMAX " mmap\n", bad[i]);
        snprintf(want, sizeof want, "line 1: %s", msg);
        expect_fault(text, want);
        /* In hi, line 3. */
        snprintf(text, sizeof text, "0 1024 tiny\n\n1025 %s mmap\n", bad[i]);
        snprintf(want, sizeof want, "line 3: %s", msg);
        expect_fault(text, want);
    }
    /* SIZE_MAX itself, and leading zeros, are numbers. */
    hk_table t = expect_parse("000 01024 tiny\n1025 " SMAX " mmap\n");
    ck_assert_uint_eq(t.rules[0].hi, 1024);
    ck_assert_uint_eq(t.rules[1].hi, SIZE_MAX);
}
END_TEST

START_TEST(test_parse_lo_above_hi) {
    expect_fault("0 1024 tiny\n2000 1025 pool\n", "line 2: lo 2000 is above hi 1025");
    expect_fault("5 4 tiny\n", "line 1: lo 5 is above hi 4");
    /* lo == hi is a one-size rule. */
    hk_table t = expect_parse("0 0 tiny\n1 1 tiny\n2 " SMAX " mmap\n");
    ck_assert_int_eq(t.n, 3);
}
END_TEST

START_TEST(test_parse_box_range) {
    expect_fault("0 1025 tiny\n1026 " SMAX " mmap\n",
                 "line 1: box tiny has no class for sizes above 1024 (rule ends at 1025)");
    expect_fault("0 1024 tiny\n1025 32769 mid\n32770 " SMAX " mmap\n",
                 "line 2: box mid has no class for sizes above 32768 (rule ends at 32769)");
    expect_fault("0 1024 tiny\n1025 53249 pool ace\n53250 " SMAX " mmap\n",
                 "line 2: box pool has no class for sizes above 53248 (rule ends at 53249)");
    expect_fault("0 1024 tiny\n1025 2097153 l25 ace\n2097154 " SMAX " mmap\n",
                 "line 2: box l25 has no class for sizes above 2097152 (rule ends at 2097153)");
    expect_fault("0 " SMAX " l25\n",
                 "line 1: box l25 has no class for sizes above 2097152 (rule ends at " SMAX ")");
    /* The range check applies before the order checks, on the line it names. */
    expect_fault("0 1024 tiny\n1025 8192 pool\n8193 40000 tiny\n",
                 "line 3: box tiny has no class for sizes above 1024 (rule ends at 40000)");
}
END_TEST

START_TEST(test_parse_ace_field) {
    const char *msg = "\"ace\" applies only to pool and l25 rows";
    char want[128];
    snprintf(want, sizeof want, "line 1: %s", msg);
    expect_fault("0 1024 tiny ace\n1025 " SMAX " mmap\n", want);
    snprintf(want, sizeof want, "line 2: %s", msg);
    expect_fault("0 1024 tiny\n1025 32768 mid ace\n32769 " SMAX " mmap\n", want);
    expect_fault("0 1024 tiny\n1025 " SMAX " mmap ace\n", want);
    /* Anything but "ace" after the box. */
    const char *unexp = "unexpected field after the box (only \"ace\" may follow)";
    snprintf(want, sizeof want, "line 2: %s", unexp);
    expect_fault("0 1024 tiny\n1025 8192 pool ACE\n8193 " SMAX " mmap\n", want);
    expect_fault("0 1024 tiny\n1025 8192 pool aces\n8193 " SMAX " mmap\n", want);
    expect_fault("0 1024 tiny\n1025 8192 pool ace ace\n8193 " SMAX " mmap\n", want);
    /* Too many fields (a sixth), too few. */
    expect_fault("0 1024 tiny\n1025 8192 pool ace x y\n",
                 "line 2: too many fields (expected <lo> <hi> <box> [ace])");
    expect_fault("0 1024 tiny a b c d e f\n",
                 "line 1: too many fields (expected <lo> <hi> <box> [ace])");
    expect_fault("0 1024\n", "line 1: expected <lo> <hi> <box> [ace]");
    expect_fault("0 1024 tiny\n\n1025\n", "line 3: expected <lo> <hi> <box> [ace]");
    /* pool and l25 rows take it. */
    hk_table t = expect_parse("0 1024 tiny\n1025 8192 pool ace\n8193 2097152 l25 ace\n"
                              "2097153 " SMAX " mmap\n");
    ck_assert(t.rules[1].ace && t.rules[2].ace && !t.rules[0].ace && !t.rules[3].ace);
}
END_TEST

/* HK_TABLE_MAX_RULES rules are fine; one more is a fault on that line. */
static char *many_rules(int n)
{
    char *buf = malloc((size_t)n * 48 + 64);
    ck_assert_ptr_nonnull(buf);
    size_t len = 0;
    for (int i = 0; i < n - 1; i++)
        len += (size_t)sprintf(buf + len, "%d %d tiny\n", i, i);
    sprintf(buf + len, "%d " SMAX " mmap\n", n - 1);
    return buf;
}

START_TEST(test_parse_too_many_rules) {
    char *text = many_rules(HK_TABLE_MAX_RULES);
    hk_table t = expect_parse(text);
    ck_assert_int_eq(t.n, HK_TABLE_MAX_RULES);
    free(text);
    text = many_rules(HK_TABLE_MAX_RULES + 1);
    char want[64];
    snprintf(want, sizeof want, "line %d: too many rules (at most %d)", HK_TABLE_MAX_RULES + 1,
             HK_TABLE_MAX_RULES);
    expect_fault(text, want);
    free(text);
    /* Comments and blank lines do not count as rules (but do count as lines). */
    char *big = malloc(16 * 1024);
    size_t len = 0;
    for (int i = 0; i < HK_TABLE_MAX_RULES - 1; i++)
        len += (size_t)sprintf(big + len, "# rule %d\n\n%d %d tiny\n", i, i, i);
    sprintf(big + len, "%d " SMAX " mmap\n", HK_TABLE_MAX_RULES - 1);
    t = expect_parse(big);
    ck_assert_int_eq(t.n, HK_TABLE_MAX_RULES);
    free(big);
}
END_TEST

/* The error buffer is never overrun, and a short one is still terminated. */
START_TEST(test_parse_short_err_buffer) {
    hk_table t;
    char err[12];
    memset(err, 'x', sizeof err);
    const char *text = "0 1024 huge\n";
    ck_assert(!hk_table_parse(text, strlen(text), &t, err, 8));
    ck_assert_msg(memchr(err, '\0', 8) != NULL, "err not terminated");
    ck_assert_int_eq(err[8], 'x');
    ck_assert_int_eq(strncmp(err, "line 1:", 7), 0);
}
END_TEST

/* The loader (HAKMEM_ROUTER_TABLE's path): faults of a file read as the parser's. */
START_TEST(test_load_file_faults) {
    static const struct {
        const char *text, *want;
    } files[] = {
        {"0 1024 tiny\n1025 8192 pool ace\n# hole\n8200 " SMAX " mmap\n",
         "line 4: gap: sizes 8193-8199 are not covered"},
        {"0 1024 tiny\n1000 " SMAX " mmap\n",
         "line 2: overlap: starts at 1000, but the previous rule ends at 1024"},
        {"0 1024 tiny\n1025 " SMAX " heap\n",
         "line 2: unknown box \"heap\" (expected tiny, pool, mid, l25 or mmap)"},
        {"0 1k tiny\n", "line 1: bad number (sizes are decimal byte counts up to " SMAX ")"},
        {"0 1024 tiny\n1025 2048 pool\n100 200 tiny\n",
         "line 3: unsorted: starts at 100, before the previous rule's 1025"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[64];
        write_temp(path, files[i].text);
        hk_table t;
        char err[256] = "";
        bool ok = hk_table_load_file(path, true, &t, err, sizeof err);
        unlink(path);
        ck_assert_msg(!ok, "file %zu accepted", i);
        ck_assert_msg(strcmp(err, files[i].want) == 0, "file %zu: got \"%s\", want \"%s\"", i, err,
                      files[i].want);
    }
    hk_table t;
    char err[256] = "";
    ck_assert(!hk_table_load_file("/nonexistent/hakmem/table", true, &t, err, sizeof err));
    ck_assert_msg(strncmp(err, "cannot open", 11) == 0, "%s", err);
}
END_TEST

/* ---------------------------------------------------------------- round trip, equivalence */

static hk_table load_written(const hk_table *src)
{
    char path[] = "/tmp/hk_check_writeXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    hk_table_write(src, fd);
    close(fd);
    hk_table t;
    char err[256] = "";
    bool ok = hk_table_load_file(path, true, &t, err, sizeof err);
    unlink(path);
    ck_assert_msg(ok, "the written table does not load back: %s", err);
    return t;
}

/* Sizes beyond the every-size range: each power of two, +-1, and SIZE_MAX. */
static size_t far_sizes(size_t out[200])
{
    size_t n = 0;
    for (int b = 0; b < 64; b++) {
        size_t p = (size_t)1 << b;
        out[n++] = p - 1;
        out[n++] = p;
        out[n++] = p + 1;
    }
    out[n++] = SIZE_MAX - 1;
    out[n++] = SIZE_MAX;
    return n;
}

#define DECIDE_EQ(a, b) ((a).box == (b).box && (a).cls == (b).cls)

START_TEST(test_round_trip) {
    hk_table t = load_written(&hk_table_builtin);
    same_table(&t, &hk_table_builtin);
    size_t far[200];
    size_t nfar = far_sizes(far);
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = {combo & 1, (combo >> 1) & 1};
        for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++) {
            for (size_t s = 0; s <= 4 * MiB; s++) {
                hk_decision a = hk_table_decide(&hk_table_builtin, s, (hk_entry_t)e, k);
                hk_decision b = hk_table_decide(&t, s, (hk_entry_t)e, k);
                if (!DECIDE_EQ(a, b))
                    ck_abort_msg("size %zu %s ace=%d wrap_l2=%d: built-in %s/%d, loaded %s/%d", s,
                                 entry_names[e], k.ace_enabled, k.wrap_l2, hak_box_name(a.box),
                                 a.cls, hak_box_name(b.box), b.cls);
            }
            for (size_t i = 0; i < nfar; i++) {
                hk_decision a = hk_table_decide(&hk_table_builtin, far[i], (hk_entry_t)e, k);
                hk_decision b = hk_table_decide(&t, far[i], (hk_entry_t)e, k);
                ck_assert_msg(DECIDE_EQ(a, b), "size %zu: built-in %s/%d, loaded %s/%d", far[i],
                              hak_box_name(a.box), a.cls, hak_box_name(b.box), b.cls);
            }
        }
    }
    /* Writing the loaded table again gives the same text. */
    hk_table t2 = load_written(&t);
    same_table(&t2, &t);
}
END_TEST

/* Other tables round-trip too (single rule; many rules; every box). */
START_TEST(test_round_trip_other_tables) {
    static const char *const texts[] = {
        "0 " SMAX " mmap\n",
        "0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n32769 53248 pool\n"
        "53249 2097152 l25\n2097153 " SMAX " mmap\n",
        "0 0 tiny\n1 2 tiny\n3 4096 pool\n4097 5000 mid\n5001 60000 l25 ace\n60001 " SMAX " mmap\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        hk_table a = expect_parse(texts[i]);
        hk_table b = load_written(&a);
        same_table(&a, &b);
    }
    char *text = many_rules(HK_TABLE_MAX_RULES);
    hk_table a = expect_parse(text);
    free(text);
    hk_table b = load_written(&a);
    same_table(&a, &b);
}
END_TEST

#if HAKMEM_CONFIG_LEGACY
/* The Central Router's built-in table has exactly the legacy path's boundaries. */
START_TEST(test_router_equals_legacy) {
    hk_check_set_mode(_i);
    ck_assert_ptr_eq(hk_router_table, &hk_table_builtin);
    size_t far[200];
    size_t nfar = far_sizes(far);
    for (int combo = 0; combo < 4; combo++) {
        hak_knobs_t k = {combo & 1, (combo >> 1) & 1};
        for (int e = HAK_ENTRY_WRAP; e <= HAK_ENTRY_API; e++) {
            for (size_t s = 0; s <= 4 * MiB; s++) {
                hak_decision_t r = hak_router_decide(s, (hak_entry_t)e, k);
                hak_decision_t l = hak_legacy_decide(s, (hak_entry_t)e, k);
                if (!DECIDE_EQ(r, l))
                    ck_abort_msg("size %zu %s ace=%d wrap_l2=%d: router %s/%d, legacy %s/%d", s,
                                 entry_names[e], k.ace_enabled, k.wrap_l2, hak_box_name(r.box),
                                 r.cls, hak_box_name(l.box), l.cls);
            }
            for (size_t i = 0; i < nfar; i++) {
                hak_decision_t r = hak_router_decide(far[i], (hak_entry_t)e, k);
                hak_decision_t l = hak_legacy_decide(far[i], (hak_entry_t)e, k);
                ck_assert_msg(DECIDE_EQ(r, l),
                              "size %zu %s ace=%d wrap_l2=%d: router %s/%d, "
                              "legacy %s/%d",
                              far[i], entry_names[e], k.ace_enabled, k.wrap_l2, hak_box_name(r.box),
                              r.cls, hak_box_name(l.box), l.cls);
                ck_assert_int_eq(r.box, expect_box(far[i], (hk_entry_t)e, k));
            }
        }
    }
}
END_TEST
#endif

/* ---------------------------------------------------------------- integration */

static const size_t edges[] = {0,           1,       1024,        1025,     8192,     8193,
                               32768,       32769,   33 * KiB,    40 * KiB, 52 * KiB, 52 * KiB + 1,
                               2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 64 * MiB, 512,      4096,
                               16 * KiB,    1 * MiB};

/* Every edge and its neighbours. */
static size_t edge_sizes(size_t out[3 * sizeof edges / sizeof edges[0]])
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        if (edges[i] > 0)
            out[n++] = edges[i] - 1;
        out[n++] = edges[i];
        out[n++] = edges[i] + 1;
    }
    return n;
}

enum { VIA_ALLOC_AT, VIA_MALLOC, VIA_ROUTER, VIA_COUNT };
static const char *const via_names[VIA_COUNT] = {"hak_alloc_at", "hak_malloc", "hak_router_alloc"};

static void *alloc_via(int via, size_t s, uintptr_t site)
{
    switch (via) {
    case VIA_ALLOC_AT: return hak_alloc_at(s, site);
    case VIA_MALLOC: return hak_malloc(s);
    default: return hak_router_alloc(s, site);
    }
}

START_TEST(test_integration_edges) {
    hk_check_set_mode(_i);
    size_t sizes[3 * sizeof edges / sizeof edges[0]];
    size_t n = edge_sizes(sizes);
    void *blocks[VIA_COUNT][sizeof sizes / sizeof sizes[0]];
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = set_knobs(combo);
        for (int via = 0; via < VIA_COUNT; via++) {
            hk_entry_t e = via == VIA_MALLOC ? HK_ENTRY_WRAP : HK_ENTRY_API;
            for (size_t i = 0; i < n; i++) {
                size_t s = sizes[i];
                void *p = alloc_via(via, s, 0x1000 + i);
                ck_assert_msg(p != NULL, "[%s] %s(%zu) ace=%d wrap_l2=%d: NULL",
                              hk_check_mode_names[_i], via_names[via], s, k.ace_enabled, k.wrap_l2);
                hak_box_t want = expect_box(s, e, k);
                ck_assert_msg(hak_box_of(p) == want,
                              "[%s] %s(%zu) ace=%d wrap_l2=%d: box %s, "
                              "expected %s",
                              hk_check_mode_names[_i], via_names[via], s, k.ace_enabled, k.wrap_l2,
                              hak_box_name(hak_box_of(p)), hak_box_name(want));
                ck_assert_uint_ge(hak_malloc_usable_size(p), s);
                hk_check_stamp(p, s, (uintptr_t)(combo * 1000 + via * 100) + i, stride_for(s));
                blocks[via][i] = p;
            }
        }
        /* Everything still intact with every block live, then freed by the router's exit. */
        for (int via = 0; via < VIA_COUNT; via++)
            for (size_t i = 0; i < n; i++) {
                size_t bad = hk_check_verify(blocks[via][i], sizes[i],
                                             (uintptr_t)(combo * 1000 + via * 100) + i,
                                             stride_for(sizes[i]));
                ck_assert_msg(bad == HK_CHECK_INTACT, "[%s] %s(%zu): byte %zu corrupt",
                              hk_check_mode_names[_i], via_names[via], sizes[i], bad);
                if ((i + (size_t)via) & 1)
                    hak_router_free(blocks[via][i]);
                else
                    hak_free(blocks[via][i]);
                ck_assert_int_eq(hak_box_of(blocks[via][i]), HAK_BOX_NONE);
            }
    }
    /* The differential mode compared every front-door call (hak_alloc_at and hak_malloc, not
     * hak_router_alloc), and the two paths agree on every edge under every knob. */
    hk_check_diff_counts d = hk_check_diff();
    ck_assert_uint_eq(d.compared, _i == HK_CHECK_MODE_DIFF ? 4 * 2 * n : 0);
    ck_assert_uint_eq(d.divergent, 0);
}
END_TEST

/* hak_router_free(NULL) is a no-op, like free(NULL). */
START_TEST(test_router_free_null) {
    hk_check_set_mode(_i);
    hak_router_free(NULL);
    void *p = hak_router_alloc(0, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    hak_router_free(p);
}
END_TEST

/* ---------------------------------------------------------------- fallback and failures */

/* With page acquisition failing, allocate size through the router until a block comes from
 * the mmap box (at once in a fresh test process; after the cached blocks otherwise). */
static void check_router_fallback(size_t size, hak_box_t box)
{
    void *held[4096];
    size_t nheld = 0;
    hk_slab_inject_page_failures(1 << 30);
    void *p = NULL;
    for (;;) {
        RouterHealth h0 = hak_router_health_check();
        errno = 0;
        p = hak_router_alloc(size, 0x42);
        RouterHealth h1 = hak_router_health_check();
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(h1.route_failures, h0.route_failures);
        ck_assert_uint_eq(h1.total_routes, h0.total_routes + 1);
        if (hak_box_of(p) == HAK_BOX_MMAP) {
            ck_assert_msg(h1.fallback_count == h0.fallback_count + 1,
                          "size %zu: fallback_count %llu -> %llu", size,
                          (unsigned long long)h0.fallback_count,
                          (unsigned long long)h1.fallback_count);
            break;
        }
        ck_assert_int_eq(hak_box_of(p), box);
        ck_assert_uint_eq(h1.fallback_count, h0.fallback_count);
        ck_assert_msg(nheld < sizeof held / sizeof held[0], "size %zu: never fell back", size);
        held[nheld++] = p;
    }
    hk_slab_inject_page_failures(0);
    ck_assert_uint_ge(hak_malloc_usable_size(p), size);
    hk_check_stamp(p, size, 77, stride_for(size));
    ck_assert(hk_check_verify(p, size, 77, stride_for(size)) == HK_CHECK_INTACT);
    hak_router_free(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
    while (nheld)
        hak_router_free(held[--nheld]);
    /* Pages come back: the box serves again, no fallback. */
    RouterHealth h0 = hak_router_health_check();
    p = hak_router_alloc(size, 0x43);
    ck_assert_int_eq(hak_box_of(p), box);
    ck_assert_uint_eq(hak_router_health_check().fallback_count, h0.fallback_count);
    hak_router_free(p);
}

START_TEST(test_fallback_l25) {
    hk_check_set_mode(_i);
    check_router_fallback(1 * MiB + 1, HAK_BOX_L25);
}
END_TEST

START_TEST(test_fallback_each_box) {
    hk_check_set_mode(_i);
    check_router_fallback(100, HAK_BOX_TINY);
    check_router_fallback(4000, HAK_BOX_POOL);
    check_router_fallback(20000, HAK_BOX_MID);
    check_router_fallback(200000, HAK_BOX_L25);
}
END_TEST

/* Through the front door: the router counts fallbacks only when it routed the request. */
START_TEST(test_fallback_front_door) {
    hk_check_set_mode(_i);
    RouterHealth h0 = hak_router_health_check();
    hk_slab_inject_page_failures(1 << 30);
    void *p = hak_alloc_at(300000, 1); /* L25 class 512 KiB: no page in a fresh process */
    hk_slab_inject_page_failures(0);
    ck_assert_ptr_nonnull(p);
    RouterHealth h1 = hak_router_health_check();
    if (hak_box_of(p) == HAK_BOX_MMAP)
        ck_assert_uint_eq(h1.fallback_count, h0.fallback_count + hk_check_mode_central(_i));
    ck_assert_uint_eq(h1.route_failures, h0.route_failures);
    ck_assert_uint_eq(h1.total_routes, h0.total_routes + hk_check_mode_central(_i));
    hak_free(p);
}
END_TEST

START_TEST(test_router_enomem) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {SIZE_MAX, (size_t)1 << 50, HK_MAX_REQUEST + 1, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        RouterHealth h0 = hak_router_health_check();
        errno = 0;
        ck_assert_ptr_null(hak_router_alloc(sizes[i], 0x7));
        ck_assert_msg(errno == ENOMEM, "hak_router_alloc(%zu): errno %d", sizes[i], errno);
        RouterHealth h1 = hak_router_health_check();
        ck_assert_uint_eq(h1.route_failures, h0.route_failures + 1);
        ck_assert_uint_eq(h1.fallback_count, h0.fallback_count);
        ck_assert_uint_eq(h1.total_routes, h0.total_routes + 1);
        /* Through the front door: a router failure only when the router routes. */
        errno = 0;
        ck_assert_ptr_null(hak_malloc(sizes[i]));
        ck_assert_int_eq(errno, ENOMEM);
        RouterHealth h2 = hak_router_health_check();
        ck_assert_uint_eq(h2.route_failures, h1.route_failures + hk_check_mode_central(_i));
        ck_assert_uint_eq(h2.fallback_count, h1.fallback_count);
    }
    /* The largest request allowed still works. */
    errno = 0;
    void *p = hak_router_alloc(HK_MAX_REQUEST, 0);
    if (p) {
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
        hak_router_free(p);
    } else {
        ck_assert_int_eq(errno, ENOMEM); /* address space may be short: a counted failure */
    }
}
END_TEST

/* ---------------------------------------------------------------- health */

START_TEST(test_health_before_init) {
    ck_assert_msg(!ready_before_init, "hakmem was initialised before the priority-101 constructor");
    RouterHealth b = health_before_init;
    ck_assert(!b.tiny_ready);
    ck_assert(!b.pool_ready);
    ck_assert(!b.mid_ready);
    ck_assert(!b.l25_ready);
    ck_assert(!b.ace_ready);
    ck_assert(b.mmap_ready);
    ck_assert_uint_eq(b.total_routes, 0);
    ck_assert_uint_eq(b.route_failures, 0);
    ck_assert_uint_eq(b.fallback_count, 0);
}
END_TEST

START_TEST(test_health_after_init) {
    hk_check_set_mode(_i);
    ck_assert(hk_ready());
    RouterHealth h = hak_router_health_check();
    ck_assert(h.tiny_ready);
    ck_assert(h.pool_ready);
    ck_assert(h.mid_ready);
    ck_assert(h.l25_ready);
    ck_assert(h.ace_ready);
    ck_assert(h.mmap_ready);
}
END_TEST

/* total_routes counts what the router routes: front-door allocations only when it executes
 * them (central, diff), hak_router_alloc always; frees never. */
START_TEST(test_health_total_routes) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {0, 8, 100, 1024, 1025, 4096, 8193, 40000, 100000, 3 * MiB};
    const size_t n = sizeof sizes / sizeof sizes[0];
    void *p[2 * sizeof sizes / sizeof sizes[0]];
    RouterHealth h0 = hak_router_health_check();
    for (size_t i = 0; i < n; i++) {
        p[2 * i] = hak_malloc(sizes[i]);
        p[2 * i + 1] = hak_alloc_at(sizes[i], i);
    }
    RouterHealth h1 = hak_router_health_check();
    ck_assert_msg(h1.total_routes == h0.total_routes + (hk_check_mode_central(_i) ? 2 * n : 0),
                  "[%s] total_routes %llu -> %llu after %zu allocations", hk_check_mode_names[_i],
                  (unsigned long long)h0.total_routes, (unsigned long long)h1.total_routes, 2 * n);
    for (size_t i = 0; i < 2 * n; i++)
        hak_free(p[i]);
    ck_assert_uint_eq(hak_router_health_check().total_routes, h1.total_routes);
    for (size_t i = 0; i < n; i++)
        hak_router_free(hak_router_alloc(sizes[i], 1));
    RouterHealth h2 = hak_router_health_check();
    ck_assert_uint_eq(h2.total_routes, h1.total_routes + n);
    ck_assert_uint_eq(h2.route_failures, h0.route_failures);
    ck_assert_uint_eq(h2.fallback_count, h0.fallback_count);
}
END_TEST

static void *route_1000(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        hak_router_free(hak_router_alloc((size_t)(i * 37) % 70000, 2));
    return NULL;
}

/* Routes of other threads count, while they run and after they exit. */
START_TEST(test_health_total_routes_threads) {
    hk_check_set_mode(_i);
    RouterHealth h0 = hak_router_health_check();
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, route_1000, NULL), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(hak_router_health_check().total_routes, h0.total_routes + 3000);
}
END_TEST

/* ---------------------------------------------------------------- verbose */

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_verbose_lines) {
    hk_check_set_mode(_i);
    hak_router_set_verbose(true);
    char buf[4096];
    capture c = capture_begin();
    void *a = hak_router_alloc(40960, 0x1234);
    void *b = hak_router_alloc(100, 0x99);
    void *d = hak_router_alloc(100, 0x99); /* the fast path is off: logged again */
    capture_end(c, buf, sizeof buf);
    hak_router_set_verbose(false);
    char want[512];
    snprintf(want, sizeof want,
             "[Router] size=40960 site=0x1234 box=pool class=5\n"
             "[Router] size=100 site=0x99 box=tiny class=%d\n"
             "[Router] size=100 site=0x99 box=tiny class=%d\n",
             hk_tiny_class(100), hk_tiny_class(100));
    ck_assert_msg(strcmp(buf, want) == 0, "verbose output:\n%s\nexpected:\n%s", buf, want);
    ck_assert_int_eq(hak_box_of(a), HAK_BOX_POOL);
    ck_assert_int_eq(hak_box_of(b), HAK_BOX_TINY);
    hak_router_free(a);
    hak_router_free(b);
    hak_router_free(d);

    /* Quiet again: nothing logged. */
    c = capture_begin();
    hak_router_free(hak_router_alloc(40960, 0x1234));
    hak_router_free(hak_router_alloc(100, 0x99));
    capture_end(c, buf, sizeof buf);
    ck_assert_msg(buf[0] == '\0', "logged while not verbose: %s", buf);
}
END_TEST

/* Every kind of decision line: each box, mmap, an impossible size, a fallback. */
START_TEST(test_verbose_kinds) {
    hk_check_set_mode(_i);
    /* Warm the Mid and L25 classes used below (the later page failures must not touch them). */
    hak_router_free(hak_router_alloc(20000, 0));
    hak_router_free(hak_router_alloc(100000, 0));
    /* Pages fail from here on; take every cached 2 MiB L25 block (none in a fresh test
     * process) so that the next 1 MiB+1 request must fall back. */
    void *held[256];
    int nheld = 0;
    hk_slab_inject_page_failures(1 << 30);
    for (;;) {
        void *p = hak_router_alloc(1 * MiB + 1, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_lt(nheld, 256);
        held[nheld++] = p;
        if (hak_box_of(p) == HAK_BOX_MMAP)
            break;
    }
    hak_router_set_verbose(true);
    char buf[4096];
    capture c = capture_begin();
    void *m = hak_router_alloc(20000, 0x10);
    void *l = hak_router_alloc(100000, 0x11);
    void *x = hak_router_alloc(3 * MiB, 0x12);
    errno = 0;
    void *f = hak_router_alloc(SIZE_MAX, 0x13);
    void *fb = hak_router_alloc(1 * MiB + 1, 0x14);
    capture_end(c, buf, sizeof buf);
    hak_router_set_verbose(false);
    hk_slab_inject_page_failures(0);
    while (nheld)
        hak_router_free(held[--nheld]);
    ck_assert_ptr_null(f);
    char want[1024];
    snprintf(want, sizeof want,
             "[Router] size=20000 site=0x10 box=mid class=%d\n"
             "[Router] size=100000 site=0x11 box=l25 class=%d\n"
             "[Router] size=3145728 site=0x12 box=mmap class=-1\n"
             "[Router] size=%zu site=0x13 box=none class=-1 FAILED (impossible size)\n"
             "[Router] size=1048577 site=0x14 box=l25 class=%d fallback=mmap\n",
             hk_mid_class(20000), hk_ace_class(100000), (size_t)SIZE_MAX, hk_ace_class(MiB + 1));
    ck_assert_msg(strcmp(buf, want) == 0, "verbose output:\n%s\nexpected:\n%s", buf, want);
    ck_assert_int_eq(hak_box_of(fb), HAK_BOX_MMAP);
    hak_router_free(m);
    hak_router_free(l);
    hak_router_free(x);
    hak_router_free(fb);
}
END_TEST

/* The front door logs only when the Central Router executes (central, diff): that is the
 * router deciding. */
START_TEST(test_verbose_front_door) {
    hk_check_set_mode(_i);
    hak_router_set_verbose(true);
    char buf[4096];
    capture c = capture_begin();
    void *a = hak_malloc(100);
    void *b = hak_alloc_at(40960, 0x55);
    capture_end(c, buf, sizeof buf);
    hak_router_set_verbose(false);
    if (!hk_check_mode_central(_i)) {
        ck_assert_msg(buf[0] == '\0', "legacy mode logged: %s", buf);
    } else {
        ck_assert_int_eq(count_lines(buf), 2);
        char *second = strchr(buf, '\n') + 1;
        size_t size = 0;
        char site[32], box[16];
        int cls = -2;
        ck_assert_int_eq(sscanf(buf, "[Router] size=%zu site=%31s box=%15s class=%d", &size, site,
                                box, &cls),
                         4);
        ck_assert_uint_eq(size, 100);
        ck_assert_str_eq(box, "tiny");
        ck_assert_int_eq(cls, hk_tiny_class(100));
        ck_assert_str_eq(second, "[Router] size=40960 site=0x55 box=pool class=5\n");
    }
    hak_free(a);
    hak_free(b);
}
END_TEST

/* ---------------------------------------------------------------- mixed paths */

static const size_t mix_sizes[] = {24,    700,   1024,  3000,   8192,    12000,  32768,
                                   40000, 53000, 70000, 600000, 2 * MiB, 3 * MiB};
#define NMIX (sizeof mix_sizes / sizeof mix_sizes[0])
#define MIX_PER 6 /* blocks per size per phase */

typedef struct {
    void *p;
    size_t n;
    uintptr_t tag;
} mblock;

static void mix_alloc(mblock *b, size_t n, uintptr_t tag, int via)
{
    b->n = n;
    b->tag = tag;
    b->p = alloc_via(via % VIA_COUNT, n, tag);
    ck_assert_msg(b->p != NULL, "alloc %zu failed", n);
    hk_check_stamp(b->p, n, tag, stride_for(n));
}

static void mix_check(const mblock *b)
{
    size_t bad = hk_check_verify(b->p, b->n, b->tag, stride_for(b->n));
    ck_assert_msg(bad == HK_CHECK_INTACT, "block of %zu (tag %lu, box %s): byte %zu corrupt", b->n,
                  (unsigned long)b->tag, hak_box_name(hak_box_of(b->p)), bad);
    ck_assert_int_ne(hak_box_of(b->p), HAK_BOX_NONE);
}

static void mix_free(mblock *b, int how)
{
    mix_check(b);
    if (how & 1)
        hak_router_free(b->p);
    else
        hak_free(b->p);
    b->p = NULL;
}

/* Allocate under one path, flip, free half and allocate more, flip back, free the rest. */
START_TEST(test_mixed_paths) {
    hk_check_set_mode(_i);
    bool start = hk_check_mode_central(_i);
    static mblock first[NMIX * MIX_PER], second[NMIX * MIX_PER];
    const size_t nb = NMIX * MIX_PER;
    for (size_t i = 0; i < nb; i++)
        mix_alloc(&first[i], mix_sizes[i % NMIX], 1000 + i, (int)(i / NMIX));
    hk_set_central(!start);
    for (size_t i = 0; i < nb; i++)
        mix_check(&first[i]);
    for (size_t i = 0; i < nb; i += 2)
        mix_free(&first[i], (int)i / 2);
    for (size_t i = 0; i < nb; i++)
        mix_alloc(&second[i], mix_sizes[(i * 7) % NMIX], 5000 + i, (int)i);
    for (size_t i = 1; i < nb; i += 2)
        mix_check(&first[i]);
    hk_set_central(start);
    for (size_t i = 1; i < nb; i += 2)
        mix_free(&first[i], (int)i);
    for (size_t i = 0; i < nb; i++)
        mix_free(&second[i], (int)i / 3);
    /* And the allocator still works on the starting path. */
    for (size_t i = 0; i < NMIX; i++) {
        void *p = hak_malloc(mix_sizes[i]);
        ck_assert_int_eq(hak_box_of(p), expect_box(mix_sizes[i], HK_ENTRY_WRAP, hak_knobs()));
        hak_free(p);
    }
}
END_TEST

/* Two threads, the flip in between (both threads parked at a barrier while it happens). */
typedef struct {
    int id;
    pthread_barrier_t *bar;
    mblock *mine, *other; /* other: the peer's first-phase blocks */
    mblock more[NMIX * MIX_PER];
} mt_arg;

static void *mt_worker(void *v)
{
    mt_arg *a = v;
    const size_t nb = NMIX * MIX_PER;
    for (size_t i = 0; i < nb; i++)
        mix_alloc(&a->mine[i], mix_sizes[(i + (size_t)a->id) % NMIX], (uintptr_t)a->id * 100000 + i,
                  (int)i);
    pthread_barrier_wait(a->bar); /* allocated */
    pthread_barrier_wait(a->bar); /* flipped */
    /* Free the even blocks of the peer (its odd ones stay its own), allocate more. */
    for (size_t i = 0; i < nb; i += 2)
        mix_free(&a->other[i], (int)i);
    for (size_t i = 0; i < nb; i++)
        mix_alloc(&a->more[i], mix_sizes[(i * 5 + (size_t)a->id) % NMIX],
                  (uintptr_t)a->id * 100000 + 50000 + i, (int)i + 1);
    for (size_t i = 1; i < nb; i += 2)
        mix_check(&a->mine[i]);
    pthread_barrier_wait(a->bar); /* second phase done */
    pthread_barrier_wait(a->bar); /* flipped back */
    for (size_t i = 1; i < nb; i += 2)
        mix_free(&a->mine[i], (int)i);
    for (size_t i = 0; i < nb; i++)
        mix_free(&a->more[i], (int)i);
    return NULL;
}

START_TEST(test_mixed_paths_threads) {
    hk_check_set_mode(_i);
    bool start = hk_check_mode_central(_i);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    static mblock blocks[2][NMIX * MIX_PER];
    static mt_arg args[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        args[k].id = k + 1;
        args[k].bar = &bar;
        args[k].mine = blocks[k];
        args[k].other = blocks[1 - k];
        ck_assert_int_eq(pthread_create(&t[k], NULL, mt_worker, &args[k]), 0);
    }
    pthread_barrier_wait(&bar);
    hk_set_central(!start);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    hk_set_central(start);
    pthread_barrier_wait(&bar);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&bar);
}
END_TEST

/* ---------------------------------------------------------------- replacement tables */

#define CANDIDATE                                                                                  \
    "# tiny ends at 1000\n0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n"                       \
    "32769 53248 pool ace\n53249 2097151 l25 ace\n2097152 " SMAX " mmap\n"

static hk_table load_text(const char *text)
{
    char path[64];
    write_temp(path, text);
    hk_table t;
    char err[256] = "";
    bool ok = hk_table_load_file(path, true, &t, err, sizeof err);
    unlink(path);
    ck_assert_msg(ok, "table rejected: %s", err);
    return t;
}

/* The front door's second class table (hk_front.h) for the path in force: every size up to
 * HK_POOL_MAX, both entries, the class it gives (when it gives one) is the one the path
 * decides. Returns how many sizes had a class. */
static size_t check_span(int i, const char *what)
{
    unsigned m = hk_front_mode;
    if (m > HK_FRONT_CENTRAL)
        return 0; /* the differential modes never look at it */
    size_t with_class = 0;
    for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
        for (size_t s = 0; s <= HK_POOL_MAX; s++) {
            unsigned c = hk_front_span[m][e][(s + 255) >> 8];
            if (c == 0)
                continue;
            with_class++;
            hk_decision d = hk_front_decide(s, (hk_entry_t)e);
            ck_assert_msg(c == hk_box_engine_class(d.box, d.cls),
                          "[%s] %s: size %zu entry %d: the table gives class %u, the path "
                          "decides %s class %d",
                          hk_check_mode_names[i], what, s, e, c, hak_box_name(d.box), d.cls);
        }
    return with_class;
}

START_TEST(test_front_span_repeats_decisions) {
    hk_check_set_mode(_i);
    /* A rule that starts inside 256 bytes (5001) and one that starts at their start (12289). */
    static hk_table odd;
    odd = load_text("0 1000 tiny\n1001 5000 pool ace\n5001 12288 mid\n12289 32768 pool ace\n"
                    "32769 2097151 l25 ace\n2097152 " SMAX " mmap\n");
    for (int tab = 0; tab < 3; tab++) {
        if (tab > 0 && !hk_check_mode_central(_i))
            break; /* the legacy path has no table */
        hk_router_use_table(tab == 0 ? NULL : tab == 1 ? &odd : &hk_table_builtin);
        for (int combo = 0; combo < 4; combo++) {
            hk_knobs k = set_knobs(combo);
            size_t n = check_span(_i, tab == 1 ? "odd table" : "built-in table");
            /* Mid's sizes never depend on the knobs: the table covers them in both paths. */
            if (_i != HK_CHECK_MODE_DIFF && tab != 1)
                ck_assert_msg(n >= 2 * (HK_MID_MAX - HK_POOL_LOW_MAX) - 2 * 256,
                              "[%s] combo %d: %zu sizes with a class", hk_check_mode_names[_i],
                              combo, n);
            /* And allocations follow: a size on each side of every class edge. */
            for (size_t s = 1000; s <= HK_POOL_MAX; s += 1000) {
                void *p = hak_malloc(s);
                ck_assert_int_eq(hak_box_of(p), hk_front_decide(s, HK_ENTRY_WRAP).box);
                ck_assert_uint_ge(hak_malloc_usable_size(p), s);
                hak_free(p);
            }
            (void)k;
        }
    }
    hk_router_use_table(NULL);
    set_knobs(3);
}
END_TEST

/* The second class table rebuilt while another thread allocates (hak_router_set_verbose at
 * run time rebuilds it): a size whose one-byte rule starts inside 256 bytes (1301: mmap, its
 * neighbours Pool) must never take its neighbours' class, whatever the moment. In the
 * differential mode (the Central Router executing, 1 in 10^9: the calls above Tiny take the
 * table), whose rebuilds touch nothing else the allocating thread reads without atomics; in
 * the central mode the verbose log also switches the Tiny fast path's bound, a plain word. */
static atomic_bool span_race_stop;
static void *span_race_worker(void *arg)
{
    long *wrong = arg;
    while (!atomic_load(&span_race_stop))
        for (size_t sz = 1281; sz <= 1320; sz++) {
            void *p = hak_malloc(sz);
            if (hak_box_of(p) != (sz == 1301 ? HAK_BOX_MMAP : HAK_BOX_POOL))
                (*wrong)++;
            hak_free(p);
        }
    return NULL;
}

START_TEST(test_span_rebuilt_under_allocation) {
    hk_check_set_mode(HK_CHECK_MODE_CENTRAL);
    if (config_legacy) { /* a build without compare/ has the central mode only */
        hk_option_set(HK_OPT_ROUTER_DIFF, 1);
        hk_option_set(HK_OPT_ROUTER_DIFF_SAMPLE, 1000000000);
        hk_set_compare(hk_compare_init());
        ck_assert_int_eq(hk_front_mode, HK_FRONT_DIFF_CENTRAL);
    }
    static hk_table t;
    t = load_text("0 1024 tiny\n1025 1300 pool ace\n1301 1301 mmap\n1302 8192 pool ace\n"
                  "8193 32768 mid\n32769 53248 pool ace\n53249 2097151 l25 ace\n2097152 " SMAX
                  " mmap\n");
    hk_router_use_table(&t);
    int err = dup(2), null = open("/dev/null", O_WRONLY); /* the verbose log's lines */
    ck_assert(err >= 0 && null >= 0 && dup2(null, 2) == 2);
    long wrong = 0;
    pthread_t th;
    atomic_store(&span_race_stop, false);
    ck_assert_int_eq(pthread_create(&th, NULL, span_race_worker, &wrong), 0);
    for (int i = 0; i < 3000; i++) {
        hak_router_set_verbose(true);
        hak_router_set_verbose(false);
    }
    atomic_store(&span_race_stop, true);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert(dup2(err, 2) == 2);
    close(err);
    close(null);
    ck_assert_msg(wrong == 0, "%ld blocks outside their box while the table was rebuilt", wrong);
    if (config_legacy) {
        hk_option_set(HK_OPT_ROUTER_DIFF, 0);
        hk_set_compare(hk_compare_init());
    }
    hk_router_use_table(NULL);
}
END_TEST

START_TEST(test_candidate_table) {
    hk_check_set_mode(_i);
    /* A malformed candidate: rejected, with the line. */
    char path[64];
    write_temp(path, "0 1000 tiny\n1001 8192 pool ace\n8000 " SMAX " mmap\n");
    static hk_table t;
    char err[256] = "";
    ck_assert(!hk_table_load_file(path, true, &t, err, sizeof err));
    unlink(path);
    ck_assert_str_eq(err, "line 3: overlap: starts at 8000, but the previous rule ends at 8192");

    t = load_text(CANDIDATE);
    hk_router_use_table(&t);
    ck_assert_int_eq(hak_router_decide(1000, HAK_ENTRY_API, hak_knobs()).box, HAK_BOX_TINY);
    ck_assert_int_eq(hak_router_decide(1001, HAK_ENTRY_API, hak_knobs()).box, HAK_BOX_POOL);
    static const struct {
        size_t size;
        hak_box_t box;
    } want[] = {{0, HAK_BOX_TINY},    {999, HAK_BOX_TINY},  {1000, HAK_BOX_TINY},
                {1001, HAK_BOX_POOL}, {1024, HAK_BOX_POOL}, {1025, HAK_BOX_POOL},
                {8193, HAK_BOX_MID}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        /* Twice: the second time the fast path's cache is warm. */
        for (int rep = 0; rep < 2; rep++) {
            void *p = hak_router_alloc(want[i].size, 0x77);
            ck_assert_msg(hak_box_of(p) == want[i].box, "candidate: hak_router_alloc(%zu): %s",
                          want[i].size, hak_box_name(hak_box_of(p)));
            hk_check_stamp(p, want[i].size, i, 0);
            ck_assert(hk_check_verify(p, want[i].size, i, 0) == HK_CHECK_INTACT);
            /* The front door follows the table only when the Central Router executes
             * (central, diff). */
            void *q = hak_malloc(want[i].size);
            hak_box_t fw = hk_check_mode_central(_i)
                               ? want[i].box
                               : expect_box(want[i].size, HK_ENTRY_WRAP, hak_knobs());
            ck_assert_msg(hak_box_of(q) == fw, "[%s] candidate: hak_malloc(%zu): %s",
                          hk_check_mode_names[_i], want[i].size, hak_box_name(hak_box_of(q)));
            hak_router_free(p);
            hak_free(q);
        }
    }
    /* The differential mode compared each hak_malloc: 1001 and 1024 diverge (legacy: Tiny,
     * the candidate: Pool), twice each. */
    hk_check_diff_counts d = hk_check_diff();
    bool diff = _i == HK_CHECK_MODE_DIFF;
    ck_assert_uint_eq(d.compared, diff ? 2 * sizeof want / sizeof want[0] : 0);
    ck_assert_uint_eq(d.divergent, diff ? 4 : 0);
    /* Back to the built-in table. */
    hk_router_use_table(NULL);
    ck_assert_ptr_eq(hk_router_table, &hk_table_builtin);
    for (size_t s = 1000; s <= 1025; s++) {
        void *p = hak_router_alloc(s, 0x78);
        ck_assert_int_eq(hak_box_of(p), s <= 1024 ? HAK_BOX_TINY : HAK_BOX_POOL);
        hak_router_free(p);
    }
}
END_TEST

/* Tables that move the boxes around: every size is served by the box its row names, even
 * where no built-in rule would send it (small sizes to pool, mid or l25; all to mmap). */
START_TEST(test_unusual_tables) {
    hk_check_set_mode(_i);
    static const char *const texts[] = {
        "0 " SMAX " mmap\n",
        "0 8192 pool\n8193 " SMAX " mmap\n",
        "0 32768 mid\n32769 " SMAX " mmap\n",
        "0 2097152 l25\n2097153 " SMAX " mmap\n",
        "0 0 tiny\n1 16 mid\n17 1024 tiny\n1025 53248 pool ace\n53249 2097152 l25 ace\n"
        "2097153 " SMAX " mmap\n",
    };
    static const size_t sizes[] = {0,    1,     16,    17,    100,   1024,    1025,    8192,
                                   8193, 32768, 32769, 53248, 53249, 2097151, 2097152, 2097153};
    static hk_table t;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        t = load_text(texts[k]);
        hk_router_use_table(&t);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (int e = HAK_ENTRY_WRAP; e <= HAK_ENTRY_API; e++) {
                hak_box_t want = hk_table_decide(&t, sizes[i], (hk_entry_t)e, hak_knobs()).box;
                void *p = e == HAK_ENTRY_API
                              ? hak_router_alloc(sizes[i], 1)
                              : (hk_check_mode_central(_i) ? hak_malloc(sizes[i]) : NULL);
                if (!p && e == HAK_ENTRY_WRAP)
                    continue;
                if (want == HAK_BOX_MMAP && sizes[i] == 0) {
                    hak_router_free(p); /* usable size of a 0-byte mmap block: see below */
                    continue;
                }
                ck_assert_msg(p != NULL, "table %zu: size %zu: NULL", k, sizes[i]);
                ck_assert_msg(hak_box_of(p) == want,
                              "table %zu: %s size %zu: box %s, table says %s", k, entry_names[e],
                              sizes[i], hak_box_name(hak_box_of(p)), hak_box_name(want));
                ck_assert_uint_ge(hak_malloc_usable_size(p), sizes[i]);
                hk_check_stamp(p, sizes[i], i, stride_for(sizes[i]));
                ck_assert(hk_check_verify(p, sizes[i], i, stride_for(sizes[i])) == HK_CHECK_INTACT);
                hak_router_free(p);
            }
        }
    }
    hk_router_use_table(NULL);
}
END_TEST

/* A 0-byte block from the mmap box: a valid table may send size 0 there ("mmap anything"),
 * and so does memalign(big alignment, 0) on either path. The block is live (hak_box_of says
 * mmap, free works), so malloc_usable_size and realloc must accept it. Checked in a child
 * process, since hakmem aborts (fail-closed) when it wrongly takes the block for a foreign
 * pointer. */
static int zero_block_child(void *p)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        hk_check_quiet_stderr();
        (void)hak_malloc_usable_size(p);
        void *q = hak_realloc(p, 10);
        if (!q)
            _exit(2);
        memset(q, 1, 10);
        hak_free(q);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(test_mmap_zero_size_via_table) {
    hk_check_set_mode(_i);
    static hk_table t;
    t = load_text("0 " SMAX " mmap\n");
    hk_router_use_table(&t);
    void *p = hak_router_alloc(0, 1);
    hk_router_use_table(NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    int status = zero_block_child(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "a 0-byte mmap-box block (table \"0 SIZE_MAX mmap\", hak_router_alloc(0)): "
                  "malloc_usable_size/realloc %s (status 0x%x): hk_os_usable returns 0 for it, "
                  "which usable_size() in hakmem.c takes for \"not allocated by hakmem\"",
                  WIFSIGNALED(status) ? "aborted" : "failed", (unsigned)status);
    hak_router_free(p);
}
END_TEST

START_TEST(test_mmap_zero_size_memalign) {
    hk_check_set_mode(_i);
    void *p = NULL;
    ck_assert_int_eq(hak_posix_memalign(&p, 4 * MiB, 0), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    int status = zero_block_child(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "[%s] posix_memalign(4 MiB, 0): malloc_usable_size/realloc %s (status 0x%x): "
                  "hk_os_usable returns 0 for a 0-byte mmap block, which usable_size() in "
                  "hakmem.c takes for \"not allocated by hakmem\"",
                  hk_check_mode_names[_i], WIFSIGNALED(status) ? "aborted" : "failed",
                  (unsigned)status);
    hak_free(p);
}
END_TEST

/* The built-in table's derived field agrees with its rules (a parsed table derives it). */
START_TEST(test_builtin_tiny_end_derived) {
    ck_assert_uint_eq(hk_table_builtin.tiny_end, hk_table_tiny_end(&hk_table_builtin));
    ck_assert_uint_eq(hk_table_builtin.tiny_end, HK_TINY_MAX + 1);
    /* the row count is every rule written, no more: the last ends at SIZE_MAX, none after */
    ck_assert_int_eq(hk_table_builtin.n, 6);
    ck_assert_uint_eq(hk_table_builtin.rules[hk_table_builtin.n - 1].hi, SIZE_MAX);
    ck_assert_uint_eq(hk_table_builtin.rules[hk_table_builtin.n].hi, 0);
}
END_TEST

/* ---------------------------------------------------------------- the family asks the routing */

/* realloc and memalign ask the routing in force whether the mmap box serves a size, never a
 * size constant: a table that sends 1 MiB .. 2 MiB - 1 to the mmap box and 2 MiB itself to
 * L25 (on the Central Router; the legacy path keeps the built-in boundaries). */
#define MMAP_BELOW_2M                                                                              \
    "0 1024 tiny\n1025 1048575 l25\n1048576 2097151 mmap\n2097152 2097152 l25\n"                   \
    "2097153 " SMAX " mmap\n"

static uint64_t mmap_allocs(void)
{
    hk_os_stats st;
    hk_os_get_stats(&st);
    return st.allocs;
}

/* Mode i with MMAP_BELOW_2M in force; true when the table routes (the Central Router
 * executes: central and diff modes). */
static bool use_mmap_below_2m(int i)
{
    hk_check_set_mode(i);
    static hk_table t;
    t = load_text(MMAP_BELOW_2M);
    hk_router_use_table(&t);
    return hk_check_mode_central(i);
}

START_TEST(test_realloc_asks_the_table) {
    bool central = use_mmap_below_2m(_i);
    /* 3 MiB (mmap) -> 1.5 MiB: the table keeps it in the mmap box, which resizes it in place
     * (no new region); the built-in routing moves it to L25. */
    unsigned char *p = hak_malloc(3 * MiB);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    hk_check_stamp(p, 3 * MiB, 41, 4096);
    uint64_t a0 = mmap_allocs();
    unsigned char *q = hak_realloc(p, 3 * MiB / 2);
    ck_assert_ptr_nonnull(q);
    ck_assert(hk_check_verify_prefix(q, 3 * MiB / 2, 3 * MiB, 41, 4096) == HK_CHECK_INTACT);
    ck_assert_msg(hak_box_of(q) == (central ? HAK_BOX_MMAP : HAK_BOX_L25),
                  "[%s] realloc(3 MiB -> 1.5 MiB): box %s", hk_check_mode_names[_i],
                  hak_box_name(hak_box_of(q)));
    if (central)
        ck_assert_msg(q == p && mmap_allocs() == a0,
                      "realloc(3 MiB -> 1.5 MiB) of an mmap block the table keeps in the mmap "
                      "box: moved to a new region (%p -> %p, %llu new regions) instead of "
                      "being resized in place",
                      (void *)p, (void *)q, (unsigned long long)(mmap_allocs() - a0));
    hk_check_stamp(q, 3 * MiB / 2, 42, 4096);
    /* -> 2 MiB: the table sends 2 MiB to L25, the built-in routing to the mmap box. */
    unsigned char *r = hak_realloc(q, 2 * MiB);
    ck_assert_ptr_nonnull(r);
    ck_assert(hk_check_verify_prefix(r, 3 * MiB / 2, 3 * MiB / 2, 42, 4096) == HK_CHECK_INTACT);
    /* (the legacy path's L25 block of 1.5 MiB has a 2 MiB class: its owner keeps it) */
    ck_assert_msg(hak_box_of(r) == (central ? HAK_BOX_L25 : HAK_BOX_MMAP) || (!central && r == q),
                  "[%s] realloc(1.5 MiB -> 2 MiB): box %s, the routing in force says %s",
                  hk_check_mode_names[_i], hak_box_name(hak_box_of(r)), central ? "l25" : "mmap");
    hak_free(r);
    /* 1 MiB -> 1.9 MiB on the table: the mmap box grows its own block (mremap, no new
     * region). */
    if (central) {
        p = hak_malloc(1 * MiB);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
        hk_check_stamp(p, 1 * MiB, 43, 4096);
        a0 = mmap_allocs();
        q = hak_realloc(p, 1900 * KiB);
        ck_assert_ptr_nonnull(q);
        ck_assert_int_eq(hak_box_of(q), HAK_BOX_MMAP);
        ck_assert_msg(mmap_allocs() == a0, "realloc(1 MiB -> 1.9 MiB) in the mmap box took a "
                                           "new region instead of resizing");
        ck_assert(hk_check_verify_prefix(q, 1 * MiB, 1 * MiB, 43, 4096) == HK_CHECK_INTACT);
        hak_free(q);
    }
    hk_router_use_table(NULL);
}
END_TEST

START_TEST(test_memalign_asks_the_table) {
    bool central = use_mmap_below_2m(_i);
    /* 1 MiB at 64 KiB: the table sends 1 MiB + 64 KiB to the mmap box, which aligns it
     * itself (one region); the built-in routing to L25. */
    uint64_t a0 = mmap_allocs();
    void *p = hak_memalign(64 * KiB, 1 * MiB);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p & (64 * KiB - 1), 0);
    ck_assert_msg(hak_box_of(p) == (central ? HAK_BOX_MMAP : HAK_BOX_L25),
                  "[%s] memalign(64 KiB, 1 MiB): box %s", hk_check_mode_names[_i],
                  hak_box_name(hak_box_of(p)));
    if (central)
        ck_assert_uint_eq(mmap_allocs() - a0, 1);
    hk_check_stamp(p, 1 * MiB, 44, 4096);
    ck_assert(hk_check_verify(p, 1 * MiB, 44, 4096) == HK_CHECK_INTACT);
    hak_free(p);
    /* 2 MiB - 4 KiB at 4 KiB: 2 MiB in all, L25 on the table, the mmap box built in. */
    p = hak_memalign(4 * KiB, 2 * MiB - 4 * KiB);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p & (4 * KiB - 1), 0);
    ck_assert_msg(hak_box_of(p) == (central ? HAK_BOX_L25 : HAK_BOX_MMAP),
                  "[%s] memalign(4 KiB, 2 MiB - 4 KiB): box %s", hk_check_mode_names[_i],
                  hak_box_name(hak_box_of(p)));
    hak_free(p);
    hk_router_use_table(NULL);
}
END_TEST

Suite *make_router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_builtin_text);
    tcase_add_test(tc, test_builtin_tiny_end_derived);
    tcase_add_test(tc, test_parse_gap);
    tcase_add_test(tc, test_parse_overlap_unsorted);
    tcase_add_test(tc, test_parse_unknown_box);
    tcase_add_test(tc, test_parse_bad_number);
    tcase_add_test(tc, test_parse_lo_above_hi);
    tcase_add_test(tc, test_parse_box_range);
    tcase_add_test(tc, test_parse_ace_field);
    tcase_add_test(tc, test_parse_too_many_rules);
    tcase_add_test(tc, test_parse_short_err_buffer);
    tcase_add_test(tc, test_load_file_faults);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_round_trip_other_tables);
#if HAKMEM_CONFIG_LEGACY
    tcase_add_loop_test(tc, test_router_equals_legacy, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_integration_edges, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_router_free_null, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_fallback_l25, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_fallback_each_box, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_fallback_front_door, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_router_enomem, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_candidate_table, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_front_span_repeats_decisions, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_test(tc, test_span_rebuilt_under_allocation);
    tcase_add_loop_test(tc, test_unusual_tables, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_mmap_zero_size_via_table, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_mmap_zero_size_memalign, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_realloc_asks_the_table, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_memalign_asks_the_table, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("health");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_health_before_init);
    tcase_add_loop_test(tc, test_health_after_init, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_health_total_routes, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_health_total_routes_threads, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_verbose_lines, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_verbose_kinds, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_verbose_front_door, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("mixed");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_mixed_paths, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_mixed_paths_threads, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);
    return s;
}
