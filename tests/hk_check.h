/* hk_check.h: shared declarations of hakmem's Check unit-test suites (tests/check_*.c).
 *
 * One suite per unit (make_<unit>_suite), collected by check_main.c into one SRunner. The
 * tests drive the hak_* API and the boxes' internal entry points; they are linked against
 * the core without malloc_wrap.c, so Check itself keeps glibc's malloc.
 *
 * Routing modes: every routing or allocation test is a loop test over the modes of the build
 *     tcase_add_loop_test(tc, fn, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
 * and starts with hk_check_set_mode(_i). Three modes: 0 "legacy" (the legacy routing path),
 * 1 "central" (the Central Router), switched with hk_set_central (hk_front.h), and 2 "diff"
 * (the differential mode, HAKMEM_ROUTER_DIFF=1 with HAKMEM_ROUTER_DIFF_SAMPLE=1: both
 * decisions computed on every call, the Central Router's executed, divergences recorded).
 * A --disable-legacy build has the Central Router only: mode 1 alone.
 */
#ifndef HK_CHECK_H
#define HK_CHECK_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"
#include "hk_front.h"
#include "hk_stats_snap.h"
#include "hk_init.h"
#include "hk_options.h"
#include "hk_route.h"
#include "hk_slab.h"

enum { HK_CHECK_MODE_LEGACY = 0, HK_CHECK_MODE_CENTRAL = 1, HK_CHECK_MODE_DIFF = 2 };
#define HK_CHECK_NMODES 3
/* The loops' bounds, [FIRST, END): a --disable-legacy build (no legacy/, no compare/) has the
 * Central Router only. */
#define HK_CHECK_MODE_FIRST (HAKMEM_CONFIG_LEGACY ? HK_CHECK_MODE_LEGACY : HK_CHECK_MODE_CENTRAL)
#define HK_CHECK_MODE_END (HAKMEM_CONFIG_LEGACY ? HK_CHECK_NMODES : HK_CHECK_MODE_CENTRAL + 1)
static const char *const hk_check_mode_names[HK_CHECK_NMODES] = {"legacy", "central", "diff"};

/* Does routing mode i execute the Central Router's decisions (central and diff)? */
static inline int hk_check_mode_central(int i) { return i != HK_CHECK_MODE_LEGACY; }

/* Select routing mode i (HK_CHECK_MODE_FIRST .. HK_CHECK_MODE_END-1): reset the routing and
 * migration knobs to their defaults (hk_option_set), so a test never inherits another test's
 * knobs; route through the legacy path (0), the Central Router (1), or the differential mode
 * with the Central Router executing and the divergence records cleared (2); built-in table;
 * router not verbose. */
void hk_check_set_mode(int i);

/* The differential mode's counts since hk_check_set_mode: front-door calls compared, and
 * those whose two decisions diverged (both 0 outside mode 2 and in a --disable-legacy
 * build, which has no differential mode). */
typedef struct {
    uint64_t compared, divergent;
} hk_check_diff_counts;
hk_check_diff_counts hk_check_diff(void);

Suite *make_engine_suite(void);
Suite *make_tiny_suite(void);
Suite *make_ace_suite(void);
Suite *make_pool_suite(void);
Suite *make_mid_suite(void);
Suite *make_l25_suite(void);
Suite *make_os_suite(void);
Suite *make_legacy_suite(void);
Suite *make_options_suite(void);
Suite *make_api_suite(void);
Suite *make_router_suite(void);
Suite *make_compare_suite(void);
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

/* Run fn(arg, p) in a forked child with its stderr captured into buf (cap bytes, NUL
 * included; the child exits with fn's value); returns the child's wait status. For the death
 * tests: hakmem's one-line message, then abort. */
static inline int hk_check_child(int (*fn)(int, void *), int arg, void *p, char *buf, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        _exit(fn(arg, p));
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fds[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

#endif /* HK_CHECK_H */
