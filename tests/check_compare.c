/* check_compare.c: the differential mode and the staged rollout (compare/), driven through
 * the hak_* API with the options set directly (hk_option_set + hk_compare_init).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_compare.h"
#include "hk_fileio.h"
#include "hk_json.h"
#include "hk_record.h"
#include "hk_report.h"
#include "hk_sample.h"
#include "hk_sizekey.h"
#include "hk_stats_snap.h"
#include "hk_router_inline.h"
#include "hk_table.h"

/* These tests are the differential mode's own: their loops run over the path that executes
 * under it (_i: 0 legacy, 1 the Central Router), not over hk_check_set_mode's modes. */
#define EXEC_PATHS 2

/* Differential mode on, with the given sample, rollout and rollback; path i executing. */
static void diff_on(int i, long diff, long sample, long rollout, long rollback)
{
    hk_check_set_mode(i);
    hk_option_set(HK_OPT_ROUTER_DIFF, diff);
    hk_option_set(HK_OPT_ROUTER_DIFF_SAMPLE, sample);
    hk_option_set(HK_OPT_ROUTER_ROLLOUT, rollout);
    hk_option_set(HK_OPT_ROUTER_ROLLBACK, rollback);
    hk_set_compare(hk_compare_init());
    hk_divergence_reset();
}

static void diff_off(void)
{
    hk_option_set(HK_OPT_ROUTER_DIFF, 0);
    hk_option_set(HK_OPT_ROUTER_ROLLOUT, -1);
    hk_option_set(HK_OPT_ROUTER_ROLLBACK, 0);
    hk_set_compare(hk_compare_init());
    hk_router_use_table(NULL);
}

static hk_table parse_table(const char *text)
{
    hk_table t;
    char err[128];
    ck_assert_msg(hk_table_parse(text, strlen(text), &t, err, sizeof err), "%s", err);
    return t;
}

/* A candidate table whose Tiny rule ends at 1000 instead of 1024. */
static hk_table edge_table(void)
{
    return parse_table("0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n"
                       "32769 53248 pool ace\n53249 2097151 l25 ace\n"
                       "2097152 18446744073709551615 mmap\n");
}

static void alloc_free_range(size_t lo, size_t hi)
{
    for (size_t n = lo; n <= hi; n++) {
        void *p = hak_malloc(n);
        ck_assert_ptr_nonnull(p);
        memset(p, 0x5a, n);
        hak_free(p);
    }
}

START_TEST(test_builtin_no_divergence) {
    diff_on(_i, 1, 1, -1, 0);
    static const size_t edges[] = {0,     1,     1024,  1025,  8192,    8193,    32768,
                                   32769, 40960, 53248, 53249, 2097151, 2097152, 2097153};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        void *p = hak_malloc(edges[i]), *q = hak_alloc_at(edges[i], 7);
        ck_assert(p && q);
        hak_free(p);
        hak_free(q);
    }
    alloc_free_range(0, 3000);
    hk_divergence_totals t = hk_divergence_totals_get();
    ck_assert_uint_ge(t.compared, 3001 + 2 * 14);
    ck_assert_uint_eq(t.compared, t.calls);
    ck_assert_uint_eq(t.divergent, 0);
    ck_assert_uint_eq(t.distinct, 0);
    diff_off();
}
END_TEST

START_TEST(test_aa_no_divergence) {
    diff_on(_i, 2, 1, -1, 0);
    hk_table t = edge_table(); /* A/A ignores the candidate: legacy against legacy */
    hk_router_use_table(&t);
    alloc_free_range(900, 1100);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.compared, 201);
    ck_assert_uint_eq(s.divergent, 0);
    diff_off();
}
END_TEST

START_TEST(test_injected_edge_caught) {
    diff_on(_i, 1, 1, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    alloc_free_range(900, 1100);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.compared, 201);
    ck_assert_uint_eq(s.divergent, 24); /* 1001..1024 */
    ck_assert_uint_eq(s.dropped, 0);
    ck_assert_uint_eq(s.distinct, 1); /* one size key: 1001..1024 */
    /* Whichever path executed, every block landed where that path decided. */
    void *p = hak_malloc(1010);
    ck_assert_int_eq(hak_box_of(p), _i == 1 ? HAK_BOX_POOL : HAK_BOX_TINY);
    hak_free(p);
    diff_off();
}
END_TEST

START_TEST(test_sampling_ratio) {
    diff_on(_i, 1, 10, -1, 0);
    hk_divergence_totals a = hk_divergence_totals_get();
    for (int n = 0; n < 20000; n++)
        hak_free(hak_malloc(64));
    hk_divergence_totals b = hk_divergence_totals_get();
    ck_assert_uint_eq(b.calls - a.calls, 20000);
    /* 1 in 10 at random (plus the key's first call): 2000 expected, sd 42 */
    uint64_t c = b.compared - a.compared;
    ck_assert_msg(c >= 1750 && c <= 2250, "compared %llu of 20000", (unsigned long long)c);
    ck_assert_uint_eq(b.exec[_i] - a.exec[_i], 20000);
    ck_assert_uint_eq(b.exec[!_i] - a.exec[!_i], 0);
    diff_off();
}
END_TEST

/* A workload whose every 10th call diverges, sampled 1 in 10, is caught in about 1 of 10 of
 * its divergent calls (a fixed every-10th clock sees all or none of them). */
START_TEST(test_sampling_no_period_alias) {
    diff_on(_i, 1, 10, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    for (int n = 1; n <= 100000; n++)
        hak_free(hak_malloc(n % 10 == 0 ? 1010 : 100));
    hk_divergence_totals s = hk_divergence_totals_get();
    /* 10000 divergent calls, 1000 expected compared (sd 30) */
    ck_assert_msg(s.divergent >= 800 && s.divergent <= 1200, "divergent %llu",
                  (unsigned long long)s.divergent);
    diff_off();
}
END_TEST

/* The skips are geometric with mean N - 1: every call has probability 1/N. */
START_TEST(test_geometric_skips) {
    hk_diff_thread t = {.rng = 0x12345678abcdefULL};
    hk_sample_init(100);
    double sum = 0;
    unsigned zero = 0;
    enum { DRAWS = 200000 };
    for (int i = 0; i < DRAWS; i++) {
        int64_t g = hk_sample_next(&t);
        ck_assert(g >= 0);
        sum += (double)g;
        zero += g == 0;
    }
    double mean = sum / DRAWS;
    ck_assert_msg(mean > 99 * 0.97 && mean < 99 * 1.03, "mean skip %f, want 99", mean);
    ck_assert_msg(zero > 2000 * 0.85 && zero < 2000 * 1.15, "P(0) * %d = %u, want 2000", DRAWS,
                  zero);
    hk_sample_init(1);
    ck_assert_int_eq(hk_sample_next(&t), 0);
    /* hk_ln is ln */
    static const double xs[] = {1.0, 0.5, 0.1, 1e-9, 0.999999999, 0x1p-53, 0.7071};
    static const double ln[] = {0.0,
                                -0.69314718055994529,
                                -2.3025850929940455,
                                -20.72326583694641,
                                -9.9999997221806861e-10,
                                -36.736800569677101,
                                -0.34658318037194202}; /* glibc's log() of the same doubles */
    for (unsigned i = 0; i < sizeof xs / sizeof *xs; i++) {
        double d = hk_ln(xs[i]) - ln[i], tol = 1e-12 * (ln[i] < 0 ? -ln[i] : 1);
        ck_assert_msg(d < tol && d > -tol, "ln(%g) = %.17g, want %.17g", xs[i], hk_ln(xs[i]),
                      ln[i]);
    }
}
END_TEST

/* The first call of every size key is compared, whatever N. */
START_TEST(test_first_call_of_each_key) {
    diff_on(_i, 1, 1000000000, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    hak_free(hak_malloc(1)); /* the thread takes its slot */
    hk_divergence_reset();
    hk_dt.skip = 1000000; /* nothing sampled from here */
    static const size_t sizes[] = {1010, 100, 3000, 9000, 40000, 100000, 3000000};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int r = 0; r < 5; r++)
            hak_free(hak_malloc(sizes[i]));
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.compared, 7);
    ck_assert_uint_eq(s.keys_seen, 7);
    ck_assert_uint_eq(s.divergent, 1); /* the one call of 1010 that was compared */
    ck_assert_uint_eq(s.calls, 35);
    diff_off();
}
END_TEST

/* Unsampled calls above Tiny whose key was compared already take the front door's second
 * class table of the executing path (hk_diff_unsampled_seen): every block lands where that
 * path decides, for both entries, with the malloc family's ACE rows on and off, and every
 * call is counted once. */
START_TEST(test_unsampled_above_tiny) {
    for (int wrap_l2 = 1; wrap_l2 >= 0; wrap_l2--) {
        diff_on(_i, 1, 1000000000, -1, 0);
        hk_table t = edge_table(); /* a rule that starts inside 256 bytes (1001) */
        hk_router_use_table(&t);
        hk_option_set(HK_OPT_WRAP_L2, wrap_l2);
        hak_free(hak_malloc(1)); /* the thread takes its slot */
        hk_divergence_reset();
        hk_dt.skip = 1000000; /* nothing sampled from here */
        uint64_t calls = 0;
        for (size_t sz = 900; sz <= 60000; sz += 97)
            for (int r = 0; r < 3; r++) { /* the first call of a key is compared */
                void *p = hak_malloc(sz), *q = hak_alloc_at(sz, (hak_callsite_t)0x42);
                calls += 2;
                ck_assert_msg(hak_box_of(p) == hk_front_decide(sz, HK_ENTRY_WRAP).box,
                              "[%d] wrap_l2 %d: malloc(%zu) in %s", _i, wrap_l2, sz,
                              hak_box_name(hak_box_of(p)));
                ck_assert_msg(hak_box_of(q) == hk_front_decide(sz, HK_ENTRY_API).box,
                              "[%d] wrap_l2 %d: hak_alloc_at(%zu) in %s", _i, wrap_l2, sz,
                              hak_box_name(hak_box_of(q)));
                ck_assert_uint_ge(hak_malloc_usable_size(p), sz);
                ck_assert_uint_ge(hak_malloc_usable_size(q), sz);
                hak_free(p);
                hak_free(q);
            }
        hk_divergence_totals s = hk_divergence_totals_get();
        ck_assert_uint_eq(s.calls, calls);
        ck_assert_uint_eq(s.exec[_i], calls);
        ck_assert_uint_eq(s.compared, s.keys_seen);
        hk_option_set(HK_OPT_WRAP_L2, 1);
        diff_off();
    }
}
END_TEST

/* The calls each path served (the statistics' "routed"), since the snapshot `before`. */
static void routed_since(const hk_stats_snapshot *before, uint64_t out[2])
{
    hk_stats_snapshot s;
    hk_stats_snapshot_take(&s);
    out[0] = s.tctr[HK_TCTR_SERVED_LEGACY] - before->tctr[HK_TCTR_SERVED_LEGACY];
    out[1] = s.tctr[HK_TCTR_SERVED_CENTRAL] - before->tctr[HK_TCTR_SERVED_CENTRAL];
}

/* The statistics count every call of the differential mode as served by the path that
 * executed it, whichever way it went (the inline Tiny pops are counted by the thread cache
 * and attributed when the path changes: the rollback latch). */
START_TEST(test_routed_counts) {
    static const size_t sizes[] = {1, 24, 100, 1000, 1024, 1500, 9000, 40000, 100000, 3 << 20};
    diff_on(_i, 1, 100, -1, 0);
    hak_free(hak_malloc(1)); /* the thread takes its slot */
    hk_stats_snapshot before;
    hk_stats_snapshot_take(&before);
    uint64_t calls = 0, r[2];
    for (int rep = 0; rep < 300; rep++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++, calls++)
            hak_free(hak_malloc(sizes[k] + (size_t)rep % 7));
    routed_since(&before, r);
    ck_assert_msg(r[_i] == calls && r[!_i] == 0, "[%d] routed legacy %llu central %llu, calls %llu",
                  _i, (unsigned long long)r[0], (unsigned long long)r[1],
                  (unsigned long long)calls);
    diff_off();
    /* Central executing until the rollback latch, legacy after it (1 in 100: the Tiny calls
     * mostly unsampled; the latching call, the first of its key, compared). */
    hk_check_quiet_stderr();
    diff_on(1, 1, 100, -1, 1);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    hak_free(hak_malloc(1));
    hk_stats_snapshot_take(&before);
    for (int k = 0; k < 500; k++)
        hak_free(hak_malloc(16 + (size_t)k % 900));
    hak_free(hak_malloc(1010)); /* the divergence that latches, executed by central */
    ck_assert(hk_rollback_latched);
    for (int k = 0; k < 700; k++)
        hak_free(hak_malloc(16 + (size_t)k % 900));
    routed_since(&before, r);
    ck_assert_msg(r[1] == 501 && r[0] == 700, "rollback: routed legacy %llu central %llu",
                  (unsigned long long)r[0], (unsigned long long)r[1]);
    diff_off();
}
END_TEST

/* The size keys: on every interval neither path's decision changes, for every entry, knob
 * and table used here. */
START_TEST(test_size_keys_constant) {
    hk_table tables[2] = {hk_table_builtin, edge_table()};
    for (int ti = 0; ti < 2; ti++) {
        hk_sizekey k;
        hk_sizekey_build(&k, &tables[ti]);
        ck_assert(!k.truncated && k.n > 40 && k.lo[0] == 0);
        for (int kn = 0; kn < 4; kn++) {
            hk_knobs knobs = {kn & 1, kn >> 1 & 1};
            for (int e = 0; e < 2; e++) {
                unsigned bad = 0;
                /* every size to 70000, then each interval's ends and some points inside */
                for (size_t s = 0; s <= 70000; s++) {
                    unsigned iv = hk_sizekey_of(&k, s);
                    size_t lo = k.lo[iv];
                    hk_decision a = hk_legacy_decide(s, e, knobs),
                                b = hk_legacy_decide(lo, e, knobs);
                    hk_decision c = hk_table_decide(&tables[ti], s, e, knobs),
                                d = hk_table_decide(&tables[ti], lo, e, knobs);
                    bad += a.box != b.box || a.cls != b.cls || c.box != d.box || c.cls != d.cls;
                    bad += s < lo || s > hk_sizekey_hi(&k, iv);
                }
                for (unsigned iv = 0; iv < k.n; iv++) {
                    size_t lo = k.lo[iv], hi = hk_sizekey_hi(&k, iv);
                    size_t pts[] = {lo, hi, lo + (hi - lo) / 2, lo + (hi - lo) / 3,
                                    hi - (hi - lo) / 7};
                    for (unsigned p = 0; p < 5; p++) {
                        hk_decision a = hk_legacy_decide(pts[p], e, knobs),
                                    b = hk_legacy_decide(lo, e, knobs);
                        hk_decision c = hk_table_decide(&tables[ti], pts[p], e, knobs),
                                    d = hk_table_decide(&tables[ti], lo, e, knobs);
                        bad += a.box != b.box || a.cls != b.cls || c.box != d.box || c.cls != d.cls;
                        bad += hk_sizekey_of(&k, pts[p]) != iv;
                    }
                }
                ck_assert_msg(bad == 0,
                              "table %d knobs %d entry %d: %u sizes whose decision differs "
                              "from their interval's",
                              ti, kn, e, bad);
            }
        }
    }
}
END_TEST

/* A/A compares the executing path with itself: it never changes what executes. */
START_TEST(test_aa_keeps_executing_path) {
    diff_on(_i, 2, 1, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    void *p = hak_malloc(1010);
    ck_assert_int_eq(hak_box_of(p), _i == 1 ? HAK_BOX_POOL : HAK_BOX_TINY);
    hak_free(p);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.compared, 1);
    ck_assert_uint_eq(s.divergent, 0);
    ck_assert_uint_eq(s.exec[_i], 1);
    diff_off();
}
END_TEST

/* Each record keeps the first HAK sites with their own counts. */
START_TEST(test_site_counts) {
    diff_on(0, 1, 1, -1, 0);
    hk_decision l = {HAK_BOX_TINY, 19}, c = {HAK_BOX_POOL, 0};
    hk_divergence_record(l, c, 1010, 0x1111, HK_ENTRY_WRAP, false);
    for (int i = 0; i < 1000; i++)
        hk_divergence_record(l, c, 1010, 0x2222, HK_ENTRY_WRAP, false);
    for (uintptr_t s = 0x3000; s < 0x3000 + 20; s++) /* more sites than a record keeps */
        hk_divergence_record(l, c, 1010, s, HK_ENTRY_WRAP, false);
    const hk_rec_div *r = NULL;
    for (int i = 0; i < HK_REC_DIVS; i++)
        if (atomic_load(&hk_rec->divs[i].key))
            r = &hk_rec->divs[i];
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(atomic_load(&r->count), 1021);
    uint64_t a = 0, b = 0, sum = 0;
    for (int i = 0; i < HK_REC_SITES; i++) {
        uint64_t site = atomic_load(&r->sites[i].site) & ~HK_REPORT_SITE_TAG;
        uint64_t n = atomic_load(&r->sites[i].count);
        sum += n;
        if (hk_sitekey_offset(site) == 0x1111)
            a = n;
        if (hk_sitekey_offset(site) == 0x2222)
            b = n;
    }
    ck_assert_uint_eq(a, 1);
    ck_assert_uint_eq(b, 1000);
    ck_assert_uint_eq(sum + atomic_load(&r->other_sites), 1021);
    ck_assert_uint_eq(atomic_load(&r->other_sites), 20 - (HK_REC_SITES - 2));
    diff_off();
}
END_TEST

START_TEST(test_rollout_sticky_monotonic) {
    enum { NSITES = 20000 };
    static unsigned char central_at[101][NSITES / 8];
    for (int pct = 0; pct <= 100; pct++) {
        diff_on(0, 0, 1, pct, 0);
        unsigned in = 0, unsticky = 0, wrong_bucket = 0, moved_back = 0;
        for (unsigned s = 0; s < NSITES; s++) {
            hak_callsite_t site = 0x400000 + (hak_callsite_t)s * 52;
            bool c = hk_compare_central(site, 1010);
            unsticky += c != hk_compare_central(site, 1010);
            wrong_bucket += c != (hk_compare_site_bucket(site) < (unsigned)pct);
            if (c)
                central_at[pct][s / 8] |= (unsigned char)(1u << (s % 8));
            in += c;
            /* Monotonic: a site central at pct-1 is still central at pct. */
            moved_back += pct > 0 && (central_at[pct - 1][s / 8] >> (s % 8) & 1) && !c;
        }
        /* One assertion per percentage (millions of ck_asserts are slow under valgrind). */
        ck_assert_msg(unsticky == 0 && wrong_bucket == 0 && moved_back == 0,
                      "pct %d: %u unsticky, %u wrong bucket, %u moved back", pct, unsticky,
                      wrong_bucket, moved_back);
        /* The share follows the percentage (within 2 points). */
        ck_assert_msg(abs((int)(in * 100 / NSITES) - pct) <= 2, "pct %d: %u of %d", pct, in,
                      NSITES);
    }
    diff_off();
}
END_TEST

START_TEST(test_rollout_executes_per_site) {
    diff_on(0, 0, 1, 50, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    /* Size 1010 is tiny under legacy, pool under the candidate: the box shows the path. */
    int seen_central = 0, seen_legacy = 0;
    for (hak_callsite_t site = 0x1000; site < 0x1000 + 200 * 64; site += 64) {
        void *p = hak_alloc_at(1010, site);
        hak_box_t want = hk_compare_central(site, 1010) ? HAK_BOX_POOL : HAK_BOX_TINY;
        ck_assert_int_eq(hak_box_of(p), want);
        seen_central += want == HAK_BOX_POOL;
        seen_legacy += want == HAK_BOX_TINY;
        hak_free(p);
    }
    ck_assert_int_gt(seen_central, 50);
    ck_assert_int_gt(seen_legacy, 50);
    diff_off();
}
END_TEST

/* A rollout by site at 50 % under a candidate table that sends 300001 .. 2 MiB-1 to the mmap
 * box, where the legacy path keeps L25: call(site) makes one site's calls and checks them,
 * returning whether the site is central's; both kinds of site must have been seen. */
static void each_site_of_a_rollout(int mode, bool (*call)(hak_callsite_t site))
{
    diff_on(mode, 0, 1, 50, 0);
    hk_table t = parse_table("0 1024 tiny\n1025 8192 pool ace\n8193 32768 mid\n"
                             "32769 53248 pool ace\n53249 300000 l25 ace\n"
                             "300001 18446744073709551615 mmap\n");
    hk_router_use_table(&t);
    int seen[2] = {0, 0};
    for (hak_callsite_t site = 0x1000; site < 0x1000 + 100 * 64; site += 64)
        seen[call(site)]++;
    ck_assert_int_gt(seen[0], 20);
    ck_assert_int_gt(seen[1], 20);
    diff_off();
}

/* realloc's new block is an allocation like any: it follows its site's path, also where the
 * block is resized in place (an L25 block that is a page of its own; the mmap box's by
 * mremap). */
static bool realloc_at_site(hak_callsite_t site)
{
    bool central = hk_compare_central(site, 500000);
    void *p = hk_realloc_at(NULL, 200000, site);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_L25);
    memset(p, 0x33, 200000);
    unsigned char *q = hk_realloc_at(p, 500000, site); /* L25 -> mmap, or grows in L25 */
    ck_assert_int_eq(hak_box_of(q), central ? HAK_BOX_MMAP : HAK_BOX_L25);
    ck_assert(q[0] == 0x33 && q[199999] == 0x33);
    memset(q, 0x44, 500000);
    unsigned char *r = hk_realloc_at(q, 1000000, site); /* mmap resize, or L25 */
    ck_assert_int_eq(hak_box_of(r), central ? HAK_BOX_MMAP : HAK_BOX_L25);
    ck_assert(r[0] == 0x44 && r[499999] == 0x44);
    unsigned char *u = hk_realloc_at(r, 100000, site); /* both: L25 */
    ck_assert_int_eq(hak_box_of(u), HAK_BOX_L25);
    ck_assert(u[0] == 0x44 && u[99999] == 0x44);
    hak_free(u);
    return central;
}

START_TEST(test_realloc_routes_per_site) {
    each_site_of_a_rollout(0, realloc_at_site);
}
END_TEST

/* Every realloc that moves to another class is a call, compared at 1 in 1, wherever its
 * block ends up (resized in place or moved); one that fits stays and is none. */
START_TEST(test_realloc_calls_compared) {
    diff_on(_i, 1, 1, -1, 0);
    static const size_t sizes[] = {100000, 200000, 500000, 900000, 300000, 70000, 1300000, 150000};
    enum { N = sizeof sizes / sizeof *sizes, ROUNDS = 25 };
    void *p = hak_malloc(sizes[N - 1]);
    ck_assert_ptr_nonnull(p);
    hk_divergence_totals a = hk_divergence_totals_get();
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N; i++) {
            ck_assert_ptr_nonnull(p = hak_realloc(p, sizes[i]));
            ck_assert_ptr_eq(hak_realloc(p, sizes[i] - 1000), p); /* fits: no call */
        }
    hk_divergence_totals b = hk_divergence_totals_get();
    ck_assert_uint_eq(b.calls - a.calls, (uint64_t)ROUNDS * N);
    ck_assert_uint_eq(b.compared - a.compared, (uint64_t)ROUNDS * N);
    ck_assert_uint_eq(b.divergent, 0);
    hak_free(p);
    diff_off();
}
END_TEST

/* memalign is routed by its site too: whatever path the process executes, a site's memalign
 * lands in the box its own path chooses (the mmap box aligning the block itself), and every
 * one is a call, compared at 1 in 1. */
static bool memalign_at_site(hak_callsite_t site)
{
    size_t align = (size_t)4096 << (site / 64 % 5);
    bool central = hk_compare_central(site, 400000 + align);
    unsigned char *p = hk_memalign_at(align, 400000, site);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p & (align - 1), 0);
    ck_assert_int_eq(hak_box_of(p), central ? HAK_BOX_MMAP : HAK_BOX_L25);
    ck_assert_uint_ge(hak_malloc_usable_size(p), 400000);
    memset(p, 0x5c, 400000);
    hak_free(p);
    return central;
}

START_TEST(test_memalign_routes_per_site) {
    each_site_of_a_rollout(_i, memalign_at_site);
}
END_TEST

START_TEST(test_memalign_calls_compared) {
    diff_on(_i, 1, 1, -1, 0);
    static const size_t sizes[] = {100000, 500000, 3u << 20, 1u << 20, 70000};
    enum { N = sizeof sizes / sizeof *sizes, ROUNDS = 10 };
    hk_divergence_totals a = hk_divergence_totals_get();
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N; i++) {
            size_t align = (size_t)64 << (r + i) % 12;
            void *p = NULL;
            ck_assert_int_eq(hak_posix_memalign(&p, align, sizes[i]), 0);
            ck_assert_uint_eq((uintptr_t)p & (align - 1), 0);
            memset(p, 0x3c, sizes[i]);
            hak_free(p);
        }
    hk_divergence_totals b = hk_divergence_totals_get();
    ck_assert_uint_eq(b.calls - a.calls, (uint64_t)ROUNDS * N);
    ck_assert_uint_eq(b.compared - a.compared, (uint64_t)ROUNDS * N);
    ck_assert_uint_eq(b.divergent, 0);
    diff_off();
}
END_TEST

START_TEST(test_rollback_latches_once) {
    hk_check_quiet_stderr();
    diff_on(1, 1, 1, -1, 3); /* central executes, rollback after 3 divergences */
    hk_table t = edge_table();
    hk_router_use_table(&t);
    void *p = hak_malloc(1010); /* divergence 1: central executes: pool */
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_POOL);
    hak_free(p);
    hak_free(hak_malloc(1011));
    ck_assert(!hk_rollback_latched);
    hak_free(hak_malloc(1012)); /* divergence 3: latch */
    ck_assert(hk_rollback_latched);
    p = hak_malloc(1013); /* legacy executes from now on */
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    hak_free(p);
    alloc_free_range(1001, 1024);
    ck_assert(hk_rollback_latched);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert(s.rolled_back);
    ck_assert_uint_eq(s.divergent, 3 + 1 + 24);
    diff_off();
}
END_TEST

START_TEST(test_rollback_not_when_legacy_executes) {
    diff_on(0, 1, 1, -1, 1); /* legacy executes: nothing to roll back */
    hk_table t = edge_table();
    hk_router_use_table(&t);
    alloc_free_range(1001, 1024);
    ck_assert(!hk_rollback_latched);
    ck_assert_uint_eq(hk_divergence_totals_get().divergent, 24);
    diff_off();
}
END_TEST

/* Under a rollout, only divergences of calls the Central Router executed count towards the
 * rollback: sites executing legacy never latch it. */
START_TEST(test_rollback_counts_central_calls_only) {
    hk_check_quiet_stderr();
    diff_on(0, 1, 1, 50, 1);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    hak_callsite_t legacy_site = 0, central_site = 0;
    for (hak_callsite_t s = 0x1000; !(legacy_site && central_site); s += 64)
        *(hk_compare_central(s, 1010) ? &central_site : &legacy_site) = s;
    for (int i = 0; i < 50; i++)
        hak_free(hak_alloc_at(1010, legacy_site));
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert(!hk_rollback_latched);
    ck_assert_uint_eq(s.divergent, 50);
    ck_assert_uint_eq(s.divergent_exec[0], 50);
    ck_assert_uint_eq(s.divergent_exec[1], 0);
    void *p = hak_alloc_at(1010, central_site); /* the Central Router executes: Pool */
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_POOL);
    hak_free(p);
    ck_assert(hk_rollback_latched);
    diff_off();
}
END_TEST

/* Raising PCT never moves a key back, by size class and by process too. */
START_TEST(test_rollout_by_class_and_process) {
    for (int by = HK_ROLLOUT_BY_CLASS; by <= HK_ROLLOUT_BY_PROCESS; by++) {
        bool prev[HK_SIZEKEY_MAX] = {false};
        for (int pct = 0; pct <= 100; pct++) {
            diff_on(0, 0, 1, pct, 0); /* resets ROLLOUT_BY to its default (site) */
            hk_option_set(HK_OPT_ROUTER_ROLLOUT_BY, by);
            hk_set_compare(hk_compare_init());
            unsigned in = 0;
            for (unsigned iv = 0; iv < hk_keys.n; iv++) {
                bool c = hk_compare_central(0x4242, hk_keys.lo[iv]);
                ck_assert_msg(!(prev[iv] && !c), "by %d: interval %u moved back at %d %%", by, iv,
                              pct);
                ck_assert_msg(c == hk_compare_central(0x9999, hk_keys.lo[iv]),
                              "by %d: the site changed the path", by);
                prev[iv] = c;
                in += c;
            }
            if (pct == 0)
                ck_assert_uint_eq(in, 0);
            if (pct == 100)
                ck_assert_uint_eq(in, hk_keys.n);
            if (by == HK_ROLLOUT_BY_PROCESS)
                ck_assert(in == 0 || in == hk_keys.n);
        }
    }
    hk_option_set(HK_OPT_ROUTER_ROLLOUT_BY, 0);
    diff_off();
}
END_TEST

START_TEST(test_full_table_counts_drops) {
    diff_on(0, 1, 1, -1, 0);
    /* 20 x 20 class pairs x 2 entries: far more distinct divergences than the table holds. */
    uint64_t n = 0;
    for (int a = 0; a < 20; a++)
        for (int b = 0; b < 20; b++)
            for (int e = 0; e < 2; e++, n++)
                hk_divergence_record((hk_decision){HAK_BOX_TINY, a}, (hk_decision){HAK_BOX_POOL, b},
                                     100, 0x1234, (hk_entry_t)e, false);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.divergent, n);
    ck_assert_uint_gt(s.dropped, 0);
    ck_assert_uint_le(s.distinct, 256);
    /* Nothing lost silently: every divergence is either in a record or counted as dropped. */
    ck_assert_uint_eq(s.distinct + s.dropped, n);
    diff_off();
}
END_TEST

/* JSON strings are valid UTF-8 whatever the bytes: invalid ones become \udcXX. */
START_TEST(test_json_utf8) {
    char path[] = "/tmp/hk-json-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static hk_jw w;
    hk_jw_start(&w, fd);
    static const char in[] =
        "a\"\\\n\x01 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff\xfe \xc3 \xed\xa0\x80 \xc0\xaf";
    hk_jw_strn(&w, in, sizeof in - 1);
    hk_jw_flush(&w);
    ck_assert(!w.failed);
    char out[256] = {0};
    ck_assert_int_gt(pread(fd, out, sizeof out - 1, 0), 0);
    close(fd);
    unlink(path);
    ck_assert_str_eq(out, "\"a\\\"\\\\\\u000a\\u0001 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                          "\\udcff\\udcfe "
                          "\\udcc3 \\udced\\udca0\\udc80 \\udcc0\\udcaf\"");
}
END_TEST

static bool write_hello(int fd, void *arg)
{
    (void)arg;
    return write(fd, "hello\n", 6) == 6;
}

/* Reports replace regular files atomically and refuse what is not one. */
START_TEST(test_file_write_rules) {
    char dir[] = "/tmp/hk-files-XXXXXX", p[256], t[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *why = NULL;
    int err = 0;
    snprintf(p, sizeof p, "%s/r.json", dir);
    ck_assert(hk_file_write(p, write_hello, NULL, &why, &err)); /* nothing there */
    ck_assert(hk_file_write(p, write_hello, NULL, &why, &err)); /* a regular file */
    snprintf(t, sizeof t, "%s/target", dir);
    int fd = open(t, O_WRONLY | O_CREAT, 0644);
    ck_assert(write(fd, "keep", 4) == 4);
    close(fd);
    snprintf(p, sizeof p, "%s/link", dir);
    ck_assert_int_eq(symlink(t, p), 0);
    ck_assert(!hk_file_write(p, write_hello, NULL, &why, &err));
    ck_assert_ptr_nonnull(strstr(why, "symbolic link"));
    struct stat st;
    ck_assert(lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && stat(t, &st) == 0 && st.st_size == 4);
    ck_assert(!hk_file_write(dir, write_hello, NULL, &why, &err));
    ck_assert_ptr_nonnull(strstr(why, "directory"));
    snprintf(p, sizeof p, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert(!hk_file_write(p, write_hello, NULL, &why, &err)); /* no reader: refused */
    ck_assert_int_eq(err, ENXIO);
    int rd = open(p, O_RDONLY | O_NONBLOCK);
    ck_assert(hk_file_write(p, write_hello, NULL, &why, &err)); /* written into it */
    char buf[8] = {0};
    ck_assert_int_eq(read(rd, buf, sizeof buf), 6);
    close(rd);
    ck_assert(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    /* a character device: a private /dev/null as root (a regression must not replace the
     * machine's), else the real one (another user could not replace it) */
    snprintf(p, sizeof p, "%s/null", dir);
    const char *null = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0 ? p : "/dev/null";
    ck_assert(hk_file_write(null, write_hello, NULL, &why, &err));
    ck_assert(stat(null, &st) == 0 && S_ISCHR(st.st_mode));
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert(!hk_path_expand(big, 1, p, sizeof p));
    ck_assert(hk_path_expand("/a/%p/b%p", 42, p, sizeof p));
    ck_assert_str_eq(p, "/a/42/b42");
    ck_assert(hk_path_expand("/100%%p/%%%p/x%", 42, p, sizeof p));
    ck_assert_str_eq(p, "/100%p/%42/x%");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A forked child gets a record of its own: a new instance naming its parent, empty counts. */
START_TEST(test_fork_child_record) {
    diff_on(0, 1, 1, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    alloc_free_range(1001, 1010);
    uint64_t parent = hk_rec->h.instance;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        hk_divergence_totals c = hk_divergence_totals_get();
        int ok = hk_rec->h.parent_instance == parent && hk_rec->h.instance != parent &&
                 hk_rec->h.pid == getpid() && c.calls == 0 && c.divergent == 0 && c.keys_seen == 0;
        alloc_free_range(1001, 1002);
        c = hk_divergence_totals_get();
        ok = ok && c.divergent == 2 && c.compared == 2;
        _exit(write(fds[1], &ok, sizeof ok) == sizeof ok ? 0 : 1);
    }
    int ok = 0, st;
    ck_assert_int_eq(read(fds[0], &ok, sizeof ok), sizeof ok);
    waitpid(pid, &st, 0);
    ck_assert_msg(ok, "the child's record is not its own");
    ck_assert_uint_eq(hk_divergence_totals_get().divergent, 10); /* the parent's, untouched */
    close(fds[0]);
    close(fds[1]);
    diff_off();
}
END_TEST

/* Two threads re-deriving the mode at once: the one that derived it before the other's
 * rollback latch must not write last (the Central Router would keep executing). The first
 * pauses after deriving DIFF_CENTRAL while the second latches the rollback. */
static atomic_int race_armed, race_paused, race_latching;
static void race_pause(void)
{
    if (!atomic_exchange(&race_armed, 0))
        return;
    atomic_store(&race_paused, 1);
    while (!atomic_load(&race_latching))
        usleep(1000);
    usleep(100000); /* the latching thread runs as far as it can meanwhile */
}
static void *race_latch(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_paused))
        usleep(1000);
    atomic_store(&race_latching, 1);
    hak_free(hak_malloc(1010)); /* the divergence that latches the rollback */
    return NULL;
}

START_TEST(test_mode_update_race) {
    hk_check_quiet_stderr();
    diff_on(1, 1, 1, -1, 1); /* central executes, rollback after 1 divergence */
    hk_table t = edge_table();
    hk_router_use_table(&t);
    hak_free(hak_malloc(1));
    ck_assert_int_eq(hk_front_mode, HK_FRONT_DIFF_CENTRAL);
    atomic_store(&race_armed, 1);
    atomic_store(&race_paused, 0);
    atomic_store(&race_latching, 0);
    hk_mode_pause_hook = race_pause;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, race_latch, NULL), 0);
    hk_front_update_mode(); /* derives DIFF_CENTRAL, pauses, then writes */
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    hk_mode_pause_hook = NULL;
    ck_assert(hk_rollback_latched);
    ck_assert_msg(hk_front_mode == HK_FRONT_DIFF_LEGACY && hk_front_routes_match(),
                  "after the latch: mode %u, routes %s", hk_front_mode,
                  hk_front_routes_match() ? "match" : "do not match");
    void *p = hak_malloc(1013); /* legacy executes */
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    hak_free(p);
    diff_off();
}
END_TEST

/* Exec marks: EXECED while any thread's exec is in flight, RUNNING again once the last one
 * failed (two threads: the one that fails first must not unmark the other's), never over
 * an end another thread wrote. */
START_TEST(test_exec_marks) {
    diff_on(0, 1, 1, -1, 0);
    hak_free(hak_malloc(1));
#define STATE() atomic_load(&hk_rec->h.state)
    ck_assert_uint_eq(STATE(), HK_REC_RUNNING);
    ck_assert(hk_record_exec_begin()); /* thread A */
    ck_assert_uint_eq(STATE(), HK_REC_EXECED);
    ck_assert(hk_record_exec_begin()); /* thread B */
    hk_record_exec_failed();           /* B's fails: A's is still in flight */
    ck_assert_uint_eq(STATE(), HK_REC_EXECED);
    hk_record_exec_failed(); /* A's fails too */
    ck_assert_uint_eq(STATE(), HK_REC_RUNNING);
    ck_assert(hk_record_exec_begin());
    hk_record_quick_exit(); /* another thread's _exit meanwhile: it stays what that wrote */
    ck_assert_uint_eq(STATE(), HK_REC_EXECED);
    atomic_store(&hk_rec->h.state, HK_REC_QUICK_EXIT);
    hk_record_exec_failed();
    ck_assert_uint_eq(STATE(), HK_REC_QUICK_EXIT);
    atomic_store(&hk_rec->h.state, HK_REC_RUNNING);
#undef STATE
    diff_off();
}
END_TEST

Suite *make_compare_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("diff");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_builtin_no_divergence, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_aa_no_divergence, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_injected_edge_caught, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_sampling_ratio, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_sampling_no_period_alias, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_first_call_of_each_key, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_unsampled_above_tiny, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_routed_counts, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_aa_keeps_executing_path, 0, EXEC_PATHS);
    tcase_add_test(tc, test_geometric_skips);
    tcase_add_test(tc, test_size_keys_constant);
    tcase_add_test(tc, test_site_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("rollout");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_rollout_sticky_monotonic);
    tcase_add_test(tc, test_rollout_executes_per_site);
    tcase_add_test(tc, test_realloc_routes_per_site);
    tcase_add_loop_test(tc, test_realloc_calls_compared, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_memalign_routes_per_site, 0, EXEC_PATHS);
    tcase_add_loop_test(tc, test_memalign_calls_compared, 0, EXEC_PATHS);
    tcase_add_test(tc, test_rollback_latches_once);
    tcase_add_test(tc, test_mode_update_race);
    tcase_add_test(tc, test_rollback_not_when_legacy_executes);
    tcase_add_test(tc, test_rollback_counts_central_calls_only);
    tcase_add_test(tc, test_rollout_by_class_and_process);
    tcase_add_test(tc, test_full_table_counts_drops);
    suite_add_tcase(s, tc);
    tc = tcase_create("evidence");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_json_utf8);
    tcase_add_test(tc, test_file_write_rules);
    tcase_add_test(tc, test_fork_child_record);
    tcase_add_test(tc, test_exec_marks);
    suite_add_tcase(s, tc);
    return s;
}
