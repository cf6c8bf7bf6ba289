/* hk_log.h: messages without malloc. Every line hakmem prints goes through here: formatted
 * into a stack buffer by a tiny printf subset and written with write(2), never stdio.
 *
 * Formats: %s %c %d %u %ld %lu %lld %llu %zu %zd %x %lx %zx %p %%.
 */
#ifndef HK_LOG_H
#define HK_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "hk_internal.h"

/* Format into buf (always NUL-terminated); returns the length written. */
size_t hk_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t hk_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Write a formatted message to fd as is (no prefix, no newline added). */
void hk_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "hakmem: warning: <msg>\n" on stderr. */
void hk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "hakmem: <msg>\n" on stderr, then abort(): the fail-closed exit for heap corruption. */
HK_NORETURN HK_COLD void hk_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Keep a duplicate of stderr for hakmem's own lines (warnings, exit-time reports): many
 * programs close stderr in their atexit handlers. Returns the descriptor now in use. */
int hk_log_keep_stderr(void);
/* write(2) the whole buffer, retrying on EINTR and short writes; returns 0 or -1. */
int hk_write_all(int fd, const char *buf, size_t len);

#endif
