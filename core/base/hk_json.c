/* hk_json.c: the malloc-free JSON writer (see hk_json.h). */
#include "hk_json.h"

#include <stdarg.h>
#include <string.h>

#include "hk_log.h"

void hk_jw_start(hk_jw *w, int fd)
{
    w->fd = fd;
    w->sink = NULL;
    w->arg = NULL;
    w->len = 0;
    w->failed = false;
}

void hk_jw_start_sink(hk_jw *w, hk_jw_sink sink, void *arg)
{
    hk_jw_start(w, -1);
    w->sink = sink;
    w->arg = arg;
}

void hk_jw_flush(hk_jw *w)
{
    if (w->len && !w->failed) {
        bool ok = w->sink ? w->sink(w->arg, w->buf, w->len)
                          : hk_write_all(w->fd, w->buf, w->len) == 0;
        if (!ok)
            w->failed = true;
    }
    w->len = 0;
}

void hk_jw_raw(hk_jw *w, const char *s, size_t n)
{
    while (n) {
        if (w->len == sizeof w->buf)
            hk_jw_flush(w);
        size_t k = sizeof w->buf - w->len < n ? sizeof w->buf - w->len : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

void hk_jw_lit(hk_jw *w, const char *s) { hk_jw_raw(w, s, strlen(s)); }

void hk_jw_fmt(hk_jw *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = hk_vfmt(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    hk_jw_raw(w, tmp, n);
}

void hk_jw_bool(hk_jw *w, bool b) { hk_jw_lit(w, b ? "true" : "false"); }

size_t hk_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static const char hexdig[] = "0123456789abcdef";

void hk_jw_strn(hk_jw *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    hk_jw_raw(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            hk_jw_raw(w, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
            hk_jw_raw(w, e, 6);
            i++;
        } else {
            size_t k = hk_utf8_seq(s + i, n - i);
            if (k) {
                hk_jw_raw(w, (const char *)s + i, k);
                i += k;
            } else { /* not UTF-8: \udcXX, as Python's surrogateescape decodes the byte */
                char e[6] = {'\\', 'u', 'd', 'c', hexdig[c >> 4], hexdig[c & 15]};
                hk_jw_raw(w, e, 6);
                i++;
            }
        }
    }
    hk_jw_raw(w, "\"", 1);
}

void hk_jw_str(hk_jw *w, const char *s)
{
    if (!s)
        hk_jw_lit(w, "null");
    else
        hk_jw_strn(w, s, strlen(s));
}

void hk_jw_hex(hk_jw *w, const unsigned char *b, size_t n)
{
    if (!n) {
        hk_jw_lit(w, "null");
        return;
    }
    hk_jw_raw(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hexdig[b[i] >> 4], hexdig[b[i] & 15]};
        hk_jw_raw(w, e, 2);
    }
    hk_jw_raw(w, "\"", 1);
}
