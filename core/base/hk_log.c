/* hk_log.c: malloc-free formatting and output (see hk_log.h). */
#include "hk_log.h"
#include "hk_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *buf;
    size_t cap, len;
} hk_out;

static void out_ch(hk_out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void out_str(hk_out *o, const char *s)
{
    if (!s)
        s = "(null)";
    while (*s)
        out_ch(o, *s++);
}

static void out_num(hk_out *o, unsigned long long v, unsigned base, bool neg)
{
    char tmp[32];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        out_ch(o, '-');
    while (n)
        out_ch(o, tmp[--n]);
}

static bool hide_addresses;

void hk_log_hide_addresses(bool hide) { hide_addresses = hide; }

size_t hk_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    hk_out o = {buf, cap, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_ch(&o, *f);
            continue;
        }
        f++;
        bool left = false, zero = false;
        for (; *f == '-' || *f == '0'; f++)
            *(*f == '-' ? &left : &zero) = true;
        int width = 0;
        for (; *f >= '0' && *f <= '9'; f++)
            width = width * 10 + (*f - '0');
        int lng = 0; /* 0 int, 1 long, 2 long long, 3 size_t */
        while (*f == 'l' || *f == 'z') {
            lng = (*f == 'z') ? 3 : lng + 1;
            f++;
        }
        /* Format the field alone, then pad it. */
        char fld[40];
        hk_out t = {fld, sizeof fld, 0};
        const char *str = NULL;
        switch (*f) {
        case 's':
            str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            break;
        case 'c': out_ch(&t, (char)va_arg(ap, int)); break;
        case 'd': {
            long long v = lng == 0   ? va_arg(ap, int)
                          : lng == 1 ? va_arg(ap, long)
                          : lng == 2 ? va_arg(ap, long long)
                                     : (long long)va_arg(ap, ssize_t);
            out_num(&t, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = lng == 0   ? va_arg(ap, unsigned)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                   : lng == 2 ? va_arg(ap, unsigned long long)
                                              : va_arg(ap, size_t);
            out_num(&t, v, *f == 'x' ? 16 : 10, false);
            break;
        }
        case 'p':
            if (hide_addresses) { /* a secure-execution process: see hk_log_hide_addresses */
                (void)va_arg(ap, void *);
                out_str(&t, "(address hidden)");
                break;
            }
            out_str(&t, "0x");
            out_num(&t, (uintptr_t)va_arg(ap, void *), 16, false);
            break;
        case '%': out_ch(&t, '%'); break;
        case '\0': f--; break;
        default:
            out_ch(&t, '%');
            out_ch(&t, *f);
            break;
        }
        size_t len = str ? strlen(str) : (t.len < sizeof fld ? t.len : sizeof fld - 1);
        if (!str)
            str = fld;
        int pad = width > (int)len ? width - (int)len : 0;
        if (!left)
            for (; pad > 0; pad--)
                out_ch(&o, zero ? '0' : ' ');
        for (size_t i = 0; i < len; i++)
            out_ch(&o, str[i]);
        for (; pad > 0; pad--)
            out_ch(&o, ' ');
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len < cap ? o.len : (cap ? cap - 1 : 0);
}

size_t hk_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = hk_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

int hk_write_all(int fd, const char *buf, size_t len)
{
    /* A pipe whose reader is gone (a program's stderr into `| head`) must cost hakmem's line,
     * not the program's life: SIGPIPE is blocked around the write, and the one this write
     * raised (none was pending before) is taken back before the mask is restored. */
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    bool blocked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0;
    bool was_pending = blocked && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    int rc = 0;
    while (len) {
        ssize_t w = hk_sys_write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        buf += w;
        len -= (size_t)w;
    }
    if (blocked) {
        int saved = errno;
        if (rc != 0 && saved == EPIPE && !was_pending) {
            static const struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR)
                ;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = saved;
    }
    return rc;
}

bool hk_fd_keep(hk_kept_fd *k, int fd)
{
    struct stat st;
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (fl < 0 || hk_sys_fstat(fd, &st) != 0) {
        k->fd = -1;
        return false;
    }
    k->fd = fd;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    k->mode = st.st_mode & S_IFMT;
    k->access = fl & O_ACCMODE;
    return true;
}

bool hk_fd_same(const hk_kept_fd *k)
{
    hk_kept_fd now;
    return k->fd >= 0 && hk_fd_keep(&now, k->fd) && now.dev == k->dev && now.ino == k->ino &&
           now.mode == k->mode && now.access == k->access;
}

static hk_kept_fd kept_stderr = {-1, 0, 0, 0, 0};
static _Atomic uint64_t lost_lines;

void hk_log_keep_stderr(void)
{
    if (kept_stderr.fd >= 0)
        return;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0 && !hk_fd_keep(&kept_stderr, fd))
        close(fd);
}

int hk_log_fd(void)
{
    if (fcntl(2, F_GETFD) != -1)
        return 2;
    if (hk_fd_same(&kept_stderr))
        return kept_stderr.fd;
    atomic_fetch_add_explicit(&lost_lines, 1, memory_order_relaxed);
    return -1;
}

uint64_t hk_log_lost(void) { return atomic_load(&lost_lines); }

static void hk_vprefixed(const char *prefix, const char *fmt, va_list ap)
{
    char line[512];
    int saved = errno;
    size_t n = hk_fmt(line, sizeof line, "%s", prefix);
    n += hk_vfmt(line + n, sizeof line - n - 1, fmt, ap);
    line[n++] = '\n';
    int fd = hk_log_fd();
    if (fd >= 0)
        (void)hk_write_all(fd, line, n);
    errno = saved;
}

void hk_dprintf(int fd, const char *fmt, ...)
{
    char line[1024];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    size_t n = hk_vfmt(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)hk_write_all(fd, line, n);
    errno = saved;
}

void hk_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hk_vprefixed("hakmem: warning: ", fmt, ap);
    va_end(ap);
}

/* Coverage builds (--enable-code-coverage: libgcov linked): write the counters out before
 * abort(), which skips the exit handlers that would, so that the fail-closed paths the death
 * tests take are measured. (A #if, not a config_ bool: other builds have no __gcov_dump.) */
#if HAKMEM_COVERAGE
void __gcov_dump(void);
#endif

void hk_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hk_vprefixed("hakmem: ", fmt, ap);
    va_end(ap);
#if HAKMEM_COVERAGE
    __gcov_dump();
#endif
    abort();
}

void hk_assert_fail(const char *expr, const char *file, int line)
{
    hk_fatal("internal assertion failed: %s (%s:%d)", expr, file, line);
}
