/* hk_options_check.c: unknown and ineffective HAKMEM_* variables (see hk_options_check.h). */
#include "hk_options_check.h"

#include <stdlib.h>
#include <string.h>

#include "hk_log.h"

extern char **environ;

static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    enum { MAXN = 64 };
    size_t row[MAXN + 1];
    if (la > MAXN)
        la = MAXN;
    if (lb > MAXN)
        lb = MAXN;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *hk_options_closest(const char *name, size_t len)
{
    const char *best = hk_option_descs[0].name;
    size_t bd = (size_t)-1;
    for (int i = 0; i < HK_OPT_COUNT; i++) {
        const char *n = hk_option_descs[i].name;
        size_t d = distance(name, len, n, strlen(n));
        if (d < bd) {
            bd = d;
            best = n;
        }
    }
    return best;
}

static bool is_set(hk_opt_id id) { return getenv(hk_option_descs[id].name) != NULL; }

/* A set variable whose value is the option's default (a string option: empty). */
static bool at_default(hk_opt_id id)
{
    const hk_option_desc *d = &hk_option_descs[id];
    if (d->kind == HK_OPT_KIND_STR)
        return hk_opt_str(id) == NULL || !*hk_opt_str(id);
    return hk_opt(id) == d->def;
}

/* A set variable whose value hk_options_init refused (it warned already). */
static bool refused(hk_opt_id id)
{
    const hk_option_desc *d = &hk_option_descs[id];
    const char *s = getenv(d->name);
    long v;
    if (d->kind == HK_OPT_KIND_STR)
        return hk_opt_str(id) == NULL;
    return !hk_option_parse(id, s, &v);
}

typedef struct {
    long diff, rollout, ace, use;
    bool central_may_execute, legacy;
} mode;

/* One row per way a setting can be ineffective; the first matching row of a variable warns. */
typedef struct {
    hk_opt_id id;
    bool (*applies)(const mode *m);
    const char *why;
} rule;

static bool no_legacy(const mode *m) { return !m->legacy; }
static bool no_legacy_path(const mode *m) { return !m->legacy && m->use == 0; }
static bool no_diff(const mode *m) { return m->diff == 0; }
static bool no_rollout(const mode *m) { return m->rollout < 0; }
static bool rollout_on(const mode *m) { return m->legacy && m->rollout >= 0; }
static bool no_central(const mode *m) { return !m->central_may_execute; }
static bool aa(const mode *m) { return m->diff == 2; }
static bool no_ace(const mode *m) { return m->ace == 0; }

#define NO_MIGRATION "this build has no legacy path and no differential mode (--disable-legacy)"
static const rule rules[] = {
    {HK_OPT_USE_CENTRAL_ROUTER, no_legacy_path,
     "this build has only the Central Router (--disable-legacy): it routes every call"},
    {HK_OPT_ROUTER_DIFF, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_DIFF_SAMPLE, no_legacy, NO_MIGRATION},
    {HK_OPT_DIVERGENCE_REPORT, no_legacy, NO_MIGRATION},
    {HK_OPT_DIVERGENCE_LOG, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_ROLLBACK, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_ROLLOUT, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_ROLLOUT_BY, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_ROLLOUT_SALT, no_legacy, NO_MIGRATION},
    {HK_OPT_ROUTER_DIFF_SAMPLE, no_diff, "nothing is compared without HAKMEM_ROUTER_DIFF=1 or 2"},
    {HK_OPT_DIVERGENCE_REPORT, no_diff,
     "nothing is compared without HAKMEM_ROUTER_DIFF=1 or 2, so there is nothing to report"},
    {HK_OPT_DIVERGENCE_LOG, no_diff,
     "nothing is compared without HAKMEM_ROUTER_DIFF=1 or 2, so there is nothing to log"},
    {HK_OPT_ROUTER_ROLLBACK, no_diff,
     "without HAKMEM_ROUTER_DIFF=1 no divergence is seen, so nothing can roll back"},
    {HK_OPT_ROUTER_ROLLBACK, aa, "the A/A mode compares a path with itself: it never diverges"},
    {HK_OPT_ROUTER_ROLLBACK, no_central,
     "the legacy path executes every call (no HAKMEM_USE_CENTRAL_ROUTER=1, no rollout): there is "
     "nothing to roll back"},
    {HK_OPT_ROUTER_ROLLOUT_BY, no_rollout, "it only applies with HAKMEM_ROUTER_ROLLOUT"},
    {HK_OPT_ROUTER_ROLLOUT_SALT, no_rollout, "it only applies with HAKMEM_ROUTER_ROLLOUT"},
    {HK_OPT_USE_CENTRAL_ROUTER, rollout_on,
     "HAKMEM_ROUTER_ROLLOUT decides which path executes each call"},
    {HK_OPT_WRAP_L2, no_ace, "with HAKMEM_ACE_ENABLED=0 the ACE ranges go to the mmap box anyway"},
};

void hk_options_check(bool central_default)
{
    for (char **e = environ; e && *e; e++) {
        const char *v = *e;
        if (strncmp(v, "HAKMEM_", 7) != 0)
            continue;
        size_t len = strcspn(v, "=");
        bool known = false;
        for (int i = 0; i < HK_OPT_COUNT && !known; i++)
            known = strlen(hk_option_descs[i].name) == len &&
                    memcmp(hk_option_descs[i].name, v, len) == 0;
        if (!known) {
            char name[80];
            size_t n = len < sizeof name - 1 ? len : sizeof name - 1;
            memcpy(name, v, n);
            name[n] = '\0';
            hk_warn("%s is not a hakmem variable (did you mean %s?); ignored", name,
                    hk_options_closest(v, len));
        }
    }
    mode m;
    m.diff = hk_opt(HK_OPT_ROUTER_DIFF);
    m.rollout = hk_opt(HK_OPT_ROUTER_ROLLOUT);
    m.ace = hk_opt(HK_OPT_ACE_ENABLED);
    m.use = hk_opt(HK_OPT_USE_CENTRAL_ROUTER);
    m.legacy = HAKMEM_CONFIG_LEGACY;
    m.central_may_execute = m.rollout > 0 || (m.use >= 0 ? m.use == 1 : central_default);
    bool warned[HK_OPT_COUNT] = {false};
    for (size_t r = 0; r < sizeof rules / sizeof *rules; r++) {
        hk_opt_id id = rules[r].id;
        if (warned[id] || !is_set(id) || refused(id) || !rules[r].applies(&m))
            continue;
        /* Without legacy/, a migration variable that asks for what the build does anyway (its
         * default: no differential mode, no rollout, no report) is not worth a warning. */
        if (rules[r].applies == no_legacy && at_default(id)) {
            warned[id] = true; /* nor by the rules for builds with legacy/ below */
            continue;
        }
        warned[id] = true;
        hk_warn("%s is set but has no effect: %s", hk_option_descs[id].name, rules[r].why);
    }
}
