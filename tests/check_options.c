/* check_options.c: the option table (core/base/hk_options.h, hk_options_check.h): every
 * numeric option's parser refuses garbage and out-of-range values and takes both ends, the
 * default and the tolerated spellings; a bad value in the environment warns, naming the
 * variable, and keeps the default; a secure-execution process ignores every INSECURE option
 * with one line naming them; an unknown HAKMEM_* variable is matched to the closest known
 * one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_log.h"
#include "hk_options_check.h"

START_TEST(test_option_parse) {
    static const char *const garbage[] = {"abc",
                                          "1x",
                                          "",
                                          " ",
                                          "-",
                                          "+",
                                          "x1",
                                          "0x1",
                                          "1.0",
                                          "1 2",
                                          "--1",
                                          "1-",
                                          "99999999999999999999",
                                          "18446744073709551617",
                                          "9223372036854775808"};
    for (int id = 0; id < HK_OPT_COUNT; id++) {
        const hk_option_desc *d = &hk_option_descs[id];
        if (d->kind != HK_OPT_KIND_NUM)
            continue; /* paths: kept as given */
        for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
            long v = -777;
            ck_assert_msg(!hk_option_parse((hk_opt_id)id, garbage[i], &v), "%s: \"%s\" accepted",
                          d->name, garbage[i]);
            ck_assert_int_eq(v, -777);
        }
        long v = -777;
        ck_assert(!hk_option_parse((hk_opt_id)id, NULL, &v));
        ck_assert_int_eq(v, -777);
        /* One outside each end of the range. */
        char buf[64];
        snprintf(buf, sizeof buf, "%ld", d->lo - 1);
        ck_assert_msg(!hk_option_parse((hk_opt_id)id, buf, &v), "%s=%s accepted", d->name, buf);
        snprintf(buf, sizeof buf, "%ld", d->hi + 1);
        ck_assert_msg(!hk_option_parse((hk_opt_id)id, buf, &v), "%s=%s accepted", d->name, buf);
        ck_assert_int_eq(v, -777);
        /* Both ends, the default, and tolerated spellings. */
        const long good[] = {d->lo, d->hi, d->def, (d->lo + d->hi) / 2};
        for (size_t g = 0; g < 4; g++) {
            snprintf(buf, sizeof buf, "%ld", good[g]);
            v = -777;
            ck_assert_msg(hk_option_parse((hk_opt_id)id, buf, &v) && v == good[g],
                          "%s=\"%s\" -> %ld", d->name, buf, v);
            if (good[g] < 0)
                continue; /* "+" and leading zeros only for non-negative values */
            snprintf(buf, sizeof buf, " +%ld ", good[g]);
            v = -777;
            ck_assert_msg(hk_option_parse((hk_opt_id)id, buf, &v) && v == good[g],
                          "%s=\"%s\" -> %ld", d->name, buf, v);
            snprintf(buf, sizeof buf, "000%ld", good[g]);
            v = -777;
            ck_assert_msg(hk_option_parse((hk_opt_id)id, buf, &v) && v == good[g],
                          "%s=\"%s\" -> %ld", d->name, buf, v);
        }
    }
    long v = 5;
    ck_assert(!hk_option_parse(HK_OPT_VERBOSE, "2", &v));
    ck_assert(!hk_option_parse(HK_OPT_VERBOSE, "-1", &v));
    ck_assert(!hk_option_parse(HK_OPT_ARENA_GB, "0", &v));
    ck_assert(!hk_option_parse(HK_OPT_ARENA_GB, "4097", &v));
    ck_assert(!hk_option_parse(HK_OPT_POOL_PREWARM_PAGES, "65", &v));
    ck_assert_int_eq(v, 5);
    ck_assert(hk_option_parse(HK_OPT_ARENA_GB, "4096", &v));
    ck_assert_int_eq(v, 4096);
    ck_assert(hk_option_parse(HK_OPT_POOL_PREWARM_PAGES, "0", &v));
    ck_assert_int_eq(v, 0);
}
END_TEST

/* hk_options_init: a bad value warns (naming the variable) and keeps the default. */
START_TEST(test_options_init_env) {
    char path[] = "/tmp/hk_check_warnXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    int saved = dup(2);
    setenv("HAKMEM_POOL_PREWARM_PAGES", "12abc", 1);
    setenv("HAKMEM_ACE_ENABLED", "0", 1);
    unsetenv("HAKMEM_WRAP_L2");
    dup2(fd, 2);
    hk_options_init();
    dup2(saved, 2);
    close(saved);
    char buf[1024] = {0};
    ck_assert_int_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
    close(fd);
    ck_assert_msg(strstr(buf, "HAKMEM_POOL_PREWARM_PAGES") != NULL, "warning: %s", buf);
    ck_assert_int_eq(hk_opt(HK_OPT_POOL_PREWARM_PAGES),
                     hk_option_descs[HK_OPT_POOL_PREWARM_PAGES].def);
    ck_assert_int_eq(hk_opt(HK_OPT_ACE_ENABLED), 0);
    ck_assert_int_eq(hk_opt(HK_OPT_WRAP_L2), hk_option_descs[HK_OPT_WRAP_L2].def);
    ck_assert_int_eq(hk_knobs_get().ace_enabled, 0);
    setenv("HAKMEM_POOL_PREWARM_PAGES", "7", 1);
    hk_options_init();
    ck_assert_int_eq(hk_opt(HK_OPT_POOL_PREWARM_PAGES), 7);
}
END_TEST

/* Secure execution (setuid: tests/secure.sh runs a real one): every INSECURE option ignored,
 * with one line naming those that were set; the others honoured; %p hidden in hakmem's
 * lines. Then the same environment honoured in a normal process. */
START_TEST(test_options_secure) {
    char path[] = "/tmp/hk_check_secureXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    int saved = dup(2);
    setenv("HAKMEM_ROUTER_TABLE", "/etc/passwd", 1);
    setenv("HAKMEM_DIVERGENCE_LOG", "/tmp/x.%p", 1);
    setenv("HAKMEM_VERBOSE", "1", 1);
    setenv("HAKMEM_STATS", "1", 1);
    unsetenv("HAKMEM_DIVERGENCE_REPORT");
    dup2(fd, 2);
    hk_options_load(true);
    hk_warn("at %p", (void *)0x1234);
    dup2(saved, 2);
    char buf[1024] = {0};
    ck_assert_int_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
    ck_assert_msg(strcmp(buf, "hakmem: warning: secure-execution process (setuid, setgid or file "
                              "capabilities): ignoring HAKMEM_VERBOSE, HAKMEM_ROUTER_TABLE, "
                              "HAKMEM_DIVERGENCE_LOG\nhakmem: warning: at (address hidden)\n") == 0,
                  "got: %s", buf);
    ck_assert_ptr_null(hk_opt_str(HK_OPT_ROUTER_TABLE));
    ck_assert_ptr_null(hk_opt_str(HK_OPT_DIVERGENCE_LOG));
    ck_assert_int_eq(hk_opt(HK_OPT_VERBOSE), 0);
    ck_assert_int_eq(hk_opt(HK_OPT_STATS), 1);
    for (int i = 0; i < HK_OPT_COUNT; i++) /* the files' options are all INSECURE */
        if (hk_option_descs[i].kind == HK_OPT_KIND_STR)
            ck_assert_msg(!hk_option_descs[i].secure, "%s is honoured in setuid programs",
                          hk_option_descs[i].name);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    dup2(fd, 2);
    hk_options_load(false);
    hk_warn("at %p", (void *)0x1234);
    dup2(saved, 2);
    close(saved);
    memset(buf, 0, sizeof buf);
    ck_assert_int_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
    close(fd);
    ck_assert_str_eq(buf, "hakmem: warning: at 0x1234\n");
    ck_assert_str_eq(hk_opt_str(HK_OPT_ROUTER_TABLE), "/etc/passwd");
    ck_assert_int_eq(hk_opt(HK_OPT_VERBOSE), 1);
    unsetenv("HAKMEM_ROUTER_TABLE");
    unsetenv("HAKMEM_DIVERGENCE_LOG");
    unsetenv("HAKMEM_VERBOSE");
    unsetenv("HAKMEM_STATS");
    hk_options_init();
}
END_TEST

/* A misspelt variable's warning names the closest known one (edit distance). */
START_TEST(test_closest_option) {
    ck_assert_str_eq(hk_options_closest("HAKMEM_ROUTER_DIF", 17), "HAKMEM_ROUTER_DIFF");
    ck_assert_str_eq(hk_options_closest("HAKMEM_DIVERGENCE_REPROT", 24),
                     "HAKMEM_DIVERGENCE_REPORT");
    ck_assert_str_eq(hk_options_closest("HAKMEM_ROUTER_ROLOUT_BY", 23), "HAKMEM_ROUTER_ROLLOUT_BY");
}
END_TEST

Suite *make_options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_option_parse);
    tcase_add_test(tc, test_options_init_env);
    tcase_add_test(tc, test_options_secure);
    tcase_add_test(tc, test_closest_option);
    suite_add_tcase(s, tc);
    return s;
}
