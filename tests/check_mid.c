/* check_mid.c: the Mid box (core/box/hk_mid.h): classes and edges over 8193..32768, round trips,
 * fail-closed double free. */
#include <signal.h>

#include "hk_check.h"
#include "hk_mid.h"

#define KiB ((size_t)1024)

static const size_t expect_sizes[HK_MID_NCLASSES] = {10 * KiB, 12 * KiB, 14 * KiB, 16 * KiB,
                                                     20 * KiB, 24 * KiB, 28 * KiB, 32 * KiB};

START_TEST(test_mid_table) {
    for (int c = 0; c < HK_MID_NCLASSES; c++) {
        ck_assert_msg(hk_mid_sizes[c] == expect_sizes[c], "class %d: %u, expected %zu", c,
                      hk_mid_sizes[c], expect_sizes[c]);
        ck_assert_uint_eq(hk_classes[HK_CLS_MID0 + c].bsize, expect_sizes[c]);
        ck_assert_int_eq(hk_classes[HK_CLS_MID0 + c].box, HAK_BOX_MID);
    }
    ck_assert_uint_eq(hk_mid_sizes[HK_MID_NCLASSES - 1], HK_MID_MAX);
}
END_TEST

START_TEST(test_mid_edges) {
    static const struct {
        size_t size;
        int cls;
    } edges[] = {
        {8193, 0},  {10239, 0}, {10240, 0}, {10241, 1}, {12288, 1}, {12289, 2}, {14336, 2},
        {14337, 3}, {16383, 3}, {16384, 3}, {16385, 4}, {20480, 4}, {20481, 5}, {24576, 5},
        {24577, 6}, {28672, 6}, {28673, 7}, {32767, 7}, {32768, 7},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        ck_assert_msg(hk_mid_class(edges[i].size) == edges[i].cls,
                      "hk_mid_class(%zu) = %d, expected %d", edges[i].size,
                      hk_mid_class(edges[i].size), edges[i].cls);
    /* Every size of the Mid range: fits, minimal. */
    for (size_t s = HK_POOL_LOW_MAX + 1; s <= HK_MID_MAX; s++) {
        int c = hk_mid_class(s);
        ck_assert_msg(c >= 0 && c < HK_MID_NCLASSES, "hk_mid_class(%zu) = %d", s, c);
        ck_assert_msg(hk_mid_sizes[c] >= s && (c == 0 || hk_mid_sizes[c - 1] < s),
                      "hk_mid_class(%zu) = %d (%u B) not the smallest fit", s, c, hk_mid_sizes[c]);
    }
    /* hk_mid.h's waste claims: <= 2047 B in classes 0-3, <= 4095 B in 4-7, never above 20%. */
    for (size_t s = HK_POOL_LOW_MAX + 1; s <= HK_MID_MAX; s++) {
        int c = hk_mid_class(s);
        size_t w = hk_mid_sizes[c] - s;
        ck_assert_uint_le(w, c < 4 ? 2047 : 4095);
        ck_assert_msg(100.0 * (double)w / hk_mid_sizes[c] < 20.0, "size %zu wastes %zu", s, w);
    }
}
END_TEST

#define PER 6

START_TEST(test_mid_roundtrip) {
    hk_check_set_mode(_i);
    for (int c = 0; c < HK_MID_NCLASSES; c++) {
        size_t lo = c ? expect_sizes[c - 1] + 1 : HK_POOL_LOW_MAX + 1;
        size_t sizes[3] = {lo, (lo + expect_sizes[c]) / 2, expect_sizes[c]};
        void *p[3 * PER];
        size_t n[3 * PER];
        for (int k = 0; k < 3 * PER; k++) {
            n[k] = sizes[k % 3];
            p[k] = (k & 1) ? hak_malloc(n[k]) : hak_alloc_at(n[k], 1);
            ck_assert_msg(p[k] != NULL, "[%s] alloc(%zu)", hk_check_mode_names[_i], n[k]);
            ck_assert_msg(hak_box_of(p[k]) == HAK_BOX_MID, "alloc(%zu): box %s", n[k],
                          hak_box_name(hak_box_of(p[k])));
            ck_assert_uint_eq((uintptr_t)p[k] & 15, 0);
            ck_assert_uint_eq(hak_malloc_usable_size(p[k]), expect_sizes[c]);
            hk_check_stamp(p[k], n[k], (uintptr_t)(c * 100 + k), 0);
        }
        for (int k = 0; k < 3 * PER; k++) {
            size_t bad = hk_check_verify(p[k], n[k], (uintptr_t)(c * 100 + k), 0);
            ck_assert_msg(bad == HK_CHECK_INTACT, "class %d block %d corrupt at %zu", c, k, bad);
            hak_free(p[k]);
            ck_assert_int_eq(hak_box_of(p[k]), HAK_BOX_NONE);
        }
    }
}
END_TEST

START_TEST(test_mid_alloc_direct) {
    for (int c = 0; c < HK_MID_NCLASSES; c++) {
        void *p = hk_slab_alloc(hk_box_engine_class(HAK_BOX_MID, c));
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_MID);
        ck_assert_uint_eq(hak_malloc_usable_size(p), hk_mid_sizes[c]);
        hk_check_stamp(p, hk_mid_sizes[c], (uintptr_t)c, 0);
        ck_assert(hk_check_verify(p, hk_mid_sizes[c], (uintptr_t)c, 0) == HK_CHECK_INTACT);
        hak_free(p);
    }
}
END_TEST

START_TEST(test_mid_double_free_dies) {
    void *p = hak_alloc_at(20000, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MID);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

Suite *make_mid_suite(void)
{
    Suite *s = suite_create("mid");
    TCase *tc = tcase_create("classes");
    tcase_add_test(tc, test_mid_table);
    tcase_add_test(tc, test_mid_edges);
    suite_add_tcase(s, tc);
    tc = tcase_create("alloc");
    tcase_add_loop_test(tc, test_mid_roundtrip, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test(tc, test_mid_alloc_direct);
    tcase_add_test_raise_signal(tc, test_mid_double_free_dies, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
