/* check_decisions.c: each path decides exactly once per compared call. Built against a test
 * build of the core (libhakmem_counted.la, HK_COUNT_DECISIONS=1) that counts every decision.
 */
#include <check.h>
#include <stdlib.h>

#include "hakmem.h"
#include "hk_compare.h"
#include "hk_front.h"
#include "hk_options.h"
#include "hk_sample.h"
#include "hk_slab.h"

static uint64_t decisions(hk_thread_counter_id id) { return hk_slab_thread_counter(id); }

static void setup_diff(bool central, long sample)
{
    hk_set_central(central);
    hk_option_set(HK_OPT_ROUTER_DIFF, 1);
    hk_option_set(HK_OPT_ROUTER_DIFF_SAMPLE, sample);
    hk_set_compare(hk_compare_init());
    hk_divergence_reset();
}

START_TEST(test_once_per_compared_call) {
    ck_assert(config_count_decisions);
    setup_diff(_i == 1, 1);
    static const size_t sizes[] = {0,     1,     100,    1024,    1025,    4096,
                                   8192,  8193,  20000,  32768,   32769,   40000,
                                   53248, 53249, 100000, 2097151, 2097152, 5000000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        for (int e = 0; e < 2; e++) {
            uint64_t l0 = decisions(HK_TCTR_DECIDE_LEGACY), c0 = decisions(HK_TCTR_DECIDE_CENTRAL);
            uint64_t n0 = hk_divergence_totals_get().compared;
            void *p = e ? hak_alloc_at(sizes[k], 1) : hak_malloc(sizes[k]);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq(hk_divergence_totals_get().compared - n0, 1);
            ck_assert_msg(decisions(HK_TCTR_DECIDE_LEGACY) - l0 == 1,
                          "size %zu: legacy decided %llu times", sizes[k],
                          (unsigned long long)(decisions(HK_TCTR_DECIDE_LEGACY) - l0));
            ck_assert_msg(decisions(HK_TCTR_DECIDE_CENTRAL) - c0 == 1,
                          "size %zu: central decided %llu times", sizes[k],
                          (unsigned long long)(decisions(HK_TCTR_DECIDE_CENTRAL) - c0));
            hak_free(p);
        }
    }
}
END_TEST

START_TEST(test_not_compared_when_sampled_out) {
    setup_diff(_i == 1, 1000000);
    /* The first call of a key is always compared (and decides once per path, as above). */
    hak_free(hak_malloc(4096));
    ck_assert_uint_eq(hk_divergence_totals_get().compared, 1);
    /* Its next call, not sampled (the thread's skip count set directly), is not compared. */
    hk_dt.skip = 5;
    uint64_t l0 = decisions(HK_TCTR_DECIDE_LEGACY), c0 = decisions(HK_TCTR_DECIDE_CENTRAL);
    hak_free(hak_malloc(4096));
    ck_assert_uint_eq(hk_divergence_totals_get().compared, 1);
    ck_assert_uint_eq(hk_dt.skip, 4);
    /* Neither path decided: the executing path's second class table served it
     * (hk_diff_unsampled_seen). */
    uint64_t dl = decisions(HK_TCTR_DECIDE_LEGACY) - l0,
             dc = decisions(HK_TCTR_DECIDE_CENTRAL) - c0;
    ck_assert_uint_eq(dl + dc, 0);
    /* A size the table has no class for (the mmap box's): only the executing path decides,
     * once. */
    hak_free(hak_malloc(3 << 20));
    hk_dt.skip = 5;
    l0 = decisions(HK_TCTR_DECIDE_LEGACY), c0 = decisions(HK_TCTR_DECIDE_CENTRAL);
    hak_free(hak_malloc(3 << 20));
    dl = decisions(HK_TCTR_DECIDE_LEGACY) - l0, dc = decisions(HK_TCTR_DECIDE_CENTRAL) - c0;
    ck_assert_uint_eq(dl + dc, 1);
    ck_assert_uint_eq(_i == 1 ? dl : dc, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decisions");
    TCase *tc = tcase_create("once");
    tcase_add_loop_test(tc, test_once_per_compared_call, 0, 2);
    tcase_add_loop_test(tc, test_not_compared_when_sampled_out, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
