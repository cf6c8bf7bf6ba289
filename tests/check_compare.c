/* check_compare.c: the differential mode and the staged rollout (compare/), driven through
 * the hak_* API with the options set directly (hk_option_set + hk_compare_init).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_compare.h"
#include "hk_router_inline.h"
#include "hk_table.h"

/* Differential mode on, with the given sample, rollout and rollback; routing mode i. */
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

/* A candidate table whose Tiny rule ends at 1000 instead of 1024. */
static hk_table edge_table(void)
{
    static const char text[] = "0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n"
                               "32769 53248 pool ace\n53249 2097151 l25 ace\n"
                               "2097152 18446744073709551615 mmap\n";
    hk_table t;
    char err[128];
    ck_assert_msg(hk_table_parse(text, sizeof text - 1, &t, err, sizeof err), "%s", err);
    return t;
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

START_TEST(test_builtin_no_divergence)
{
    diff_on(_i, 1, 1, -1, 0);
    static const size_t edges[] = {0, 1, 1024, 1025, 8192, 8193, 32768, 32769, 40960, 53248,
                                   53249, 2097151, 2097152, 2097153};
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

START_TEST(test_aa_no_divergence)
{
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

START_TEST(test_injected_edge_caught)
{
    diff_on(_i, 1, 1, -1, 0);
    hk_table t = edge_table();
    hk_router_use_table(&t);
    alloc_free_range(900, 1100);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.compared, 201);
    ck_assert_uint_eq(s.divergent, 24); /* 1001..1024 */
    ck_assert_uint_eq(s.dropped, 0);
    ck_assert_uint_eq(s.distinct, 2); /* size buckets 512..1023 and 1024..2047 */
    /* Whichever path executed, every block landed where that path decided. */
    void *p = hak_malloc(1010);
    ck_assert_int_eq(hak_box_of(p), _i == 1 ? HAK_BOX_POOL : HAK_BOX_TINY);
    hak_free(p);
    diff_off();
}
END_TEST

START_TEST(test_sampling_ratio)
{
    diff_on(_i, 1, 10, -1, 0);
    hk_divergence_totals a = hk_divergence_totals_get();
    for (int n = 0; n < 10000; n++)
        hak_free(hak_malloc(64));
    hk_divergence_totals b = hk_divergence_totals_get();
    ck_assert_uint_eq(b.calls - a.calls, 10000);
    ck_assert_uint_eq(b.compared - a.compared, 1000); /* exactly 1 in 10 on one thread */
    diff_off();
}
END_TEST

START_TEST(test_rollout_sticky_monotonic)
{
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

START_TEST(test_rollout_executes_per_site)
{
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

START_TEST(test_rollback_latches_once)
{
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

START_TEST(test_rollback_not_when_legacy_executes)
{
    diff_on(0, 1, 1, -1, 1); /* legacy executes: nothing to roll back */
    hk_table t = edge_table();
    hk_router_use_table(&t);
    alloc_free_range(1001, 1024);
    ck_assert(!hk_rollback_latched);
    ck_assert_uint_eq(hk_divergence_totals_get().divergent, 24);
    diff_off();
}
END_TEST

START_TEST(test_full_table_counts_drops)
{
    diff_on(0, 1, 1, -1, 0);
    /* 20 x 20 class pairs x 2 entries: far more distinct divergences than the table holds. */
    uint64_t n = 0;
    for (int a = 0; a < 20; a++)
        for (int b = 0; b < 20; b++)
            for (int e = 0; e < 2; e++, n++)
                hk_divergence_record((hk_decision){HAK_BOX_TINY, a},
                                     (hk_decision){HAK_BOX_POOL, b}, 100, 0x1234,
                                     (hk_entry_t)e, false);
    hk_divergence_totals s = hk_divergence_totals_get();
    ck_assert_uint_eq(s.divergent, n);
    ck_assert_uint_gt(s.dropped, 0);
    ck_assert_uint_le(s.distinct, 256);
    /* Nothing lost silently: every divergence is either in a record or counted as dropped. */
    ck_assert_uint_eq(s.distinct + s.dropped, n);
    diff_off();
}
END_TEST

Suite *make_compare_suite(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("diff");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_builtin_no_divergence, 0, HK_CHECK_NMODES);
    tcase_add_loop_test(tc, test_aa_no_divergence, 0, HK_CHECK_NMODES);
    tcase_add_loop_test(tc, test_injected_edge_caught, 0, HK_CHECK_NMODES);
    tcase_add_loop_test(tc, test_sampling_ratio, 0, HK_CHECK_NMODES);
    suite_add_tcase(s, tc);
    tc = tcase_create("rollout");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_rollout_sticky_monotonic);
    tcase_add_test(tc, test_rollout_executes_per_site);
    tcase_add_test(tc, test_rollback_latches_once);
    tcase_add_test(tc, test_rollback_not_when_legacy_executes);
    tcase_add_test(tc, test_full_table_counts_drops);
    suite_add_tcase(s, tc);
    return s;
}
