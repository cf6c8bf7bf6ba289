/* malloc_wrap.c: the malloc family exported by libhakmem.so, so that
 * LD_PRELOAD=libhakmem.so replaces the process's allocator. Each symbol passes its caller's
 * return address as the call site. Only the shared library has this file; the unit tests
 * link the core without it and keep glibc's malloc for Check itself.
 *
 * glibc's introspection calls (malloc_info, malloc_stats, mallinfo, mallopt) are answered
 * by hakmem (front/introspect.c), so that a program asking its allocator gets hakmem's figures,
 * not those of glibc's unused heap.
 *
 * Also _exit and _Exit: a process that ends by _exit (shells' children do) runs no exit
 * handler, so the differential record is told here that the end was deliberate before
 * exit_group(2) ends the process, as glibc's _exit does (glibc's own exit() calls its
 * internal _exit, not this one).
 *
 * And the exec family, in the shared library (LD_PRELOAD, or a program linked with it): an
 * image replaced by exec leaves a record that no exit handler completes; when the next
 * program does not load hakmem (a static or setuid program, or one run without LD_PRELOAD),
 * nothing would say so, and once it ends the record would look like a crash. Each call that
 * can succeed (it names a regular file with an execute bit, found on PATH for the p
 * variants) marks the record ended by exec, calls the C library's own (glibc's exec functions
 * call its internal execve, not an interposed one, so each is wrapped), and marks the record
 * running again when that returns. A call that surely fails is not marked, so a program that
 * retries one, or is killed while it does, is not taken for exec'd; what the kernel may still
 * refuse after the check (a bad binary, E2BIG) leaves the record exec'd for as long as the
 * call lasts. No allocation: a vfork child may call them. The static library has none of
 * them (dlsym finds no C library function behind them in a static program).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hk_front.h"
#include "hk_sys.h"

#define HK_EXPORT __attribute__((visibility("default")))

HK_EXPORT void *malloc(size_t size) { return hk_front_malloc(size, HK_CALLER); }
HK_EXPORT void free(void *p) { hk_front_free(p); }
HK_EXPORT void *calloc(size_t n, size_t size) { return hk_calloc_at(n, size, HK_CALLER); }
HK_EXPORT void *realloc(void *p, size_t size) { return hk_realloc_at(p, size, HK_CALLER); }
HK_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    return hk_reallocarray_at(p, n, size, HK_CALLER);
}
HK_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    return hk_posix_memalign_at(out, align, size, HK_CALLER);
}
HK_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return hk_aligned_alloc_at(align, size, HK_CALLER);
}
HK_EXPORT void *memalign(size_t align, size_t size)
{
    return hk_memalign_at(align, size, HK_CALLER);
}
HK_EXPORT void *valloc(size_t size) { return hk_valloc_at(size, HK_CALLER); }
HK_EXPORT void *pvalloc(size_t size) { return hk_pvalloc_at(size, HK_CALLER); }
HK_EXPORT size_t malloc_usable_size(void *p) { return hak_malloc_usable_size(p); }
HK_EXPORT void free_sized(void *p, size_t size) { hak_free_sized(p, size); }
HK_EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
    hak_free_aligned_sized(p, align, size);
}
HK_EXPORT int malloc_trim(size_t pad) { return hak_malloc_trim(pad); }
HK_EXPORT void _exit(int status) { hk_quick_exit(status); }
HK_EXPORT void _Exit(int status) { hk_quick_exit(status); }
HK_EXPORT struct mallinfo2 mallinfo2(void) { return hak_mallinfo2(); }
HK_EXPORT struct mallinfo mallinfo(void) { return hak_mallinfo(); }
HK_EXPORT int malloc_info(int options, FILE *fp) { return hak_malloc_info(options, fp); }
HK_EXPORT void malloc_stats(void) { hak_malloc_stats(); }
HK_EXPORT int mallopt(int param, int value) { return hak_mallopt(param, value); }

/* ---------------------------------------------------------------- exec */
#ifdef PIC /* libtool's flag for the shared library's objects */

typedef int (*exec_fn)(const char *, char *const[], char *const[]);
typedef int (*fexec_fn)(int, char *const[], char *const[]);
typedef int (*execat_fn)(int, const char *, char *const[], char *const[], int);
static void *real_execve, *real_execvpe, *real_fexecve, *real_execveat;

/* The C library's function `name` (looked up once; a failed lookup is tried again). */
static void *real(void **slot, const char *name)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!f && (f = dlsym(RTLD_NEXT, name)) != NULL)
        __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    return f;
}

/* Resolved at load, so that a vfork child need not call dlsym. */
__attribute__((constructor)) static void exec_resolve(void)
{
    (void)real(&real_execve, "execve");
    (void)real(&real_execvpe, "execvpe");
    (void)real(&real_fexecve, "fexecve");
    (void)real(&real_execveat, "execveat");
}

/* Can exec run what dirfd/path (fstatat flags) names: a regular file with an execute bit? */
static bool runnable_at(int dirfd, const char *path, int flags)
{
    struct stat st;
    return hk_sys_fstatat(dirfd, path, &st, flags) == 0 && S_ISREG(st.st_mode) &&
           (st.st_mode & 0111);
}

/* ... file, searched for as execvp does (the caller's PATH; an empty entry is the current
 * directory; /bin:/usr/bin without PATH). */
static bool runnable_on_path(const char *file)
{
    if (!*file)
        return false;
    if (strchr(file, '/'))
        return runnable_at(AT_FDCWD, file, 0);
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    size_t fl = strlen(file);
    char buf[PATH_MAX];
    for (const char *p = path;;) {
        const char *e = strchrnul(p, ':');
        size_t dl = (size_t)(e - p);
        if (dl + fl + 3 <= sizeof buf) {
            if (dl == 0)
                buf[dl++] = '.';
            else
                memcpy(buf, p, dl);
            buf[dl] = '/';
            memcpy(buf + dl + 1, file, fl + 1);
            if (runnable_at(AT_FDCWD, buf, 0))
                return true;
        }
        if (!*e)
            return false;
        p = e + 1;
    }
}

/* After an exec that returned: the record running again, errno as the exec left it. */
static int exec_returned(bool marked, int r)
{
    if (marked) {
        int e = errno;
        hk_exec_failed();
        errno = e;
    }
    return r;
}

static int exec_path(bool search, const char *file, char *const argv[], char *const envp[])
{
    exec_fn f = (exec_fn)real(search ? &real_execvpe : &real_execve, search ? "execvpe" : "execve");
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    bool marked = (search ? runnable_on_path(file) : runnable_at(AT_FDCWD, file, 0)) &&
                  hk_exec_begin();
    return exec_returned(marked, f(file, argv, envp));
}

HK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return exec_path(false, path, argv, envp);
}
HK_EXPORT int execv(const char *path, char *const argv[])
{
    return exec_path(false, path, argv, environ);
}
HK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return exec_path(true, file, argv, envp);
}
HK_EXPORT int execvp(const char *file, char *const argv[])
{
    return exec_path(true, file, argv, environ);
}
HK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    fexec_fn f = (fexec_fn)real(&real_fexecve, "fexecve");
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    bool marked = runnable_at(fd, "", AT_EMPTY_PATH) && hk_exec_begin();
    return exec_returned(marked, f(fd, argv, envp));
}
HK_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    execat_fn f = (execat_fn)real(&real_execveat, "execveat");
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    bool marked = runnable_at(dirfd, path, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) &&
                  hk_exec_begin();
    return exec_returned(marked, f(dirfd, path, argv, envp, flags));
}

/* execl, execlp, execle: the arguments up to the NULL into an array on the stack (as glibc
 * does), then (execle) the environment after it. */
static int exec_list(bool search, bool with_env, const char *file, const char *arg, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    size_t n = 0;
    if (arg)
        for (n = 1; va_arg(aq, char *); n++)
            ;
    va_end(aq);
    char *argv[n + 1];
    argv[0] = (char *)arg;
    for (size_t i = 1; i <= n; i++) /* the last one read is the NULL */
        argv[i] = va_arg(ap, char *);
    char *const *envp = with_env ? va_arg(ap, char *const *) : environ;
    return exec_path(search, file, argv, envp);
}

#define EXEC_LIST(search, with_env)                                                                \
    va_list ap;                                                                                    \
    va_start(ap, arg);                                                                             \
    int r = exec_list(search, with_env, file, arg, ap);                                            \
    va_end(ap);                                                                                    \
    return r

HK_EXPORT int execl(const char *file, const char *arg, ...) { EXEC_LIST(false, false); }
HK_EXPORT int execlp(const char *file, const char *arg, ...) { EXEC_LIST(true, false); }
HK_EXPORT int execle(const char *file, const char *arg, ...) { EXEC_LIST(false, true); }
#endif
