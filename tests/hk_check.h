/* hk_check.h: shared declarations of hakmem's Check unit-test suites (tests/check_*.c).
 *
 * One suite per box (make_<box>_suite), collected by check_main.c into one SRunner. The
 * tests drive the hak_* API and the boxes' internal entry points; they are linked against
 * the core without malloc_wrap.c, so Check itself keeps glibc's malloc.
 *
 * Routing modes: every routing or allocation test is a loop test over HK_CHECK_NMODES modes
 *     tcase_add_loop_test(tc, fn, HK_CHECK_MODE_FIRST, HK_CHECK_NMODES);
 * and starts with hk_check_set_mode(_i). Two modes: 0 "legacy" (the legacy routing path) and
 * 1 "central" (the Central Router), switched with hk_set_central (hk_front.h).
 */
#ifndef HK_CHECK_H
#define HK_CHECK_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem.h"
#include "hk_front.h"
#include "hk_stats_snap.h"
#include "hk_init.h"
#include "hk_options.h"
#include "hk_route.h"
#include "hk_slab.h"

#define HK_CHECK_NMODES 2
/* A --disable-legacy build has the Central Router only: its loops start at mode 1. */
#define HK_CHECK_MODE_FIRST (HAKMEM_CONFIG_LEGACY ? 0 : 1)
static const char *const hk_check_mode_names[HK_CHECK_NMODES] = {"legacy", "central"};

/* Select routing mode i (0 .. HK_CHECK_NMODES-1): reset the routing knobs to their defaults
 * (hk_option_set), so a test never inherits another test's knobs; route through the Central
 * Router (i == 1) or the legacy path (i == 0); built-in table; router not verbose. */
void hk_check_set_mode(int i);

Suite *make_tiny_suite(void);
Suite *make_ace_suite(void);
Suite *make_pool_suite(void);
Suite *make_mid_suite(void);
Suite *make_l25_suite(void);
Suite *make_os_suite(void);
Suite *make_legacy_suite(void);
Suite *make_api_suite(void);
Suite *make_router_suite(void);
Suite *make_compare_suite(void);
Suite *make_pages_suite(void);
Suite *make_failclosed_suite(void);

/* ---- small helpers shared by the suites (static inline: no extra object file) ---- */

/* The byte stamped at offset i of a block tagged `tag`. */
static inline uint8_t hk_check_pat(uintptr_t tag, size_t i)
{
    uint64_t x = (uint64_t)tag * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xBF58476D1CE4E5B9ULL;
    return (uint8_t)(x >> 56 ^ x >> 29 ^ i);
}

/* Stamp n bytes of p: all of them when stride is 0, else the first and last 64 bytes and
 * 8 bytes every `stride` bytes. */
static inline void hk_check_stamp(void *p, size_t n, uintptr_t tag, size_t stride)
{
    uint8_t *b = (uint8_t *)p;
    if (!stride || n <= 128) {
        for (size_t i = 0; i < n; i++)
            b[i] = hk_check_pat(tag, i);
        return;
    }
    for (size_t i = 0; i < 64; i++) {
        b[i] = hk_check_pat(tag, i);
        b[n - 1 - i] = hk_check_pat(tag, n - 1 - i);
    }
    for (size_t o = stride; o + 8 <= n; o += stride)
        for (size_t i = o; i < o + 8; i++)
            b[i] = hk_check_pat(tag, i);
}

/* Offset of the first byte in [0, keep) that differs from a stamp of `stamped` bytes made
 * with the same tag and stride (keep < stamped: the prefix a shrinking realloc keeps), or
 * HK_CHECK_INTACT when all match. */
static inline size_t hk_check_verify_prefix(const void *p, size_t keep, size_t stamped,
                                            uintptr_t tag, size_t stride)
{
    const uint8_t *b = (const uint8_t *)p;
    if (keep > stamped)
        keep = stamped;
    if (!stride || stamped <= 128) {
        for (size_t i = 0; i < keep; i++)
            if (b[i] != hk_check_pat(tag, i))
                return i;
        return (size_t)-1;
    }
    for (size_t i = 0; i < 64 && i < keep; i++)
        if (b[i] != hk_check_pat(tag, i))
            return i;
    for (size_t i = stamped - 64; i < keep; i++)
        if (b[i] != hk_check_pat(tag, i))
            return i;
    for (size_t o = stride; o + 8 <= stamped && o < keep; o += stride)
        for (size_t i = o; i < o + 8 && i < keep; i++)
            if (b[i] != hk_check_pat(tag, i))
                return i;
    return (size_t)-1;
}

/* Offset of the first byte that differs from the stamp, or HK_CHECK_INTACT when all match. */
static inline size_t hk_check_verify(const void *p, size_t n, uintptr_t tag, size_t stride)
{
    return hk_check_verify_prefix(p, n, n, tag, stride);
}

#define HK_CHECK_INTACT ((size_t)-1)

/* Death tests: silence hakmem's one-line fatal message (the test expects the abort). */
void hk_check_quiet_stderr(void);

#endif /* HK_CHECK_H */
