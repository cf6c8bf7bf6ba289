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

static void reset_knobs(void)
{
    hk_option_set(HK_OPT_ACE_ENABLED, hk_option_descs[HK_OPT_ACE_ENABLED].def);
    hk_option_set(HK_OPT_WRAP_L2, hk_option_descs[HK_OPT_WRAP_L2].def);
    /* No differential mode or rollout unless a test turns it on (check_compare.c). */
    hk_option_set(HK_OPT_ROUTER_DIFF, 0);
    hk_option_set(HK_OPT_ROUTER_ROLLOUT, -1);
    hk_option_set(HK_OPT_ROUTER_ROLLBACK, 0);
#if HAKMEM_CONFIG_LEGACY
    hk_set_compare(hk_compare_init());
#endif
}

void hk_check_set_mode(int i)
{
    if (i < 0 || i >= HK_CHECK_NMODES)
        ck_abort_msg("routing mode %d out of range", i);
    /* Mode 0, "legacy": the legacy routing path; mode 1, "central": the Central Router. Both
     * with the default knobs, the built-in table and the router quiet. */
    reset_knobs();
    hk_set_central(i == 1);
    hk_router_use_table(NULL);
    hak_router_set_verbose(false);
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
    SRunner *sr = srunner_create(make_tiny_suite());
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
    srunner_add_suite(sr, make_pages_suite());
    srunner_add_suite(sr, make_failclosed_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
