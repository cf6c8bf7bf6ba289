/* check_legacy.c: the legacy routing path (legacy/hk_legacy.h, legacy/hk_legacy_ace.h):
 * hk_legacy_decide at every boundary for every knob combination and both entries, the
 * allocations that carry the decisions out, and ENOMEM above HK_MAX_REQUEST. */
#include <errno.h>

#include "hk_ace.h"
#include "hk_legacy.h"
#include "hk_check.h"
#include "hk_expect.h"
#include "hk_stats.h"
#include "hk_legacy_ace.h"
#include "hk_mid.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* The routing table of the legacy path, written out from its documentation. */
static hak_box_t expect_box(size_t s, hk_entry_t e, hk_knobs k)
{
    return hk_expect_box(s, e == HK_ENTRY_WRAP, k.ace_enabled, k.wrap_l2);
}

static int expect_cls(size_t s, hak_box_t box)
{
    switch (box) {
    case HAK_BOX_TINY: return hk_tiny_class(s);
    case HAK_BOX_POOL:
    case HAK_BOX_L25: return hk_ace_class(s);
    case HAK_BOX_MID: return hk_mid_class(s);
    default: return -1;
    }
}

static const size_t boundaries[] = {
    0,
    1,
    1024,
    1025,
    8192,
    8193,
    32768,
    32769,
    33 * KiB,
    40 * KiB,
    40 * KiB + 1,
    52 * KiB,
    52 * KiB + 1,
    64 * KiB,
    64 * KiB + 1,
    1 * MiB + 1,
    2 * MiB - 1,
    2 * MiB,
    2 * MiB + 1,
    64 * MiB,
    SIZE_MAX,
};
#define NBOUND (sizeof boundaries / sizeof boundaries[0])

static const char *const entry_names[2] = {"WRAP", "API"};

static hk_knobs set_knobs(int combo)
{
    hk_option_set(HK_OPT_ACE_ENABLED, combo & 1);
    hk_option_set(HK_OPT_WRAP_L2, (combo >> 1) & 1);
    hk_knobs k = hk_knobs_get();
    ck_assert_int_eq(k.ace_enabled, combo & 1);
    ck_assert_int_eq(k.wrap_l2, (combo >> 1) & 1);
    return k;
}

START_TEST(test_legacy_decide_boundaries) {
    hk_check_set_mode(_i);
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = {combo & 1, (combo >> 1) & 1};
        for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
            for (size_t i = 0; i < NBOUND; i++) {
                size_t s = boundaries[i];
                hk_decision d = hk_legacy_decide(s, (hk_entry_t)e, k);
                hak_box_t want = expect_box(s, (hk_entry_t)e, k);
                ck_assert_msg(d.box == want && d.cls == expect_cls(s, want),
                              "decide(%zu, %s, ace=%d wrap_l2=%d) = %s/%d, expected %s/%d", s,
                              entry_names[e], k.ace_enabled, k.wrap_l2, hak_box_name(d.box), d.cls,
                              hak_box_name(want), expect_cls(s, want));
            }
    }
}
END_TEST

/* Every size up to 2 MiB + 4 KiB, every knob combination, both entries. */
START_TEST(test_legacy_decide_all_sizes) {
    hk_check_set_mode(_i);
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = {combo & 1, (combo >> 1) & 1};
        for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
            for (size_t s = 0; s <= 2 * MiB + 4096; s++) {
                hk_decision d = hk_legacy_decide(s, (hk_entry_t)e, k);
                hak_box_t want = expect_box(s, (hk_entry_t)e, k);
                if (d.box != want || d.cls != expect_cls(s, want))
                    ck_abort_msg("decide(%zu, %s, ace=%d wrap_l2=%d) = %s/%d, expected %s/%d", s,
                                 entry_names[e], k.ace_enabled, k.wrap_l2, hak_box_name(d.box),
                                 d.cls, hak_box_name(want), expect_cls(s, want));
            }
    }
}
END_TEST

/* The secondary router alone, on the ranges the primary router hands it. */
START_TEST(test_legacy_ace_decide) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {1025, 4096, 8192, 32769, 53248, 53249, 2 * MiB - 1};
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = {combo & 1, (combo >> 1) & 1};
        for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                hk_decision d = hk_legacy_ace_decide(sizes[i], (hk_entry_t)e, k);
                ck_assert_int_eq(d.box, expect_box(sizes[i], (hk_entry_t)e, k));
            }
        /* Above 2 MiB ACE has no class: mmap whatever the knobs. */
        ck_assert_int_eq(hk_legacy_ace_decide(2 * MiB + 1, HK_ENTRY_API, k).box, HAK_BOX_MMAP);
    }
}
END_TEST

/* Carry the decisions out: hak_malloc (WRAP) and hak_alloc_at (API) at every boundary under
 * every knob setting; the block lands in the decided box. */
START_TEST(test_legacy_alloc_boundaries) {
    hk_check_set_mode(_i);
    for (int combo = 0; combo < 4; combo++) {
        hk_knobs k = set_knobs(combo);
        for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
            for (size_t i = 0; i < NBOUND; i++) {
                size_t s = boundaries[i];
                if (s > HK_MAX_REQUEST)
                    continue;
                hak_box_t want = hk_legacy_decide(s, (hk_entry_t)e, k).box;
                ck_assert_int_eq(want, expect_box(s, (hk_entry_t)e, k));
                void *p = e == HK_ENTRY_WRAP ? hak_malloc(s) : hak_alloc_at(s, (hak_callsite_t)i);
                ck_assert_msg(p != NULL, "[%s] %s alloc(%zu) failed", hk_check_mode_names[_i],
                              entry_names[e], s);
                ck_assert_msg(hak_box_of(p) == want,
                              "[%s] %s alloc(%zu) with ace=%d wrap_l2=%d: box %s, decided %s",
                              hk_check_mode_names[_i], entry_names[e], s, k.ace_enabled, k.wrap_l2,
                              hak_box_name(hak_box_of(p)), hak_box_name(want));
                ck_assert_uint_ge(hak_malloc_usable_size(p), s);
                if (s) {
                    ((unsigned char *)p)[0] = 1;
                    ((unsigned char *)p)[s - 1] = 2;
                }
                hak_free(p);
                ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
            }
    }
}
END_TEST

START_TEST(test_legacy_enomem) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {HK_MAX_REQUEST + 1, HK_MAX_REQUEST * 2, SIZE_MAX / 2,
                                   SIZE_MAX - 4095,    SIZE_MAX - 15,      SIZE_MAX};
    for (int combo = 0; combo < 4; combo++) {
        set_knobs(combo);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint64_t before = hk_counter(HK_CTR_ENOMEM);
            errno = 0;
            ck_assert_ptr_null(hak_alloc_at(sizes[i], 0));
            ck_assert_msg(errno == ENOMEM, "hak_alloc_at(%zu): errno %d", sizes[i], errno);
            errno = 0;
            ck_assert_ptr_null(hak_malloc(sizes[i]));
            ck_assert_msg(errno == ENOMEM, "hak_malloc(%zu): errno %d", sizes[i], errno);
            ck_assert_uint_eq(hk_counter(HK_CTR_ENOMEM), before + 2);
        }
    }
}
END_TEST

/* The knobs change only the ACE ranges: Tiny, Mid and mmap requests never move. */
START_TEST(test_legacy_knobs_scope) {
    hk_check_set_mode(_i);
    static const size_t fixed[] = {0, 1024, 8193, 32768, 2 * MiB, 64 * MiB};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        hak_box_t ref = hk_legacy_decide(fixed[i], HK_ENTRY_API, (hk_knobs){true, true}).box;
        for (int combo = 0; combo < 4; combo++)
            for (int e = HK_ENTRY_WRAP; e <= HK_ENTRY_API; e++)
                ck_assert_int_eq(hk_legacy_decide(fixed[i], (hk_entry_t)e,
                                                  (hk_knobs){combo & 1, combo >> 1})
                                     .box,
                                 ref);
    }
    /* wrap_l2=0 affects only the malloc-wrapper entry. */
    ck_assert_int_eq(hk_legacy_decide(4096, HK_ENTRY_API, (hk_knobs){true, false}).box,
                     HAK_BOX_POOL);
    ck_assert_int_eq(hk_legacy_decide(4096, HK_ENTRY_WRAP, (hk_knobs){true, false}).box,
                     HAK_BOX_MMAP);
    ck_assert_int_eq(hk_legacy_decide(100000, HK_ENTRY_API, (hk_knobs){true, false}).box,
                     HAK_BOX_L25);
    ck_assert_int_eq(hk_legacy_decide(100000, HK_ENTRY_WRAP, (hk_knobs){true, false}).box,
                     HAK_BOX_MMAP);
}
END_TEST

Suite *make_legacy_suite(void)
{
    Suite *s = suite_create("legacy");
    TCase *tc = tcase_create("decide");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_legacy_decide_boundaries, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_legacy_decide_all_sizes, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_legacy_ace_decide, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_legacy_knobs_scope, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);
    tc = tcase_create("alloc");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_legacy_alloc_boundaries, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_legacy_enomem, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);
    return s;
}
