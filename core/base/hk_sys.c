/* hk_sys.c: the OS primitives, their accounting and fault injection (see hk_sys.h). */
#define _GNU_SOURCE
#include "hk_sys.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static const struct {
    const char *name;
    int err;
} prims[HK_SYS_COUNT] = {
#define HK_SYS_ROW(id, name, err) {name, err},
    HK_SYS_PRIMITIVES(HK_SYS_ROW)
#undef HK_SYS_ROW
};

static _Atomic int64_t mapped;                  /* bytes mapped through these wrappers */
static _Atomic uint64_t failures[HK_SYS_COUNT]; /* calls that failed, injected or not */

/* Fault injection state, per primitive: the call count since arming, the call to fail. */
static struct {
    _Atomic uint64_t calls, injected;
    _Atomic uint64_t nth; /* 0: disarmed */
    _Atomic bool persist;
} faults[HK_SYS_COUNT];

const char *hk_sys_name(hk_sys_prim prim) { return prims[prim].name; }
uint64_t hk_sys_failures(hk_sys_prim prim) { return atomic_load(&failures[prim]); }
size_t hk_sys_mapped_bytes(void) { return (size_t)atomic_load(&mapped); }

bool hk_fault_fire(hk_sys_prim prim)
{
    uint64_t nth = atomic_load_explicit(&faults[prim].nth, memory_order_relaxed);
    if (!nth)
        return false;
    uint64_t n = atomic_fetch_add_explicit(&faults[prim].calls, 1, memory_order_relaxed) + 1;
    if (n != nth && !(n > nth && atomic_load_explicit(&faults[prim].persist, memory_order_relaxed)))
        return false;
    atomic_fetch_add_explicit(&faults[prim].injected, 1, memory_order_relaxed);
    errno = prims[prim].err;
    return true;
}

void hk_fault_arm(hk_sys_prim prim, uint64_t nth, bool persist)
{
    atomic_store(&faults[prim].nth, 0);
    atomic_store(&faults[prim].calls, 0);
    atomic_store(&faults[prim].injected, 0);
    atomic_store(&faults[prim].persist, persist);
    atomic_store(&faults[prim].nth, nth);
}

void hk_fault_disarm_all(void)
{
    for (int i = 0; i < HK_SYS_COUNT; i++)
        atomic_store(&faults[i].nth, 0);
}

uint64_t hk_fault_calls(hk_sys_prim prim) { return atomic_load(&faults[prim].calls); }
uint64_t hk_fault_injected(hk_sys_prim prim) { return atomic_load(&faults[prim].injected); }

hk_sys_prim hk_sys_by_name(const char *name, size_t len)
{
    for (int i = 0; i < HK_SYS_COUNT; i++)
        if (strlen(prims[i].name) == len && memcmp(prims[i].name, name, len) == 0)
            return (hk_sys_prim)i;
    return HK_SYS_COUNT;
}

/* One "PRIM:N[:persist]" of [spec, end). */
static bool arm_one(const char *spec, const char *end)
{
    const char *c = memchr(spec, ':', (size_t)(end - spec));
    if (!c)
        return false;
    hk_sys_prim prim = hk_sys_by_name(spec, (size_t)(c - spec));
    uint64_t n = 0;
    const char *s = c + 1;
    for (; s < end && *s >= '0' && *s <= '9' && n < UINT64_MAX / 10; s++)
        n = n * 10 + (uint64_t)(*s - '0');
    bool persist = (size_t)(end - s) == 8 && memcmp(s, ":persist", 8) == 0;
    if (prim == HK_SYS_COUNT || n == 0 || (s < end && !persist))
        return false;
    hk_fault_arm(prim, n, persist);
    return true;
}

bool hk_fault_arm_spec(const char *spec)
{
    for (const char *s = spec;;) {
        const char *e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        if (!arm_one(s, e))
            return false;
        if (!*e)
            return true;
        s = e + 1;
    }
}

/* ---------------------------------------------------------------- the wrappers */

static void failed(hk_sys_prim prim)
{
    atomic_fetch_add_explicit(&failures[prim], 1, memory_order_relaxed);
}

void *hk_sys_mmap(size_t len, int prot, int flags)
{
    void *p = hk_sys_fail(HK_SYS_MMAP)
                  ? MAP_FAILED
                  : mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
        failed(HK_SYS_MMAP);
    else
        atomic_fetch_add_explicit(&mapped, (int64_t)len, memory_order_relaxed);
    return p;
}

int hk_sys_munmap(void *p, size_t len)
{
    int r = hk_sys_fail(HK_SYS_MUNMAP) ? -1 : munmap(p, len);
    if (r != 0)
        failed(HK_SYS_MUNMAP);
    else
        atomic_fetch_sub_explicit(&mapped, (int64_t)len, memory_order_relaxed);
    return r;
}

void *hk_sys_mremap(void *p, size_t old_len, size_t new_len)
{
    void *m = hk_sys_fail(HK_SYS_MREMAP) ? MAP_FAILED : mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
        failed(HK_SYS_MREMAP);
    else
        atomic_fetch_add_explicit(&mapped, (int64_t)new_len - (int64_t)old_len,
                                  memory_order_relaxed);
    return m;
}

int hk_sys_madvise(void *p, size_t len, int advice)
{
    int r = hk_sys_fail(HK_SYS_MADVISE) ? -1 : madvise(p, len, advice);
    if (r != 0)
        failed(HK_SYS_MADVISE);
    return r;
}

int hk_sys_mprotect(void *p, size_t len, int prot)
{
    int r = hk_sys_fail(HK_SYS_MPROTECT) ? -1 : mprotect(p, len, prot);
    if (r != 0)
        failed(HK_SYS_MPROTECT);
    return r;
}

/* A wrapper's result, counted: fails (-1 or the failure value) count in failures[prim]. */
#define COUNT_FAIL(prim, failed_if, expr)                                                          \
    do {                                                                                           \
        __typeof__(expr) r_ = (expr);                                                              \
        if (failed_if)                                                                             \
            failed(prim);                                                                          \
        return r_;                                                                                 \
    } while (0)

void *hk_sys_mmap_file(void *at, size_t len, int fd)
{
    void *p = hk_sys_fail(HK_SYS_MMAP_FILE)
                  ? MAP_FAILED
                  : mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
    if (p == MAP_FAILED)
        failed(HK_SYS_MMAP_FILE);
    else if (!at) /* at a fixed address it replaces a mapping already counted */
        atomic_fetch_add_explicit(&mapped, (int64_t)len, memory_order_relaxed);
    return p;
}

void *hk_sys_mmap_anon_at(void *at, size_t len)
{
    void *p = hk_sys_fail(HK_SYS_MMAP_ANON_AT)
                  ? MAP_FAILED
                  : mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                         -1, 0);
    if (p == MAP_FAILED)
        failed(HK_SYS_MMAP_ANON_AT);
    return p;
}

int hk_sys_open(const char *path, int flags, mode_t mode)
{
    int fd = hk_sys_fail(HK_SYS_OPEN) ? -1 : open(path, flags, mode);
    if (fd < 0)
        failed(HK_SYS_OPEN);
    return fd;
}

int hk_sys_close(int fd)
{
    int r = close(fd);
    if (r != 0 || hk_sys_fail(HK_SYS_CLOSE)) {
        failed(HK_SYS_CLOSE);
        return -1;
    }
    return 0;
}

ssize_t hk_sys_read(int fd, void *buf, size_t len)
{
    ssize_t r = hk_sys_fail(HK_SYS_READ) ? -1 : read(fd, buf, len);
    if (r < 0)
        failed(HK_SYS_READ);
    return r;
}

ssize_t hk_sys_write(int fd, const void *buf, size_t len)
{
    ssize_t r = hk_sys_fail(HK_SYS_WRITE) ? -1 : write(fd, buf, len);
    if (r < 0)
        failed(HK_SYS_WRITE);
    return r;
}

ssize_t hk_sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    ssize_t r = hk_sys_fail(HK_SYS_PWRITE) ? -1 : pwrite(fd, buf, len, off);
    if (r < 0)
        failed(HK_SYS_PWRITE);
    return r;
}

int hk_sys_ftruncate(int fd, off_t len)
{
    COUNT_FAIL(HK_SYS_FTRUNCATE, r_ != 0, hk_sys_fail(HK_SYS_FTRUNCATE) ? -1 : ftruncate(fd, len));
}

int hk_sys_fallocate(int fd, off_t len)
{
    COUNT_FAIL(HK_SYS_FALLOCATE, r_ != 0,
               hk_sys_fail(HK_SYS_FALLOCATE) ? -1 : fallocate(fd, 0, 0, len));
}

int hk_sys_fsync(int fd)
{
    COUNT_FAIL(HK_SYS_FSYNC, r_ != 0, hk_sys_fail(HK_SYS_FSYNC) ? -1 : fsync(fd));
}

int hk_sys_fstat(int fd, struct stat *st)
{
    COUNT_FAIL(HK_SYS_FSTAT, r_ != 0, hk_sys_fail(HK_SYS_FSTAT) ? -1 : fstat(fd, st));
}

int hk_sys_lstat(const char *path, struct stat *st)
{
    COUNT_FAIL(HK_SYS_LSTAT, r_ != 0 && errno != ENOENT, /* a path not there yet is an answer */
               hk_sys_fail(HK_SYS_LSTAT) ? -1 : lstat(path, st));
}

int hk_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    COUNT_FAIL(HK_SYS_FSTATAT, r_ != 0 && errno != ENOENT && errno != ENOTDIR && errno != EACCES,
               hk_sys_fail(HK_SYS_FSTATAT) ? -1 : fstatat(dirfd, path, st, flags));
}

int hk_sys_rename(const char *from, const char *to)
{
    COUNT_FAIL(HK_SYS_RENAME, r_ != 0, hk_sys_fail(HK_SYS_RENAME) ? -1 : rename(from, to));
}

int hk_sys_unlink(const char *path)
{
    COUNT_FAIL(HK_SYS_UNLINK, r_ != 0, hk_sys_fail(HK_SYS_UNLINK) ? -1 : unlink(path));
}

static int rename_noreplace(const char *from, const char *to)
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

int hk_sys_rename_noreplace(const char *from, const char *to)
{
    COUNT_FAIL(HK_SYS_RENAME_NOREPLACE, r_ != 0,
               hk_sys_fail(HK_SYS_RENAME_NOREPLACE) ? -1 : rename_noreplace(from, to));
}

ssize_t hk_sys_readlink(const char *path, char *buf, size_t len)
{
    COUNT_FAIL(HK_SYS_READLINK, r_ < 0,
               hk_sys_fail(HK_SYS_READLINK) ? (ssize_t)-1 : readlink(path, buf, len));
}

int hk_sys_getcwd(char *buf, size_t len)
{
    COUNT_FAIL(HK_SYS_GETCWD, r_ != 0,
               hk_sys_fail(HK_SYS_GETCWD) ? -1 : (getcwd(buf, len) ? 0 : -1));
}

int hk_sys_setfl(int fd, int flags)
{
    COUNT_FAIL(HK_SYS_SETFL, r_ != 0, hk_sys_fail(HK_SYS_SETFL) ? -1 : fcntl(fd, F_SETFL, flags));
}

void hk_sys_exit_group(int status)
{
    for (;;)
        syscall(SYS_exit_group, status);
}

static int getrandom_all(void *buf, size_t n)
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

int hk_sys_getrandom(void *buf, size_t n)
{
    COUNT_FAIL(HK_SYS_GETRANDOM, r_ != 0,
               hk_sys_fail(HK_SYS_GETRANDOM) ? -1 : getrandom_all(buf, n));
}

static int hostname(char *buf, size_t len)
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

int hk_sys_hostname(char *buf, size_t len)
{
    COUNT_FAIL(HK_SYS_HOSTNAME, r_ != 0, hk_sys_fail(HK_SYS_HOSTNAME) ? -1 : hostname(buf, len));
}

/* ---------------------------------------------------------------- deferred unmapping */

#define HK_SYS_PENDING 64
static struct {
    void *p;
    size_t len;
} pending[HK_SYS_PENDING];
static int npending;
static size_t pending_bytes;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;

int hk_sys_release(void *p, size_t len)
{
    if (hk_sys_munmap(p, len) == 0)
        return 0;
    pthread_mutex_lock(&pending_lock);
    if (npending < HK_SYS_PENDING) {
        pending[npending].p = p;
        pending[npending].len = len;
        npending++;
        pending_bytes += len;
    }
    /* A full list leaves the range reserved (no memory is behind it: these ranges are
     * PROT_NONE); it stays counted in hk_sys_mapped_bytes. */
    pthread_mutex_unlock(&pending_lock);
    return -1;
}

size_t hk_sys_release_retry(void)
{
    size_t released = 0;
    pthread_mutex_lock(&pending_lock);
    for (int i = 0; i < npending;) {
        if (hk_sys_munmap(pending[i].p, pending[i].len) == 0) {
            released += pending[i].len;
            pending_bytes -= pending[i].len;
            pending[i] = pending[--npending];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&pending_lock);
    return released;
}

void hk_sys_atfork_prepare(void) { pthread_mutex_lock(&pending_lock); }
void hk_sys_atfork_parent(void) { pthread_mutex_unlock(&pending_lock); }

size_t hk_sys_release_pending(void)
{
    pthread_mutex_lock(&pending_lock);
    size_t n = pending_bytes;
    pthread_mutex_unlock(&pending_lock);
    return n;
}
