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

/* %p prints "(address hidden)" from now on: in a secure-execution process (setuid, ...), a
 * fault line must not hand a user the layout of a privileged program (a forked server's
 * children share it). */
void hk_log_hide_addresses(bool hide);
/* Format into buf (always NUL-terminated); returns the length written. */
size_t hk_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t hk_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Write a formatted message to fd as is (no prefix, no newline added). */
void hk_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "hakmem: warning: <msg>\n" on stderr. */
void hk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "hakmem: <msg>\n" on stderr, then abort(): the fail-closed exit for heap corruption. */
HK_NORETURN HK_COLD void hk_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A descriptor hakmem keeps open across calls, with the identity of the open file it had
 * when kept (device, inode, type, access mode): a program may close any descriptor and get
 * its number back for a file of its own, so a kept descriptor is written to only after
 * hk_fd_same() says it still refers to that file. */
typedef struct {
    int fd; /* -1: none */
    unsigned long long dev, ino;
    unsigned mode;
    int access;
} hk_kept_fd;
/* Record fd's identity in *k; false (k->fd = -1) when fd is not open. */
bool hk_fd_keep(hk_kept_fd *k, int fd);
/* k->fd is open and still the file it was when kept. */
bool hk_fd_same(const hk_kept_fd *k);

/* Where hakmem's lines go: fd 2 whenever it is open (whatever the program made its stderr);
 * when the program has closed fd 2 (coreutils do in their atexit handlers), the duplicate of
 * stderr kept at init (hk_log_keep_stderr) if it is still the same open file; else -1 (the
 * line is lost, and counted). */
int hk_log_fd(void);
/* Keep a duplicate of stderr (for HAKMEM_STATS=1 and divergence reports, written at exit). */
void hk_log_keep_stderr(void);
/* Lines lost because no descriptor could be trusted. */
uint64_t hk_log_lost(void);
/* write(2) the whole buffer, retrying on EINTR and short writes; returns 0 or -1. */
int hk_write_all(int fd, const char *buf, size_t len);

#endif
