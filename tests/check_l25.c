/* check_l25.c: the L25 box (core/box/hk_l25.h): requests 52 KiB+1 .. 2 MiB-1 land in ACE classes
 * 7-12, round trips with stamps, fail-closed double free. */
#include <signal.h>

#include "hk_check.h"
#include "hk_l25.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define STRIDE 4093 /* odd stride: samples fall at every offset within pages */

/* Sizes across the whole L25 range: the class edges +-1 and a geometric sweep. */
static size_t l25_sizes(size_t *out)
{
    size_t n = 0;
    out[n++] = 52 * KiB + 1;
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++) {
        size_t s = hk_ace_sizes[c];
        out[n++] = s - 1;
        if (s <= HK_L25_MAX)
            out[n++] = s;
        if (s + 1 <= HK_L25_MAX)
            out[n++] = s + 1;
    }
    for (size_t s = 52 * KiB + 1; s <= HK_L25_MAX; s += s / 3 + 4099)
        out[n++] = s;
    return n;
}

START_TEST(test_l25_roundtrip) {
    hk_check_set_mode(_i);
    size_t sizes[64];
    size_t ns = l25_sizes(sizes);
    ck_assert_uint_lt(ns, 64);
    void *p[64];
    for (size_t k = 0; k < ns; k++) {
        size_t s = sizes[k];
        int c = hk_ace_class(s);
        p[k] = (k & 1) ? hak_malloc(s) : hak_alloc_at(s, (hak_callsite_t)k);
        ck_assert_msg(p[k] != NULL, "[%s] alloc(%zu) failed", hk_check_mode_names[_i], s);
        ck_assert_msg(hak_box_of(p[k]) == HAK_BOX_L25, "alloc(%zu): box %s, expected l25", s,
                      hak_box_name(hak_box_of(p[k])));
        ck_assert_msg(c >= HK_ACE_L25_FIRST && hak_malloc_usable_size(p[k]) == hk_ace_sizes[c],
                      "alloc(%zu): usable %zu, class %d", s, hak_malloc_usable_size(p[k]), c);
        ck_assert_uint_eq((uintptr_t)p[k] & 15, 0);
        hk_check_stamp(p[k], s, (uintptr_t)s, STRIDE);
    }
    for (size_t k = 0; k < ns; k++) {
        size_t bad = hk_check_verify(p[k], sizes[k], (uintptr_t)sizes[k], STRIDE);
        ck_assert_msg(bad == HK_CHECK_INTACT, "block of %zu B corrupt at byte %zu", sizes[k], bad);
        hak_free(p[k]);
        ck_assert_int_eq(hak_box_of(p[k]), HAK_BOX_NONE);
    }
}
END_TEST

/* Several live blocks per class at once, stamped through their whole usable size. */
START_TEST(test_l25_many_live) {
    hk_check_set_mode(_i);
    enum { PER = 5 };
    void *p[HK_ACE_NCLASSES][PER];
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++)
        for (int k = 0; k < PER; k++) {
            size_t s = hk_ace_sizes[c] - (size_t)k * 16 - 1;
            p[c][k] = hak_alloc_at(s, 0);
            ck_assert_int_eq(hak_box_of(p[c][k]), HAK_BOX_L25);
            hk_check_stamp(p[c][k], hk_ace_sizes[c], (uintptr_t)(c * 10 + k), 512);
        }
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++)
        for (int k = 0; k < PER; k++) {
            ck_assert_msg(hk_check_verify(p[c][k], hk_ace_sizes[c], (uintptr_t)(c * 10 + k), 512) ==
                              HK_CHECK_INTACT,
                          "class %d block %d corrupted", c, k);
            hak_free(p[c][k]);
        }
}
END_TEST

START_TEST(test_l25_alloc_direct) {
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++) {
        void *p = hk_slab_alloc(hk_box_engine_class(HAK_BOX_L25, c));
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_L25);
        ck_assert_uint_eq(hak_malloc_usable_size(p), hk_ace_sizes[c]);
        hak_free(p);
    }
}
END_TEST

START_TEST(test_l25_double_free_dies) {
    void *p = hak_alloc_at(300 * KiB, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_L25);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_l25_double_free_2m_dies) {
    void *p = hak_alloc_at(2 * MiB - 1, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_L25);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

Suite *make_l25_suite(void)
{
    Suite *s = suite_create("l25");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_l25_roundtrip, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_l25_many_live, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test(tc, test_l25_alloc_direct);
    tcase_add_test_raise_signal(tc, test_l25_double_free_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_l25_double_free_2m_dies, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
