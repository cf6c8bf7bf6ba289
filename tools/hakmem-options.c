/* hakmem-options: list every HAKMEM_* environment variable hakmem reads, from the one option
 * table (core/base/hk_options.h), so that documentation is generated from it and cannot drift.
 *
 *   hakmem-options            one line per variable: name, default, range, meaning
 *   hakmem-options --names    the names only
 *   hakmem-options --man      the variables as man(7) .TP entries (spliced into hakmem(3))
 *   hakmem-options --markdown the README's table rows
 * Exit status: 0, or 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "hk_options.h"

#define PROG "hakmem-options"

static int usage(FILE *f)
{
    fputs("usage: " PROG " [--names | --man | --markdown]\n"
          "Lists every HAKMEM_* environment variable hakmem reads: name, default, range and\n"
          "meaning, from hakmem's option table.\n"
          "  --names     the names only, one per line\n"
          "  --man       man(7) markup (the ENVIRONMENT section of hakmem(3))\n"
          "  --markdown  the rows of the README's option table\n"
          "  --help      this text\n"
          "Exit status: 0, or 2 on a usage error.\n",
          f);
    return f == stdout ? 0 : 2;
}

/* Text for a man(7) paragraph: backslashes escaped, no line starting with a control
 * character. The help strings are single lines. */
static void man_text(const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", stdout);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", stdout);
        else if (*s == '-')
            fputs("\\-", stdout);
        else
            putchar(*s);
    }
}

/* The words of a WORD option ("site|class|process: help" gives site, class, process),
 * joined by sep. */
static void words(int id, const hk_option_desc *d, char *buf, size_t cap, const char *sep)
{
    char w[64];
    size_t n = 0;
    buf[0] = '\0';
    for (long k = d->lo; k <= d->hi && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", k == d->lo ? "" : sep,
                              hk_option_word((hk_opt_id)id, k, w, sizeof w));
}

static void range(int id, const hk_option_desc *d, char *buf, size_t cap, const char *dash,
                  const char *sep)
{
    if (d->kind == HK_OPT_KIND_STR)
        snprintf(buf, cap, "path");
    else if (d->kind == HK_OPT_KIND_WORD)
        words(id, d, buf, cap, sep);
    else
        snprintf(buf, cap, "%ld%s%ld", d->lo, dash, d->hi);
}

static void deflt(int id, const hk_option_desc *d, char *buf, size_t cap)
{
    if (d->kind == HK_OPT_KIND_STR)
        snprintf(buf, cap, "unset");
    else if (d->kind == HK_OPT_KIND_WORD)
        hk_option_word((hk_opt_id)id, d->def, buf, cap);
    else
        snprintf(buf, cap, "%ld", d->def);
}

/* The help without a WORD option's list of words (they are in the range column). */
static const char *meaning(const hk_option_desc *d)
{
    const char *c = d->kind == HK_OPT_KIND_WORD ? strchr(d->help, ':') : NULL;
    return c ? c + 1 + (c[1] == ' ') : d->help;
}

int main(int argc, char **argv)
{
    enum { PLAIN, NAMES, MAN, MARKDOWN } how = PLAIN;
    if (argc > 2)
        return usage(stderr);
    if (argc == 2) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
            return usage(stdout);
        else if (!strcmp(argv[1], "--names"))
            how = NAMES;
        else if (!strcmp(argv[1], "--man"))
            how = MAN;
        else if (!strcmp(argv[1], "--markdown"))
            how = MARKDOWN;
        else
            return usage(stderr);
    }
    for (int i = 0; i < HK_OPT_COUNT; i++) {
        const hk_option_desc *d = &hk_option_descs[i];
        char r[128], def[64];
        deflt(i, d, def, sizeof def);
        switch (how) {
        case NAMES: printf("%s\n", d->name); break;
        case PLAIN:
            range(i, d, r, sizeof r, "..", ",");
            printf("%-28s default %-6s range %-14s %s\n", d->name, def, r, meaning(d));
            break;
        case MARKDOWN:
            range(i, d, r, sizeof r, "\xe2\x80\x93",
                  ", "); /* an en dash, as the README writes ranges */
            printf("| `%s` | %s | %s | %s |\n", d->name, def, r, meaning(d));
            break;
        case MAN:
            range(i, d, r, sizeof r, " to ", ", ");
            printf(".TP\n.B %s\n", d->name);
            if (d->kind == HK_OPT_KIND_STR)
                printf("A path; unset by default.\n");
            else if (d->kind == HK_OPT_KIND_WORD)
                printf("One of %s; default %s.\n", r, def);
            else
                printf("An integer from %s; default %s.\n", r, def);
            man_text(meaning(d));
            putchar('\n');
            break;
        }
    }
    return 0;
}
