/* hk_divlog.c: the divergence log (HAKMEM_DIVERGENCE_LOG; format hakmem-divergence-log/2,
 * compare/README.md): one JSON line per distinct divergence when first seen, appended with
 * one write, into a file opened safely (hk_fileio.c) and reopened when the program closed or
 * reused its descriptor, or after a fork (the child's own file).
 */
#define _GNU_SOURCE
#include "hk_divlog.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hk_fileio.h"
#include "hk_json.h"
#include "hk_log.h"
#include "hk_record.h"
#include "hk_report.h"
#include "hk_sys.h"

static char log_tmpl[HK_PATH_MAX];
static int log_fd = -1;
static pid_t log_pid;
static dev_t log_dev;
static ino_t log_ino;
static bool log_failed;
static atomic_flag log_lock = ATOMIC_FLAG_INIT;

void hk_divlog_init(const char *tmpl)
{
    log_tmpl[0] = '\0';
    if (tmpl && *tmpl) {
        size_t n = strlen(tmpl);
        if (n < sizeof log_tmpl)
            memcpy(log_tmpl, tmpl, n + 1);
    }
}

static bool log_fd_is_ours(void)
{
    struct stat st;
    return log_fd >= 0 && hk_sys_fstat(log_fd, &st) == 0 && st.st_dev == log_dev &&
           st.st_ino == log_ino;
}

void hk_divlog_line(uint64_t key, size_t size, hk_sitekey sk)
{
    if (!log_tmpl[0] || log_failed)
        return;
    while (atomic_flag_test_and_set_explicit(&log_lock, memory_order_acquire))
        ;
    /* A program may close any descriptor and reuse its number: write only into our file. */
    if (log_pid != getpid() || !log_fd_is_ours()) {
        if (log_pid == getpid() && log_fd >= 0 && log_fd_is_ours())
            hk_sys_close(log_fd);
        log_fd = -1;
        char path[HK_PATH_MAX];
        const char *why = "the path is too long";
        int err = ENAMETOOLONG;
        if (hk_path_expand(log_tmpl, (int)getpid(), path, sizeof path))
            log_fd = hk_file_open_append(path, &why, &err);
        log_pid = getpid();
        struct stat st;
        if (log_fd >= 0 && hk_sys_fstat(log_fd, &st) == 0) {
            log_dev = st.st_dev;
            log_ino = st.st_ino;
        } else {
            char eb[32], ab[200];
            hk_warn("HAKMEM_DIVERGENCE_LOG=%s: %s%s%s%s; no divergence log",
                    hk_path_abbrev(log_tmpl, ab, sizeof ab), why, err ? " (" : "",
                    err ? hk_errname(err, eb, sizeof eb) : "", err ? ")" : "");
            log_failed = true;
            atomic_flag_clear_explicit(&log_lock, memory_order_release);
            return;
        }
    }
    static hk_jw w; /* under log_lock: the buffer stays off the stack */
    hk_jw_start(&w, log_fd);
    hk_jw_fmt(&w,
              "{\"format\": \"hakmem-divergence-log/2\", \"pid\": %d, \"instance\": "
              "\"%08lx%08lx\", \"divergence\": ",
              (int)getpid(), (unsigned long)(hk_rec->h.instance >> 32),
              (unsigned long)(hk_rec->h.instance & 0xffffffffu));
    hk_report_divergence_first(&w, key, size, sk);
    hk_jw_raw(&w, "}\n", 2);
    hk_jw_flush(&w); /* one write: appends stay whole lines */
    if (w.failed) {  /* a full disk, /dev/full: said once, then no more lines */
        char eb[32], ab[200];
        int err = errno;
        hk_warn("HAKMEM_DIVERGENCE_LOG=%s: writing failed (%s); no divergence log from here on",
                hk_path_abbrev(log_tmpl, ab, sizeof ab), hk_errname(err, eb, sizeof eb));
        log_failed = true;
    }
    atomic_flag_clear_explicit(&log_lock, memory_order_release);
}

void hk_divlog_atfork_child(void)
{
    atomic_flag_clear(&log_lock);
    if (log_fd >= 0 && log_fd_is_ours())
        hk_sys_close(log_fd);
    log_fd = -1;
    log_failed = false;
}
