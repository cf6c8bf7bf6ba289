/* hk_fileio.h: how the differential mode writes files without surprising anyone.
 *
 * - A path template's "%p" becomes the pid; a path that does not fit PATH_MAX is refused
 *   (never cut).
 * - A report is never written through a symbolic link and never replaces something that is
 *   not a regular file: a FIFO or a character device at the path is written into (opened
 *   without O_CREAT and without blocking: a FIFO with no reader is refused), a symbolic
 *   link, a directory, a block device or a socket is refused. A regular file (or nothing)
 *   is replaced atomically: the text goes to a temp file with an unpredictable name in the
 *   same directory (O_CREAT|O_EXCL|O_NOFOLLOW), is fsync'ed, then renamed over the path.
 * Each refusal or failure is reported to the caller with a short reason for its one warning.
 */
#ifndef HK_FILEIO_H
#define HK_FILEIO_H

#include "hk_internal.h"

#define HK_PATH_MAX 4096

/* A relative path made absolute against the working directory now (a report path is read at
 * init; the program may change directory before it exits). False when it does not fit. */
bool hk_path_absolute(const char *in, char *out, size_t cap);
/* "%p" in tmpl becomes pid and "%%" one '%'; false when the result does not fit cap bytes. */
bool hk_path_expand(const char *tmpl, int pid, char *out, size_t cap);
/* path as it goes into a one-line warning: a long one keeps its first and last bytes around
 * "...", so that the line (512 bytes) still says what went wrong. */
const char *hk_path_abbrev(const char *path, char *buf, size_t cap);
/* A short name for an errno value ("ENOENT", ...), or "errno N". */
const char *hk_errname(int e, char *buf, size_t cap);
/* 64 random bits (getrandom; a clock and address mix when it fails). */
uint64_t hk_random64(void);

/* Writes the whole text to fd; returns false when a write failed. */
typedef bool (*hk_file_writer)(int fd, void *arg);
/* Write path as described above. On failure returns false with *why (a static string) and
 * *err (errno, or 0) set. */
bool hk_file_write(const char *path, hk_file_writer fn, void *arg, const char **why, int *err);
/* Open path for appending log lines with the same rules (created when missing, never through
 * a symbolic link, a FIFO without a reader refused); -1 with *why and *err on failure. */
int hk_file_open_append(const char *path, const char **why, int *err);

#endif
