/* hk_internal.h: compiler helpers and assertion levels shared by every hakmem source file.
 *
 * HK_LIKELY/HK_UNLIKELY are defined here and nowhere else. Our asserts fail through
 * hk_fatal() (one line on stderr, abort) and are NOT <assert.h>: coverage builds add -DNDEBUG
 * and must keep their checks.
 */
#ifndef HK_INTERNAL_H
#define HK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hakmem.h"

#define HK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HK_INLINE static inline __attribute__((always_inline))
#define HK_NOINLINE __attribute__((noinline))
#define HK_COLD __attribute__((cold, noinline))
#define HK_NORETURN __attribute__((noreturn))
/* On the extern declarations of what the fast paths read: the library's own data, reached
 * PC-relative in one instruction instead of through the GOT. */
#define HK_HIDDEN __attribute__((visibility("hidden")))
#define HK_TLS __thread __attribute__((tls_model("initial-exec")))
#define HK_CACHELINE 64
#define HK_ALIGNED_CL __attribute__((aligned(HK_CACHELINE)))

/* Minimum alignment of every pointer hakmem returns. */
#define HK_MIN_ALIGN 16
/* The page size hakmem assumes (x86-64 and arm64 4 KiB pages), defined here only. */
#define HK_PAGE_SIZE ((size_t)4096)
/* Requests above this are impossible (NULL + ENOMEM) before any size arithmetic. */
#define HK_MAX_REQUEST ((size_t)1 << 46)

/* Assertion levels: 1 = always-on cheap checks (hk_assert: fail-closed frees, bad
 * arguments); 2 = internal consistency (hk_assert_internal: every routing decision against a
 * slow reference, every block state transition and page count in the block engine); 3 =
 * expensive (hk_assert_expensive: whole free lists walked on refill, cache counts against
 * their lists). Set by ./configure --enable-debug[=2|3] (config.h); a -DHK_ASSERT_LEVEL=N on
 * the command line wins. Level 1 costs nothing for the levels above: every check is
 * compiled out (the macros below, or a plain `if (HK_ASSERT_LEVEL >= 2)`). */
#ifndef HK_ASSERT_LEVEL
#ifdef HAKMEM_CONFIG_ASSERT_LEVEL
#define HK_ASSERT_LEVEL HAKMEM_CONFIG_ASSERT_LEVEL
#else
#define HK_ASSERT_LEVEL 1
#endif
#endif

HK_NORETURN void hk_assert_fail(const char *expr, const char *file, int line);

#define hk_assert(e) ((HK_LIKELY(e)) ? (void)0 : hk_assert_fail(#e, __FILE__, __LINE__))
/* Below their level the checks are not evaluated (sizeof), only compiled: they stay
 * well-typed, and what only they read counts as used. */
#if HK_ASSERT_LEVEL >= 2
#define hk_assert_internal(e) hk_assert(e)
#else
#define hk_assert_internal(e) ((void)sizeof(!(e)))
#endif
#if HK_ASSERT_LEVEL >= 3
#define hk_assert_expensive(e) hk_assert(e)
#else
#define hk_assert_expensive(e) ((void)sizeof(!(e)))
#endif

HK_INLINE size_t hk_align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }
HK_INLINE bool hk_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

#endif /* HK_INTERNAL_H */
