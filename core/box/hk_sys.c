/* hk_sys.c: the OS primitives (see hk_sys.h). */
#define _GNU_SOURCE
#include "hk_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

void *hk_sys_mmap(size_t len, int prot, int flags)
{
    return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

int hk_sys_munmap(void *p, size_t len) { return munmap(p, len); }

void *hk_sys_mremap(void *p, size_t old_len, size_t new_len)
{
    return mremap(p, old_len, new_len, MREMAP_MAYMOVE);
}

int hk_sys_madvise(void *p, size_t len, int advice) { return madvise(p, len, advice); }

int hk_sys_mprotect(void *p, size_t len, int prot) { return mprotect(p, len, prot); }

void *hk_sys_mmap_file(void *at, size_t len, int fd)
{
    return mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
}

void *hk_sys_mmap_anon_at(void *at, size_t len)
{
    return mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

int hk_sys_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

int hk_sys_close(int fd) { return close(fd); }

ssize_t hk_sys_read(int fd, void *buf, size_t len) { return read(fd, buf, len); }

ssize_t hk_sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return pwrite(fd, buf, len, off);
}

int hk_sys_ftruncate(int fd, off_t len) { return ftruncate(fd, len); }

int hk_sys_fallocate(int fd, off_t len) { return fallocate(fd, 0, 0, len); }

int hk_sys_fsync(int fd) { return fsync(fd); }

int hk_sys_fstat(int fd, struct stat *st) { return fstat(fd, st); }

int hk_sys_lstat(const char *path, struct stat *st) { return lstat(path, st); }

int hk_sys_rename(const char *from, const char *to) { return rename(from, to); }

int hk_sys_unlink(const char *path) { return unlink(path); }

int hk_sys_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

ssize_t hk_sys_readlink(const char *path, char *buf, size_t len)
{
    return readlink(path, buf, len);
}

int hk_sys_getcwd(char *buf, size_t len) { return getcwd(buf, len) ? 0 : -1; }

int hk_sys_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }

void hk_sys_exit_group(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

int hk_sys_getrandom(void *buf, size_t n)
{
    unsigned char *b = buf;
    while (n) {
        ssize_t r = getrandom(b, n, GRND_NONBLOCK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int hk_sys_hostname(char *buf, size_t len)
{
    struct utsname u;
    if (len == 0 || uname(&u) != 0)
        return -1;
    size_t n = strnlen(u.nodename, sizeof u.nodename);
    if (n >= len)
        n = len - 1;
    memcpy(buf, u.nodename, n);
    buf[n] = '\0';
    return 0;
}
