/* hk_sys.h: the OS primitives hakmem uses, in one place.
 *
 * Every mmap, munmap, mremap, madvise and mprotect of hakmem goes through these wrappers (the
 * block engine's arena and the mmap box alike), and so does every file operation of the
 * differential mode's record storage and reports (open, ftruncate, a shared file mapping,
 * write, fsync, rename, unlink, stat, readlink, getrandom), so that the failure of any of
 * them can be handled, counted and, in test builds, injected. They never allocate and never
 * log; each returns what the system call returns (-1 or MAP_FAILED with errno on failure).
 *
 * Accounting: hk_sys_mapped_bytes() is what hakmem believes it has mapped (every successful
 * mmap adds, munmap subtracts, mremap moves the difference), so that tests can hold it
 * against /proc/self/maps; hk_sys_failures(prim) counts the calls the OS refused.
 *
 * Fault injection (SQLite's faultsim): in a build with config_fault_injection
 * (./configure --enable-fault-injection, or HK_FAULT_INJECTION=1 for the test library), the
 * Nth call of a primitive from now on fails as the OS would fail it (the row's errno), once
 * or for every later call too. Each primitive is one row of HK_SYS_PRIMITIVES: a wrapper
 * added for another OS call gets injection, counting and a name by adding its row and
 * starting with `if (hk_sys_fail(HK_SYS_<ID>)) return <failure>;`. Without the option,
 * hk_sys_fail is a constant false and compiles away.
 */
#ifndef HK_SYS_H
#define HK_SYS_H

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hk_internal.h"

#ifndef HK_FAULT_INJECTION
#define HK_FAULT_INJECTION HAKMEM_CONFIG_FAULT_INJECTION
#endif
static const bool config_fault_injection = HK_FAULT_INJECTION;

/* X(id, name, errno an injected failure sets) */
#define HK_SYS_PRIMITIVES(X)                                                                       \
    X(MMAP, "mmap", ENOMEM)                                                                        \
    X(MUNMAP, "munmap", ENOMEM)                                                                    \
    X(MREMAP, "mremap", ENOMEM)                                                                    \
    X(MADVISE, "madvise", EAGAIN)                                                                  \
    X(MPROTECT, "mprotect", ENOMEM)                                                                \
    X(MMAP_FILE, "mmap_file", ENOMEM)                                                              \
    X(MMAP_ANON_AT, "mmap_anon_at", ENOMEM)                                                        \
    X(OPEN, "open", EMFILE)                                                                        \
    X(CLOSE, "close", EIO)                                                                         \
    X(READ, "read", EIO)                                                                           \
    X(WRITE, "write", ENOSPC)                                                                      \
    X(PWRITE, "pwrite", ENOSPC)                                                                    \
    X(FTRUNCATE, "ftruncate", EIO)                                                                 \
    X(FALLOCATE, "fallocate", ENOSPC)                                                              \
    X(FSYNC, "fsync", EIO)                                                                         \
    X(FSTAT, "fstat", EIO)                                                                         \
    X(LSTAT, "lstat", EACCES)                                                                      \
    X(FSTATAT, "fstatat", EIO)                                                                     \
    X(RENAME, "rename", EIO)                                                                       \
    X(RENAME_NOREPLACE, "rename_noreplace", EIO)                                                   \
    X(UNLINK, "unlink", EIO)                                                                       \
    X(READLINK, "readlink", EACCES)                                                                \
    X(GETCWD, "getcwd", EACCES)                                                                    \
    X(SETFL, "setfl", EINVAL)                                                                      \
    X(GETRANDOM, "getrandom", ENOSYS)                                                              \
    X(HOSTNAME, "hostname", EFAULT)

typedef enum {
#define HK_SYS_ENUM(id, name, err) HK_SYS_##id,
    HK_SYS_PRIMITIVES(HK_SYS_ENUM)
#undef HK_SYS_ENUM
        HK_SYS_COUNT
} hk_sys_prim;

/* A private anonymous mapping (MAP_FAILED and errno on failure). */
void *hk_sys_mmap(size_t len, int prot, int flags);
int hk_sys_munmap(void *p, size_t len);
/* mremap(2) with MREMAP_MAYMOVE (MAP_FAILED and errno on failure). */
void *hk_sys_mremap(void *p, size_t old_len, size_t new_len);
int hk_sys_madvise(void *p, size_t len, int advice);
int hk_sys_mprotect(void *p, size_t len, int prot);

/* A read-write MAP_SHARED mapping of the first len bytes of file fd; at exactly `at` (replacing
 * whatever was mapped there, MAP_FIXED) when at is not NULL. */
void *hk_sys_mmap_file(void *at, size_t len, int fd);
/* A private anonymous read-write mapping at exactly `at` (MAP_FIXED), replacing what was there. */
void *hk_sys_mmap_anon_at(void *at, size_t len);

/* Files. */
int hk_sys_open(const char *path, int flags, mode_t mode);
/* close(2): the descriptor is released even when it reports a failure (as Linux does). */
int hk_sys_close(int fd);
ssize_t hk_sys_read(int fd, void *buf, size_t len);
ssize_t hk_sys_write(int fd, const void *buf, size_t len);
ssize_t hk_sys_pwrite(int fd, const void *buf, size_t len, off_t off);
int hk_sys_ftruncate(int fd, off_t len);
/* Reserve the blocks of the first len bytes of fd (fallocate(2) mode 0). */
int hk_sys_fallocate(int fd, off_t len);
int hk_sys_fsync(int fd);
int hk_sys_fstat(int fd, struct stat *st);
int hk_sys_lstat(const char *path, struct stat *st);
/* fstatat(2); a path that is not there, or not reachable, is an answer, not a failure. */
int hk_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int hk_sys_rename(const char *from, const char *to);
/* rename(2) that never replaces `to` (renameat2 RENAME_NOREPLACE; where the kernel or the file
 * system lacks it, link(2) then unlink(2)): -1 with EEXIST when `to` exists. */
int hk_sys_rename_noreplace(const char *from, const char *to);
int hk_sys_unlink(const char *path);
ssize_t hk_sys_readlink(const char *path, char *buf, size_t len);
/* The working directory into buf (getcwd(2)); 0, or -1 with errno. */
int hk_sys_getcwd(char *buf, size_t len);
/* fcntl(fd, F_SETFL, flags) */
int hk_sys_setfl(int fd, int flags);
/* End the process now with status (exit_group(2), what _exit does). Never fails. */
HK_NORETURN void hk_sys_exit_group(int status);
/* n random bytes from the kernel (getrandom(2), no blocking); 0, or -1 with errno. */
int hk_sys_getrandom(void *buf, size_t n);
/* The host's name (uname(2)'s nodename) into buf, NUL-terminated; 0, or -1 with errno. */
int hk_sys_hostname(char *buf, size_t len);

/* munmap, and when the OS refuses (ENOMEM at vm.max_map_count, when the range splits a
 * mapping), keep the range on a short list and unmap it at the next hk_sys_release_retry()
 * (malloc_trim). For ranges nobody may write to (the arena's PROT_NONE reservation); the
 * mmap box keeps its own regions (hk_mmap.c). Returns 0, or -1 when the range was kept. */
int hk_sys_release(void *p, size_t len);
/* Retry the ranges kept by hk_sys_release; returns the bytes unmapped now. */
size_t hk_sys_release_retry(void);
/* Bytes kept by hk_sys_release and not yet unmapped. */
size_t hk_sys_release_pending(void);

/* fork: the deferred list's lock (the child releases it with the parent's handler). */
void hk_sys_atfork_prepare(void);
void hk_sys_atfork_parent(void);

size_t hk_sys_mapped_bytes(void);
uint64_t hk_sys_failures(hk_sys_prim prim);
const char *hk_sys_name(hk_sys_prim prim);

/* ---- fault injection (inert unless config_fault_injection) ---- */

/* Make the nth call of prim from now on fail (nth >= 1), and every later one too when
 * persist; nth == 0 disarms prim. Resets prim's call and injection counts. */
void hk_fault_arm(hk_sys_prim prim, uint64_t nth, bool persist);
void hk_fault_disarm_all(void);
/* Calls of prim since it was last armed, and how many of them failed by injection. */
uint64_t hk_fault_calls(hk_sys_prim prim);
uint64_t hk_fault_injected(hk_sys_prim prim);
/* Arm from text: "PRIM:N" or "PRIM:N:persist", comma-separated (HAKMEM_FAULT). False on a
 * malformed spec (the rows before it stay armed). */
bool hk_fault_arm_spec(const char *spec);
/* The primitive named `name` (its row's name), or HK_SYS_COUNT. */
hk_sys_prim hk_sys_by_name(const char *name, size_t len);

bool hk_fault_fire(hk_sys_prim prim);
/* True when this call of prim must fail (errno is set to the row's errno). */
HK_INLINE bool hk_sys_fail(hk_sys_prim prim)
{
    return config_fault_injection && HK_UNLIKELY(hk_fault_fire(prim));
}

#endif
