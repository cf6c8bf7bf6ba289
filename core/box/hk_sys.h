/* hk_sys.h: the OS primitives hakmem uses, in one place.
 *
 * Every mmap, munmap, mremap, madvise and mprotect of hakmem goes through these wrappers (the
 * block engine's arena and the mmap box alike), and so does every file operation of the
 * differential mode's record storage and reports (open, ftruncate, a shared file mapping,
 * fsync, rename, unlink, stat, readlink, getrandom), so that the failure of any of them can be
 * handled, counted and, in test builds, injected. They never allocate and never log; each
 * returns what the system call returns (-1 or MAP_FAILED with errno on failure).
 */
#ifndef HK_SYS_H
#define HK_SYS_H

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hk_internal.h"

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
int hk_sys_close(int fd);
ssize_t hk_sys_read(int fd, void *buf, size_t len);
ssize_t hk_sys_pwrite(int fd, const void *buf, size_t len, off_t off);
int hk_sys_ftruncate(int fd, off_t len);
/* Reserve the blocks of the first len bytes of fd (fallocate(2) mode 0). */
int hk_sys_fallocate(int fd, off_t len);
int hk_sys_fsync(int fd);
int hk_sys_fstat(int fd, struct stat *st);
int hk_sys_lstat(const char *path, struct stat *st);
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
/* End the process now with status (exit_group(2), what _exit does). */
HK_NORETURN void hk_sys_exit_group(int status);
/* n random bytes from the kernel (getrandom(2), no blocking); 0, or -1 with errno. */
int hk_sys_getrandom(void *buf, size_t n);
/* The host's name (uname(2)'s nodename) into buf, NUL-terminated; 0, or -1 with errno. */
int hk_sys_hostname(char *buf, size_t len);

#endif
