/* hk_fileio.c: safe report and log files (see hk_fileio.h). */
#define _GNU_SOURCE
#include "hk_fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hk_log.h"
#include "hk_site.h"
#include "hk_sys.h"

bool hk_path_absolute(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (in[0] == '/') {
        if (n >= cap)
            return false;
        memcpy(out, in, n + 1);
        return true;
    }
    if (hk_sys_getcwd(out, cap) != 0)
        return false;
    size_t c = strlen(out);
    if (c + 1 + n >= cap)
        return false;
    out[c] = '/';
    memcpy(out + c + 1, in, n + 1);
    return true;
}

bool hk_path_expand(const char *tmpl, int pid, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = tmpl; *s; s++) {
        char num[24];
        const char *piece = s;
        size_t len = 1;
        if (s[0] == '%' && s[1] == 'p') {
            len = hk_fmt(num, sizeof num, "%d", pid);
            piece = num;
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            s++; /* %%: one '%' (a directory named with a '%p' in it) */
        }
        if (n + len >= cap)
            return false;
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return n > 0;
}

const char *hk_path_abbrev(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    if (n < 160 || cap < 128)
        return path;
    hk_fmt(buf, cap, "%s", path);
    buf[80] = '\0';
    hk_fmt(buf + 80, cap - 80, "...(%zu bytes)...%s", n, path + n - 40);
    return buf;
}

const char *hk_errname(int e, char *buf, size_t cap)
{
    /* a two-column table, aligned by hand */
    /* clang-format off */
    static const struct {
        int e;
        const char *name;
    } names[] = {
        {ENOENT, "ENOENT: no such file or directory"}, {EACCES, "EACCES: permission denied"},
        {EPERM, "EPERM: operation not permitted"},     {ENOTDIR, "ENOTDIR: not a directory"},
        {EISDIR, "EISDIR: is a directory"},            {ENOSPC, "ENOSPC: no space left"},
        {EROFS, "EROFS: read-only file system"},       {EEXIST, "EEXIST: file exists"},
        {ELOOP, "ELOOP: symbolic link"},               {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENXIO, "ENXIO: no reader"},                   {EFBIG, "EFBIG: file too large"},
        {EDQUOT, "EDQUOT: quota exceeded"},            {EIO, "EIO: I/O error"},
        {ENOMEM, "ENOMEM: out of memory"},             {EMFILE, "EMFILE: too many open files"},
        {EINVAL, "EINVAL: invalid argument"},          {EBADF, "EBADF: bad file descriptor"},
        {EXDEV, "EXDEV: cross-device"},                {EBUSY, "EBUSY: busy"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].e == e)
            return names[i].name;
    hk_fmt(buf, cap, "errno %d", e);
    return buf;
}

uint64_t hk_random64(void)
{
    uint64_t r;
    if (hk_sys_getrandom(&r, sizeof r) == 0)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    static _Atomic uint64_t ctr;
    return hk_mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)getpid() << 17 ^
                    (uintptr_t)&r ^ ++ctr * 0x9E3779B97F4A7C15ULL);
}

/* dir/.base.<16 hex>.tmp beside path */
static bool temp_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    uint64_t r = hk_random64();
    char tail[48];
    size_t tl = hk_fmt(tail, sizeof tail, ".%lx%lx.tmp", (unsigned long)(r >> 32),
                       (unsigned long)(r & 0xffffffffu));
    size_t bl = strlen(base);
    if (dirlen + 1 + bl + tl + 1 > cap)
        return false;
    memcpy(out, path, dirlen);
    out[dirlen] = '.';
    memcpy(out + dirlen + 1, base, bl);
    memcpy(out + dirlen + 1 + bl, tail, tl + 1);
    return true;
}

/* Refuse what must not be written or replaced; 1: write into it (FIFO, character device),
 * 0: replace or create, -1: refused. */
static int classify(const char *path, const char **why, int *err)
{
    struct stat st;
    if (hk_sys_lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        *why = "cannot look at the path";
        *err = errno;
        return -1;
    }
    *err = 0;
    if (S_ISREG(st.st_mode))
        return 0;
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
        return 1;
    *why = S_ISLNK(st.st_mode)   ? "it is a symbolic link (not followed, not replaced)"
           : S_ISDIR(st.st_mode) ? "it is a directory"
           : S_ISBLK(st.st_mode) ? "it is a block device (not written)"
                                 : "it is not a regular file (not replaced)";
    return -1;
}

/* A FIFO or character device: open without creating and without blocking. */
static int open_into(const char *path, int extra, const char **why, int *err)
{
    int fd = hk_sys_open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | extra,
                         0);
    if (fd < 0) {
        *err = errno;
        *why = errno == ENXIO ? "it is a FIFO with no reader" : "cannot open it";
        return -1;
    }
    struct stat st;
    if (hk_sys_fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
        hk_sys_close(fd); /* replaced under our feet: leave it alone */
        *err = 0;
        *why = "it changed while being opened";
        return -1;
    }
    hk_sys_setfl(fd, O_WRONLY | extra); /* blocking writes from here on */
    return fd;
}

bool hk_file_write(const char *path, hk_file_writer fn, void *arg, const char **why, int *err)
{
    int kind = classify(path, why, err);
    if (kind < 0)
        return false;
    if (kind == 1) {
        int fd = open_into(path, 0, why, err);
        if (fd < 0)
            return false;
        bool ok = fn(fd, arg);
        int e = errno;
        ok = hk_sys_close(fd) == 0 && ok;
        if (!ok) {
            *err = e;
            *why = "writing into it failed";
        }
        return ok;
    }
    char tmp[HK_PATH_MAX];
    int fd = -1;
    for (int i = 0; i < 8 && fd < 0; i++) {
        if (!temp_name(path, tmp, sizeof tmp)) {
            *err = ENAMETOOLONG;
            *why = "the path is too long";
            return false;
        }
        fd = hk_sys_open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) {
            *err = errno;
            *why = "cannot create a temporary file beside it";
            return false;
        }
    }
    if (fd < 0) {
        *err = EEXIST;
        *why = "cannot create a temporary file beside it";
        return false;
    }
    /* Written whole, or not at all: a full disk leaves the previous report in place. */
    bool ok = fn(fd, arg);
    int e = errno;
    if (ok && hk_sys_fsync(fd) != 0 && errno != EINVAL) {
        ok = false;
        e = errno;
    }
    if (hk_sys_close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        *err = e;
        *why = "writing failed";
        hk_sys_unlink(tmp);
        return false;
    }
    if (classify(path, why, err) != 0) { /* turned into something else meanwhile */
        hk_sys_unlink(tmp);
        return false;
    }
    if (hk_sys_rename(tmp, path) != 0) {
        *err = errno;
        *why = "cannot rename the temporary file over it";
        hk_sys_unlink(tmp);
        return false;
    }
    return true;
}

int hk_file_open_append(const char *path, const char **why, int *err)
{
    int kind = classify(path, why, err);
    if (kind < 0)
        return -1;
    if (kind == 1)
        return open_into(path, O_APPEND, why, err);
    int fd = hk_sys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = errno;
        *why = "cannot open it";
    }
    return fd;
}
