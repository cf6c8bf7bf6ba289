/* check_pool.c: the Pool box (core/box/hk_pool.h): ACE classes 0-6 round trips, prewarm counting
 * under injected page failures, the mmap fallback, and fail-closed frees. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "hk_check.h"
#include "hk_stats.h"
#include "hk_pool.h"

#define KiB ((size_t)1024)

/* Request sizes that route to Pool class c (through hak_alloc_at): the lowest, a middle
 * one and the class size itself. The bridge classes start above the Mid range. */
static void class_sizes(int c, size_t out[3])
{
    size_t lo = c == 0                   ? HK_TINY_MAX + 1
                : c == HK_ACE_BRIDGE_40K ? HK_MID_MAX + 1
                                         : (size_t)hk_ace_sizes[c - 1] + 1;
    out[0] = lo;
    out[1] = lo + (hk_ace_sizes[c] - lo) / 2;
    out[2] = hk_ace_sizes[c];
}

#define PER 12

START_TEST(test_pool_roundtrip) {
    hk_check_set_mode(_i);
    for (int c = 0; c <= HK_ACE_POOL_LAST; c++) {
        size_t sizes[3];
        class_sizes(c, sizes);
        void *p[3 * PER];
        size_t n[3 * PER];
        for (int k = 0; k < 3 * PER; k++) {
            n[k] = sizes[k % 3];
            p[k] = (k & 1) ? hak_malloc(n[k]) : hak_alloc_at(n[k], (hak_callsite_t)c);
            ck_assert_msg(p[k] != NULL, "[%s] alloc(%zu) failed", hk_check_mode_names[_i], n[k]);
            ck_assert_msg(hak_box_of(p[k]) == HAK_BOX_POOL, "alloc(%zu): box %s, expected pool",
                          n[k], hak_box_name(hak_box_of(p[k])));
            ck_assert_msg(((uintptr_t)p[k] & 15) == 0, "alloc(%zu) = %p misaligned", n[k], p[k]);
            ck_assert_msg(hak_malloc_usable_size(p[k]) == hk_ace_sizes[c],
                          "usable(%zu) = %zu, class %d is %u B", n[k], hak_malloc_usable_size(p[k]),
                          c, hk_ace_sizes[c]);
            hk_check_stamp(p[k], n[k], (uintptr_t)(c * 1000 + k), 0);
        }
        for (int k = 0; k < 3 * PER; k++) {
            size_t bad = hk_check_verify(p[k], n[k], (uintptr_t)(c * 1000 + k), 0);
            ck_assert_msg(bad == HK_CHECK_INTACT, "class %d block %d (%zu B) corrupt at %zu", c, k,
                          n[k], bad);
            hak_free(p[k]);
            ck_assert_int_eq(hak_box_of(p[k]), HAK_BOX_NONE);
        }
    }
}
END_TEST

/* The block engine's Pool classes directly, per class: whole blocks stamped, then freed with hak_free. */
START_TEST(test_pool_alloc_direct) {
    for (int c = 0; c <= HK_ACE_POOL_LAST; c++) {
        void *p[PER];
        for (int k = 0; k < PER; k++) {
            p[k] = hk_slab_alloc(hk_box_engine_class(HAK_BOX_POOL, c));
            ck_assert_ptr_nonnull(p[k]);
            ck_assert_int_eq(hak_box_of(p[k]), HAK_BOX_POOL);
            ck_assert_uint_eq(hak_malloc_usable_size(p[k]), hk_ace_sizes[c]);
            hk_check_stamp(p[k], hk_ace_sizes[c], (uintptr_t)(c * 100 + k), 0);
        }
        for (int k = 0; k < PER; k++) {
            ck_assert(hk_check_verify(p[k], hk_ace_sizes[c], (uintptr_t)(c * 100 + k), 0) ==
                      HK_CHECK_INTACT);
            hak_free(p[k]);
        }
    }
}
END_TEST

START_TEST(test_pool_prewarm_all_succeed) {
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_40K, 4), 4);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_52K, 4), 4);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_40K, 0), 0);
    ck_assert_int_eq(hk_pool_prewarm(0, 5), 5); /* any Pool class, more pages than shards */
}
END_TEST

/* Failures must not be counted as pages (the seed bug counted every attempt). */
START_TEST(test_pool_prewarm_counts_failures) {
    hk_slab_inject_page_failures(1);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_40K, 4), 3);
    hk_slab_inject_page_failures(4);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_40K, 4), 0);
    hk_slab_inject_page_failures(2);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_40K, 6), 4);
    /* The injected failures are used up: the next prewarm succeeds in full. */
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_52K, 3), 3);
    hk_slab_inject_page_failures(10);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_52K, 4), 0);
    hk_slab_inject_page_failures(0);
    ck_assert_int_eq(hk_pool_prewarm(HK_ACE_BRIDGE_52K, 2), 2);
}
END_TEST

/* Pages that fail at refill time: the request is served by the mmap box and counted as a
 * Pool fallback; once pages come back, the Pool serves again. Class 2 (4 KiB) has no page
 * in this (forked, fresh) test process, so its first allocation must carve one. */
START_TEST(test_pool_fallback_to_mmap) {
    hk_check_set_mode(_i);
    hk_box_stats s0[HAK_BOX_COUNT], s1[HAK_BOX_COUNT];
    hk_stats_collect(s0);
    hk_slab_inject_page_failures(1000);
    errno = 0;
    void *p = hak_alloc_at(4000, 0);
    hk_slab_inject_page_failures(0);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(hak_box_of(p) == HAK_BOX_MMAP, "box %s", hak_box_name(hak_box_of(p)));
    ck_assert_uint_ge(hak_malloc_usable_size(p), 4000);
    hk_check_stamp(p, 4000, 7, 0);
    ck_assert(hk_check_verify(p, 4000, 7, 0) == HK_CHECK_INTACT);
    hk_stats_collect(s1);
    ck_assert_uint_eq(s1[HAK_BOX_POOL].fallbacks, s0[HAK_BOX_POOL].fallbacks + 1);
    ck_assert_uint_eq(s1[HAK_BOX_MMAP].allocs, s0[HAK_BOX_MMAP].allocs + 1);
    void *q = hak_alloc_at(4000, 0);
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_POOL);
    hak_free(p);
    hak_free(q);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
}
END_TEST

START_TEST(test_pool_double_free_dies) {
    void *p = hak_alloc_at(3000, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_POOL);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_pool_double_free_bridge_dies) {
    void *p = hak_alloc_at(40 * KiB, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_POOL);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_pool_interior_free_dies) {
    char *p = hak_alloc_at(6000, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_POOL);
    ck_assert_int_eq(hak_box_of(p + 16), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(p + 4096), HAK_BOX_NONE);
    hk_check_quiet_stderr();
    hak_free(p + 4096);
}
END_TEST

Suite *make_pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("alloc");
    tcase_add_loop_test(tc, test_pool_roundtrip, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test(tc, test_pool_alloc_direct);
    tcase_add_loop_test(tc, test_pool_fallback_to_mmap, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("prewarm");
    tcase_add_test(tc, test_pool_prewarm_all_succeed);
    tcase_add_test(tc, test_pool_prewarm_counts_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("fail-closed");
    tcase_add_test_raise_signal(tc, test_pool_double_free_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_pool_double_free_bridge_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_pool_interior_free_dies, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
