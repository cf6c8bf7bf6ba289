/* hk_json.h: the JSON writer without malloc: every JSON hakmem writes (the divergence report
 * and log, the statistics of HAKMEM_STATS=json and hak_stats_print_json) goes through it.
 *
 * Output is buffered in the writer (8 KiB) and written with write(2) (or handed to a sink);
 * `failed` says whether any write failed. The same buffered writer carries malloc_info's XML
 * (raw text and numbers only: hk_jw_raw, hk_jw_lit, hk_jw_fmt). Strings are written as valid UTF-8 JSON whatever bytes they hold: quotes,
 * backslashes and control characters are escaped, and every byte that is not part of a
 * well-formed UTF-8 sequence becomes \udcXX (the "surrogateescape" convention: the consumer
 * gets the original bytes back with Python's os.fsencode, and a plain JSON reader sees one
 * replacement character). So a program path in any encoding makes a valid report.
 */
#ifndef HK_JSON_H
#define HK_JSON_H

#include <stddef.h>

#include "hk_internal.h"

/* Where the buffer goes when it fills or is flushed: write(2) to fd, or a sink (malloc_info
 * passes its FILE's fwrite; the writer's buffer is the only memory the text needs). A sink
 * returns false when it failed. */
typedef bool (*hk_jw_sink)(void *arg, const char *buf, size_t n);

typedef struct {
    int fd;
    hk_jw_sink sink;
    void *arg;
    size_t len;
    bool failed;
    char buf[8192];
} hk_jw;

void hk_jw_start(hk_jw *w, int fd);
void hk_jw_start_sink(hk_jw *w, hk_jw_sink sink, void *arg);
void hk_jw_flush(hk_jw *w);
void hk_jw_raw(hk_jw *w, const char *s, size_t n);
void hk_jw_lit(hk_jw *w, const char *s); /* a NUL-terminated literal, copied as is */
void hk_jw_fmt(hk_jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string (null when s is NULL). hk_jw_strn: the n bytes at s, NULs included. */
void hk_jw_str(hk_jw *w, const char *s);
void hk_jw_strn(hk_jw *w, const char *s, size_t n);
void hk_jw_bool(hk_jw *w, bool b);
/* Lowercase hex of n bytes as a JSON string (null when n is 0). */
void hk_jw_hex(hk_jw *w, const unsigned char *b, size_t n);

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0 if none starts there. */
size_t hk_utf8_seq(const unsigned char *s, size_t n);

#endif
