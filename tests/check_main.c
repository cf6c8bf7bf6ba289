/* check_main.c: runs every hakmem Check suite (one SRunner, CK_NORMAL output).
 * Exit status: 0 when every test passed, 1 otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hk_check.h"
#if HAKMEM_CONFIG_LEGACY
#include "hk_compare.h"
#endif

/* The routing and migration options back to their defaults (a test may have changed any). */
static void reset_knobs(void)
{
    static const hk_opt_id knobs[] = {HK_OPT_ACE_ENABLED,    HK_OPT_WRAP_L2,
                                      HK_OPT_ROUTER_DIFF,    HK_OPT_ROUTER_DIFF_SAMPLE,
                                      HK_OPT_ROUTER_ROLLOUT, HK_OPT_ROUTER_ROLLOUT_BY,
                                      HK_OPT_ROUTER_ROLLBACK};
    for (size_t k = 0; k < sizeof knobs / sizeof *knobs; k++)
        hk_option_set(knobs[k], hk_option_descs[knobs[k]].def);
}

void hk_check_set_mode(int i)
{
    if (i < HK_CHECK_MODE_FIRST || i >= HK_CHECK_MODE_END)
        ck_abort_msg("routing mode %d out of range", i);
    /* Default knobs, the built-in table, the router quiet; then the mode's path. */
    reset_knobs();
    hk_router_use_table(NULL);
    hak_router_set_verbose(false);
    hk_set_central(hk_check_mode_central(i));
#if HAKMEM_CONFIG_LEGACY
    /* Mode 2, "diff": HAKMEM_ROUTER_DIFF=1, every call compared (HAKMEM_ROUTER_DIFF_SAMPLE=1,
     * the default), the Central Router executing; the records start empty. Modes 0 and 1:
     * the differential mode off. */
    if (i == HK_CHECK_MODE_DIFF)
        hk_option_set(HK_OPT_ROUTER_DIFF, 1);
    hk_set_compare(hk_compare_init());
    hk_divergence_reset();
#endif
}

hk_check_diff_counts hk_check_diff(void)
{
#if HAKMEM_CONFIG_LEGACY
    hk_divergence_totals t = hk_divergence_totals_get();
    return (hk_check_diff_counts){t.compared, t.divergent};
#else
    return (hk_check_diff_counts){0, 0};
#endif
}

void hk_check_quiet_stderr(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
}

int main(void)
{
    hk_init();
    /* The forked tests inherit the default knobs even when HAKMEM_* variables are set. */
    reset_knobs();
#if HAKMEM_CONFIG_LEGACY
    hk_set_compare(hk_compare_init());
#endif
    SRunner *sr = srunner_create(make_options_suite());
    srunner_add_suite(sr, make_engine_suite());
    srunner_add_suite(sr, make_tiny_suite());
    srunner_add_suite(sr, make_ace_suite());
    srunner_add_suite(sr, make_pool_suite());
    srunner_add_suite(sr, make_mid_suite());
    srunner_add_suite(sr, make_l25_suite());
    srunner_add_suite(sr, make_os_suite());
#if HAKMEM_CONFIG_LEGACY
    srunner_add_suite(sr, make_legacy_suite());
#endif
    srunner_add_suite(sr, make_api_suite());
    srunner_add_suite(sr, make_router_suite());
#if HAKMEM_CONFIG_LEGACY
    srunner_add_suite(sr, make_compare_suite());
#endif
    srunner_add_suite(sr, make_failclosed_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
