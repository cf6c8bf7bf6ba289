/* check_faults.c: each OS failure path, one at a time and deterministically. Built against
 * the fault-injection build of the core (libhakmem_faults.la, HK_FAULT_INJECTION=1), so that
 * a test can make exactly the call it means fail (hk_fault_arm); tests/faultsim sweeps every
 * call of a whole workload instead.
 *   sys:     the injection table (specs, once / persist, counts), hk_sys_release and its retry,
 *            the mapped-bytes accounting;
 *   os:      munmap refused at free, at a cache eviction, at an aligned mapping's trim, at a
 *            cached region's shrink: the region is kept (counted, recognised as freed or
 *            invalid, reused, unmapped at the next malloc_trim); mremap refused at a resize
 *            and at a cached region's growth; mmap refused once (retried after a trim);
 *   slab:    mprotect refused at a segment commit (the box's requests go to the mmap box);
 *            madvise refused at malloc_trim;
 *   files:   the routing table's file (open, fstat, read refused), exec's fstatat;
 *   log:     a kept descriptor closed and its number reused is never written to; lines when
 *            fd 2 is closed.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_log.h"
#include "hk_slab.h"
#include "hk_stats.h"
#include "hk_sys.h"
#include "hk_table.h"
#include "hk_mmap.h"

#define MiB ((size_t)1024 * 1024)

static void setup(void)
{
    hk_init();
    hk_fault_disarm_all();
}

static void teardown(void)
{
    hk_fault_disarm_all();
    hak_malloc_trim(0);
}

/* ---------------------------------------------------------------- sys */

START_TEST(test_specs) {
    ck_assert(config_fault_injection);
    static const char *const good[] = {"mmap:1", "munmap:3:persist", "mremap:2,madvise:5",
                                       "mprotect:18446744073709551"};
    static const char *const bad[] = {"",       "mmap",     "mmap:",       "mmap:0",
                                      "mmap:x", "mmap:1:x", "nosuch:1",    "mmap:1:persistx",
                                      ":1",     "mmap:1,",  "mmap:1,,m:1", "mmap:-1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_msg(hk_fault_arm_spec(good[i]), "\"%s\" refused", good[i]);
        hk_fault_disarm_all();
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(!hk_fault_arm_spec(bad[i]), "\"%s\" accepted", bad[i]);
        hk_fault_disarm_all();
    }
    ck_assert_int_eq(hk_sys_by_name("mprotect", 8), HK_SYS_MPROTECT);
    ck_assert_int_eq(hk_sys_by_name("mprotec", 7), HK_SYS_COUNT);
    ck_assert_str_eq(hk_sys_name(HK_SYS_MREMAP), "mremap");
}
END_TEST

START_TEST(test_once_and_persist) {
    size_t m0 = hk_sys_mapped_bytes();
    uint64_t f0 = hk_sys_failures(HK_SYS_MMAP);
    hk_fault_arm(HK_SYS_MMAP, 2, false);
    void *a = hk_sys_mmap(4096, PROT_READ, 0);
    errno = 0;
    void *b = hk_sys_mmap(4096, PROT_READ, 0);
    ck_assert_ptr_eq(b, MAP_FAILED);
    ck_assert_int_eq(errno, ENOMEM);
    void *c = hk_sys_mmap(4096, PROT_READ, 0);
    ck_assert(a != MAP_FAILED && c != MAP_FAILED);
    ck_assert_uint_eq(hk_fault_calls(HK_SYS_MMAP), 3);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MMAP), 1);
    ck_assert_uint_eq(hk_sys_failures(HK_SYS_MMAP), f0 + 1);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + 8192);
    hk_fault_arm(HK_SYS_MUNMAP, 1, true);
    ck_assert_int_eq(hk_sys_munmap(a, 4096), -1);
    ck_assert_int_eq(hk_sys_munmap(a, 4096), -1);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MUNMAP), 2);
    hk_fault_disarm_all();
    ck_assert_int_eq(hk_sys_munmap(a, 4096), 0);
    ck_assert_int_eq(hk_sys_munmap(c, 4096), 0);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
    /* madvise and mprotect report their injected failures too */
    void *d = hk_sys_mmap(4096, PROT_READ | PROT_WRITE, 0);
    hk_fault_arm(HK_SYS_MADVISE, 1, false);
    ck_assert_int_eq(hk_sys_madvise(d, 4096, MADV_DONTNEED), -1);
    ck_assert_int_eq(errno, EAGAIN);
    hk_fault_arm(HK_SYS_MPROTECT, 1, false);
    ck_assert_int_eq(hk_sys_mprotect(d, 4096, PROT_READ), -1);
    hk_fault_arm(HK_SYS_MREMAP, 1, false);
    ck_assert_ptr_eq(hk_sys_mremap(d, 4096, 8192), MAP_FAILED);
    hk_fault_disarm_all();
    ck_assert_int_eq(hk_sys_munmap(d, 4096), 0);
}
END_TEST

START_TEST(test_release_retry) {
    enum { N = 70 }; /* more than the deferred list holds */
    void *p[N];
    size_t m0 = hk_sys_mapped_bytes();
    for (int i = 0; i < N; i++)
        ck_assert((p[i] = hk_sys_mmap(4096, PROT_NONE, 0)) != MAP_FAILED);
    hk_fault_arm(HK_SYS_MUNMAP, 1, true);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(hk_sys_release(p[i], 4096), -1);
    ck_assert_uint_eq(hk_sys_release_pending(), 64 * 4096); /* the list is full at 64 */
    ck_assert_uint_eq(hk_sys_release_retry(), 0);           /* still refused */
    hk_fault_disarm_all();
    ck_assert_uint_eq(hk_sys_release_retry(), 64 * 4096);
    ck_assert_uint_eq(hk_sys_release_pending(), 0);
    for (int i = 64; i < N; i++) /* the ones the full list could not hold stay mapped */
        ck_assert_int_eq(hk_sys_release(p[i], 4096), 0);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
}
END_TEST

/* ---------------------------------------------------------------- os */

START_TEST(test_free_munmap_refused) {
    hk_os_trim();
    hk_os_stats s0, s1;
    hk_os_get_stats(&s0);
    size_t m0 = hk_sys_mapped_bytes();
    void *p = hk_os_alloc(20 * MiB, 16); /* above the cache's largest region: unmapped at free */
    ck_assert_ptr_nonnull(p);
    hk_fault_arm(HK_SYS_MUNMAP, 1, true);
    ck_assert(hk_os_free(p));
    hk_os_get_stats(&s1);
    ck_assert_uint_eq(s1.bytes_kept - s0.bytes_kept, (20 * MiB + 4096));
    ck_assert_uint_eq(s1.bytes_mapped_now, s0.bytes_mapped_now);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + (20 * MiB + 4096)); /* still mapped, accounted */
    hk_ptr_info info;
    ck_assert_int_eq(hk_os_classify(p, &info), HK_PTR_FREED); /* a second free: double free */
    ck_assert_int_eq(info.why, HK_WHY_CACHED);
    ck_assert_int_eq(hk_os_classify((char *)p + 100, &info), HK_PTR_INVALID);
    /* still refused: malloc_trim keeps it */
    hk_os_trim();
    hk_os_get_stats(&s1);
    ck_assert_uint_eq(s1.bytes_kept - s0.bytes_kept, (20 * MiB + 4096));
    /* a request it fits is served from it (no new mapping), zero-filled (MADV_DONTNEED) */
    void *q = hk_os_alloc_dirty(20 * MiB, 16);
    ck_assert_ptr_eq(q, p);
    ck_assert(hk_os_fresh(q));
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + (20 * MiB + 4096));
    ck_assert(hk_os_free(q)); /* refused again: kept again */
    hk_fault_disarm_all();
    hk_os_trim();
    hk_os_get_stats(&s1);
    ck_assert_uint_eq(s1.bytes_kept, s0.bytes_kept);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
    ck_assert_int_eq(hk_os_classify(p, &info), HK_PTR_FREED); /* among the recently freed */
    ck_assert_int_eq(info.why, HK_WHY_RECENT);
}
END_TEST

START_TEST(test_evict_and_trim_refused) {
    hk_os_trim();
    size_t m0 = hk_sys_mapped_bytes();
    void *p[20];
    for (int i = 0; i < 20; i++)
        ck_assert_ptr_nonnull(p[i] = hk_os_alloc(2 * MiB, 16));
    hk_fault_arm(HK_SYS_MUNMAP, 1, true);
    for (int i = 0; i < 20; i++) /* the cache fills, and evicts: every munmap refused */
        ck_assert(hk_os_free(p[i]));
    hk_os_trim(); /* the cached ones cannot go either */
    hk_os_stats s;
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.bytes_cached, 0);
    ck_assert_uint_ge(s.bytes_kept, 20 * (2 * MiB + 4096));
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + s.bytes_kept);
    hk_fault_disarm_all();
    ck_assert_uint_ge(hk_os_trim(), 20 * 2 * MiB);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
}
END_TEST

/* Maps the kernel refuses teach the mmap box's cache nothing: its budget learns only from
 * regions it let go and then mapped again (the hostile review: under ENOMEM the budget went
 * to its maximum). */
START_TEST(test_refused_map_learns_nothing) {
    hk_os_trim();
    void *p[24];
    for (int i = 0; i < 24; i++)
        ck_assert_ptr_nonnull(p[i] = hk_os_alloc(3 * MiB, 16));
    for (int i = 0; i < 24; i++) /* the cache keeps 32 MiB of them, lets the others go */
        ck_assert(hk_os_free(p[i]));
    hk_os_stats s;
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.cache_budget, 32 * MiB);
    hk_fault_arm(HK_SYS_MMAP, 1, true);
    int got = 0;
    for (int i = 0; i < 24; i++) /* the cached ones, then refusals */
        got += (p[i] = hk_os_alloc(3 * MiB, 16)) != NULL;
    hk_fault_disarm_all();
    ck_assert_int_lt(got, 24);
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.cache_budget, 32 * MiB);
    for (int i = 0; i < 24; i++)
        if (p[i])
            ck_assert(hk_os_free(p[i]));
    hk_os_trim();
}
END_TEST

START_TEST(test_aligned_trim_refused) {
    hk_os_trim();
    size_t m0 = hk_sys_mapped_bytes();
    hk_fault_arm(HK_SYS_MUNMAP, 1, true);
    char *p = hk_os_alloc(3 * MiB, 4 * MiB); /* its mapping's head and tail are trimmed */
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p & (4 * MiB - 1), 0);
    hk_os_stats s;
    hk_os_get_stats(&s);
    ck_assert_uint_gt(s.bytes_kept, 0); /* the pieces the OS refused to unmap */
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + s.bytes_mapped_now + s.bytes_kept);
    hk_ptr_info info;
    ck_assert_int_eq(hk_os_classify(p, &info), HK_PTR_LIVE);
    /* a piece was never handed out: inside it is invalid (or foreign), never "freed" */
    hk_ptr_kind k = hk_os_classify(p + 3 * MiB + 4096, &info);
    ck_assert_msg(k == HK_PTR_INVALID || k == HK_PTR_FOREIGN, "kind %d", k);
    k = hk_os_classify(p - 2 * MiB, &info);
    ck_assert_msg(k == HK_PTR_INVALID || k == HK_PTR_FOREIGN, "kind %d", k);
    hk_fault_disarm_all();
    ck_assert(hk_os_free(p));
    hk_os_trim();
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
}
END_TEST

START_TEST(test_cache_shrink_and_grow_refused) {
    hk_os_trim();
    size_t m0 = hk_sys_mapped_bytes();
    void *p = hk_os_alloc(12 * MiB, 16);
    memset(p, 0x11, 12 * MiB);
    ck_assert(hk_os_free(p)); /* cached */
    hk_fault_arm(HK_SYS_MADVISE, 1, false);
    void *q = hk_os_alloc(3 * MiB, 16); /* the 12 MiB region, its excess not given back */
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MADVISE), 1);
    ck_assert_uint_ge(hk_os_usable(q), 12 * MiB);
    ck_assert(hk_os_free(q));
    hk_fault_disarm_all();
    hk_os_trim();
    void *r = hk_os_alloc(2 * MiB, 16); /* a 4 MiB region cached */
    ck_assert(hk_os_free(r));
    /* growth by mremap refused (with the class and without): the cached region goes, a fresh
     * mapping serves */
    hk_fault_arm(HK_SYS_MREMAP, 1, true);
    void *g = hk_os_alloc(14 * MiB, 16);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MREMAP), 2);
    hk_fault_disarm_all();
    /* resize refused, with its slack and without: NULL, the block unchanged and still live */
    memset(g, 0x5a, 4096);
    hk_fault_arm(HK_SYS_MREMAP, 1, true);
    ck_assert_ptr_null(hk_os_resize(g, 40 * MiB));
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MREMAP), 2);
    hk_fault_disarm_all();
    ck_assert_uint_eq(((unsigned char *)g)[4095], 0x5a);
    ck_assert(hk_os_owns(g));
    /* refused with its slack only: the request's own size */
    hk_fault_arm(HK_SYS_MREMAP, 1, false);
    void *g2 = hk_os_resize(g, 40 * MiB);
    ck_assert_ptr_nonnull(g2);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MREMAP), 1);
    ck_assert_uint_ge(hk_os_usable(g2), 40 * MiB);
    ck_assert_uint_lt(hk_os_usable(g2), 40 * MiB + 8192);
    ck_assert_uint_eq(((unsigned char *)g2)[4095], 0x5a);
    hk_fault_disarm_all();
    ck_assert(hk_os_free(g2));
    hk_os_trim();
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
}
END_TEST

/* A region refused with its class's slack is mapped at its own size at once, before the
 * cache is emptied and the class tried again (hostile review 24: every such refusal ran
 * malloc_trim). Two regions cached: the request takes one to grow it, refused; the class is
 * refused; its own size is mapped, and the other region is still cached (review 25: the test
 * emptied the cache first, so it held for the other order too). */
START_TEST(test_class_refused_maps_exact) {
    hk_os_trim();
    void *c1 = hk_os_alloc(2 * MiB + 512 * 1024, 16), *c2 = hk_os_alloc(3 * MiB, 16);
    ck_assert(hk_os_free(c1));
    ck_assert(hk_os_free(c2));
    hk_fault_arm(HK_SYS_MREMAP, 1, true);
    hk_fault_arm(HK_SYS_MMAP, 1, false);
    void *p = hk_os_alloc(9 * MiB, 16);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(hk_fault_injected(HK_SYS_MMAP), 1);
    ck_assert_uint_eq(hk_fault_calls(HK_SYS_MMAP), 2);
    hk_fault_disarm_all();
    ck_assert_uint_ge(hk_os_usable(p), 9 * MiB);
    ck_assert_uint_lt(hk_os_usable(p), 10 * MiB);
    hk_os_stats s;
    hk_os_get_stats(&s);
    ck_assert_uint_gt(s.bytes_cached, 0);
    ck_assert(hk_os_free(p));
    hk_os_trim();
}
END_TEST

START_TEST(test_mmap_refused_once) {
    hk_os_trim();
    void *c = hk_os_alloc(3 * MiB, 16);
    ck_assert(hk_os_free(c)); /* one region cached */
    hk_fault_arm(HK_SYS_MMAP, 1, false);
    void *p = hk_os_alloc(30 * MiB, 16); /* refused once; the cache emptied; retried */
    ck_assert_ptr_nonnull(p);
    hk_os_stats s;
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.bytes_cached, 0);
    ck_assert(hk_os_free(p));
    hk_fault_arm(HK_SYS_MMAP, 1, true);
    errno = 0;
    ck_assert_ptr_null(hak_malloc(30 * MiB));
    ck_assert_int_eq(errno, ENOMEM);
    void *a = NULL;
    ck_assert_int_eq(hak_posix_memalign(&a, 4 * MiB, 3 * MiB), ENOMEM);
    ck_assert_ptr_null(hak_memalign(4 * MiB, 3 * MiB));
    hk_fault_disarm_all();
}
END_TEST

/* ---------------------------------------------------------------- slab */

START_TEST(test_commit_refused) {
    /* Use up the L25 box's current segment, then refuse the next commit: its requests go to
     * the mmap box (a fallback), and come back to L25 once the OS agrees again. */
    void *blocks[64];
    int n = 0;
    uint64_t fb0 = hk_counter(HK_CTR_FALLBACK_L25);
    hk_fault_arm(HK_SYS_MPROTECT, 1, true);
    for (; n < 64; n++) {
        blocks[n] = hak_alloc_at(2 * MiB - 4096, 1);
        ck_assert_ptr_nonnull(blocks[n]);
        if (hak_box_of(blocks[n]) == HAK_BOX_MMAP)
            break;
    }
    ck_assert_msg(n < 64, "no fallback while every commit is refused");
    ck_assert_uint_gt(hk_counter(HK_CTR_FALLBACK_L25), fb0);
    hk_fault_disarm_all();
    void *b = hak_alloc_at(2 * MiB - 4096, 1);
    ck_assert_int_eq(hak_box_of(b), HAK_BOX_L25);
    hak_free(b);
    for (int i = 0; i <= n && i < 64; i++)
        hak_free(blocks[i]);
}
END_TEST

START_TEST(test_trim_madvise_refused) {
    void *p = hak_malloc(40000); /* a Pool Bridge block: trim releases its pages */
    hak_free(p);
    hk_fault_arm(HK_SYS_MADVISE, 1, true);
    uint64_t f0 = hk_sys_failures(HK_SYS_MADVISE);
    hak_malloc_trim(0);
    ck_assert_uint_gt(hk_sys_failures(HK_SYS_MADVISE), f0);
    hk_fault_disarm_all();
    ck_assert_int_eq(hak_malloc_trim(0), 1);
}
END_TEST

/* ---------------------------------------------------------------- files */

/* The routing table's file: an open, fstat or read the OS refuses is a load that fails with
 * its reason (the table in force stays), counted as the primitive's failure. */
START_TEST(test_table_file_refused) {
    char path[] = "/tmp/hk_check_tableXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const char text[] = "0 1024 tiny\n1025 18446744073709551615 mmap\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    static const struct {
        hk_sys_prim prim;
        const char *why;
    } cases[] = {{HK_SYS_OPEN, "cannot open (errno 24)"},
                 {HK_SYS_FSTAT, "cannot stat (errno 5)"},
                 {HK_SYS_READ, "read error (errno 5)"}};
    hk_table t;
    char err[160];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t f0 = hk_sys_failures(cases[i].prim);
        hk_fault_arm(cases[i].prim, 1, false);
        err[0] = '\0';
        ck_assert(!hk_table_load_file(path, true, &t, err, sizeof err));
        ck_assert_str_eq(err, cases[i].why);
        ck_assert_uint_eq(hk_sys_failures(cases[i].prim), f0 + 1);
        hk_fault_disarm_all();
    }
    ck_assert_msg(hk_table_load_file(path, true, &t, err, sizeof err), "%s", err);
    ck_assert_uint_eq(t.n, 2);
    unlink(path);
}
END_TEST

/* exec's check of the program it runs: fstatat refused is counted; a path that is not there
 * is an answer, not a failure. */
START_TEST(test_fstatat_refused) {
    struct stat st;
    uint64_t f0 = hk_sys_failures(HK_SYS_FSTATAT);
    ck_assert_int_eq(hk_sys_fstatat(AT_FDCWD, "/bin/sh", &st, 0), 0);
    errno = 0;
    ck_assert_int_eq(hk_sys_fstatat(AT_FDCWD, "/nonexistent/hk", &st, 0), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_uint_eq(hk_sys_failures(HK_SYS_FSTATAT), f0);
    hk_fault_arm(HK_SYS_FSTATAT, 1, false);
    errno = 0;
    ck_assert_int_eq(hk_sys_fstatat(AT_FDCWD, "/bin/sh", &st, 0), -1);
    ck_assert_int_eq(errno, EIO);
    ck_assert_uint_eq(hk_sys_failures(HK_SYS_FSTATAT), f0 + 1);
    ck_assert_int_eq(hk_sys_fstatat(AT_FDCWD, "/bin/sh", &st, 0), 0); /* once */
}
END_TEST

/* ---------------------------------------------------------------- log */

START_TEST(test_kept_fd_reused) {
    char path[] = "/tmp/hk_check_faultsXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    hk_kept_fd k;
    ck_assert(hk_fd_keep(&k, fd));
    ck_assert(hk_fd_same(&k));
    close(fd);
    ck_assert(!hk_fd_same(&k)); /* closed */
    int other = open("/dev/null", O_WRONLY);
    if (other != fd)
        ck_assert_int_eq(dup2(other, fd), fd);
    ck_assert(!hk_fd_same(&k)); /* the number is another file now */
    close(fd);
    if (other != fd)
        close(other);
    unlink(path);
    hk_kept_fd none;
    ck_assert(!hk_fd_keep(&none, -1));
    ck_assert_int_eq(none.fd, -1);
    ck_assert(!hk_fd_same(&none));
}
END_TEST

/* In a child: fd 2 closed, a duplicate kept before: lines go there; once that descriptor is
 * gone too, they are lost and counted. */
START_TEST(test_log_fd_closed_stderr) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        hk_log_keep_stderr();
        close(2);
        int fd = hk_log_fd();
        hk_warn("to the kept duplicate (fd %d)", fd);
        for (int i = 3; i < 64; i++)
            close(i);
        uint64_t lost = hk_log_lost();
        hk_warn("lost");
        _exit(fd > 2 && hk_log_fd() == -1 && hk_log_lost() > lost ? 0 : 1);
    }
    close(fds[1]);
    char buf[256] = "";
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    ck_assert_msg(strstr(buf, "hakmem: warning: to the kept duplicate") == buf, "%s", buf);
    ck_assert(!strstr(buf, "lost"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("sys");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_specs);
    tcase_add_test(tc, test_once_and_persist);
    tcase_add_test(tc, test_release_retry);
    suite_add_tcase(s, tc);
    tc = tcase_create("os");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_free_munmap_refused);
    tcase_add_test(tc, test_evict_and_trim_refused);
    tcase_add_test(tc, test_aligned_trim_refused);
    tcase_add_test(tc, test_refused_map_learns_nothing);
    tcase_add_test(tc, test_cache_shrink_and_grow_refused);
    tcase_add_test(tc, test_class_refused_maps_exact);
    tcase_add_test(tc, test_mmap_refused_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("slab");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_commit_refused);
    tcase_add_test(tc, test_trim_madvise_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_table_file_refused);
    tcase_add_test(tc, test_fstatat_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, test_kept_fd_reused);
    tcase_add_test(tc, test_log_fd_closed_stderr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
