/* hk_options.c: reading the HAKMEM_* option table (see hk_options.h). */
#include "hk_options.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "hk_log.h"
#include "hk_sys.h"

const hk_option_desc hk_option_descs[HK_OPT_COUNT] = {
#define HK_OPT_DESC(id, kind, sec, name, def, lo, hi, help)                                        \
    {name, HK_OPT_KIND_##kind, HK_OPTSEC_##sec, def, lo, hi, help},
    HK_OPTION_TABLE(HK_OPT_DESC)
#undef HK_OPT_DESC
};

long hk_opt_values[HK_OPT_COUNT] = {
#define HK_OPT_DEF(id, kind, sec, name, def, lo, hi, help) def,
    HK_OPTION_TABLE(HK_OPT_DEF)
#undef HK_OPT_DEF
};

const char *hk_opt_strings[HK_OPT_COUNT];
static char str_storage[HK_OPT_COUNT][4096];

const char *hk_option_word(hk_opt_id id, long index, char *buf, size_t cap)
{
    const char *h = hk_option_descs[id].help;
    size_t n = 0;
    buf[0] = '\0';
    for (long i = 0; *h && *h != ':'; h++) {
        if (*h == '|') {
            i++;
            continue;
        }
        if (i == index && n + 1 < cap) {
            buf[n++] = *h;
            buf[n] = '\0';
        }
    }
    return buf;
}

static bool parse_word(hk_opt_id id, const char *s, long *out)
{
    const hk_option_desc *d = &hk_option_descs[id];
    char w[32];
    for (long i = d->lo; i <= d->hi; i++)
        if (strcmp(hk_option_word(id, i, w, sizeof w), s) == 0) {
            *out = i;
            return true;
        }
    return false;
}

bool hk_option_parse(hk_opt_id id, const char *s, long *out)
{
    const hk_option_desc *d = &hk_option_descs[id];
    if (!s)
        return false;
    if (d->kind == HK_OPT_KIND_WORD)
        return parse_word(id, s, out);
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = (*s++ == '-');
    if (*s < '0' || *s > '9')
        return false;
    long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (d->hi + 9) / 10 + 1000000)
            return false; /* far out of range: stop before overflow */
        v = v * 10 + (*s - '0');
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s)
        return false;
    if (neg)
        v = -v;
    if (v < d->lo || v > d->hi)
        return false;
    *out = v;
    return true;
}

void hk_options_load(bool secure)
{
    hk_log_hide_addresses(secure);
    char ignored[512];
    size_t nign = 0;
    ignored[0] = '\0';
    for (int i = 0; i < HK_OPT_COUNT; i++) {
        const hk_option_desc *d = &hk_option_descs[i];
        const char *s = getenv(d->name);
        long v = d->def;
        if (s && secure && !d->secure) {
            nign += hk_fmt(ignored + nign, sizeof ignored - nign, "%s%s", nign ? ", " : "",
                           d->name);
            s = NULL;
        }
        if (d->kind == HK_OPT_KIND_STR) {
            hk_opt_strings[i] = NULL;
            if (s && strlen(s) >= sizeof str_storage[i])
                hk_warn("%s is longer than %zu bytes; ignored", d->name, sizeof str_storage[i] - 1);
            else if (s) {
                strcpy(str_storage[i], s);
                hk_opt_strings[i] = str_storage[i];
            }
            continue;
        }
        if (s && !hk_option_parse((hk_opt_id)i, s, &v)) {
            if (d->kind == HK_OPT_KIND_WORD) {
                char list[128], w[32];
                size_t n = 0;
                list[0] = '\0';
                for (long k = d->lo; k <= d->hi; k++)
                    n += hk_fmt(list + n, sizeof list - n, "%s%s", k == d->lo ? "" : ", ",
                                hk_option_word((hk_opt_id)i, k, w, sizeof w));
                hk_warn("%s=\"%s\" is not one of %s; using the default %s", d->name, s, list,
                        hk_option_word((hk_opt_id)i, d->def, w, sizeof w));
            } else {
                hk_warn("%s=\"%s\" is not a number in %ld..%ld; using the default %ld", d->name, s,
                        d->lo, d->hi, d->def);
            }
            v = d->def;
        }
        hk_opt_values[i] = v;
    }
    if (nign)
        hk_warn("secure-execution process (setuid, setgid or file capabilities): ignoring %s",
                ignored);
    const char *f = hk_opt_str(HK_OPT_FAULT);
    if (f && !config_fault_injection)
        hk_warn("HAKMEM_FAULT=%s: ignored: this build has no fault injection "
                "(./configure --enable-fault-injection)",
                f);
    else if (f && !hk_fault_arm_spec(f))
        hk_warn("HAKMEM_FAULT=%s: not PRIM:N[:persist][,...] with PRIM an OS primitive of "
                "core/base/hk_sys.h (mmap, munmap, mremap, madvise, mprotect, open, write, "
                "pwrite, fsync, rename, ...); no fault armed",
                f);
    if (hk_knobs_changed_hook)
        hk_knobs_changed_hook();
}

void hk_options_init(void) { hk_options_load(getauxval(AT_SECURE) != 0); }

void (*hk_knobs_changed_hook)(void);

void hk_option_set(hk_opt_id id, long value)
{
    hk_opt_values[id] = value;
    if ((id == HK_OPT_ACE_ENABLED || id == HK_OPT_WRAP_L2) && hk_knobs_changed_hook)
        hk_knobs_changed_hook();
}
