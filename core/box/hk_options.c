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

bool hk_option_parse(hk_opt_id id, const char *s, long *out)
{
    const hk_option_desc *d = &hk_option_descs[id];
    if (!s)
        return false;
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
            hk_warn("%s=\"%s\" is not a number in %ld..%ld; using the default %ld", d->name, s,
                    d->lo, d->hi, d->def);
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
                "(./configure --enable-fault-injection)", f);
    else if (f && !hk_fault_arm_spec(f))
        hk_warn("HAKMEM_FAULT=%s: not PRIM:N[:persist][,...] with PRIM one of mmap, munmap, "
                "mremap, madvise, mprotect; no fault armed", f);
}

void hk_options_init(void) { hk_options_load(getauxval(AT_SECURE) != 0); }

void hk_option_set(hk_opt_id id, long value) { hk_opt_values[id] = value; }
