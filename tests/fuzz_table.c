/* fuzz_table.c: libFuzzer target for the routing table's text format (hk_table_parse).
 *
 * Feeds arbitrary bytes to hk_table_parse. A rejection must come with a NUL-terminated
 * "line N: ..." message and leave the output table untouched. An accepted table must be
 *   - 1..HK_TABLE_MAX_RULES rules, contiguous from 0 to SIZE_MAX, sorted, lo <= hi;
 *   - every box a real box, within the sizes it has classes for; "ace" only on pool and l25;
 *   - tiny_end == hk_table_tiny_end();
 *   - hk_table_decide: for probes at and around every boundary, both entries and all four
 *     knob settings, the rule's box (or mmap for an ace row whose knobs are off) and the
 *     box's own class index, which must be a valid class of that box;
 *   - hk_table_write -> hk_table_parse: the identical table (through a pipe).
 *
 * Built by tools/reliability.sh (fuzz step) with clang -fsanitize=fuzzer,address,undefined
 * against the core sources. HK_FUZZ_WRITE_SEEDS=DIR: write a seed corpus (the built-in
 * table as hakmem-routes prints it, and variants) into DIR and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hk_table.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_table: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

static const size_t box_max[HAK_BOX_COUNT] = {
    [HAK_BOX_TINY] = HK_TINY_MAX,   [HAK_BOX_POOL] = HK_POOL_MAX, [HAK_BOX_MID] = HK_MID_MAX,
    [HAK_BOX_L25] = HK_L25_MAX + 1, [HAK_BOX_MMAP] = SIZE_MAX,
};

/* The valid class indexes of each box (hak_decision_t.cls). */
static bool class_ok(hak_box_t box, int cls)
{
    switch (box) {
    case HAK_BOX_TINY: return cls >= 0 && cls < HK_TINY_NCLASSES;
    case HAK_BOX_POOL: return cls >= 0 && cls <= HK_ACE_POOL_LAST;
    case HAK_BOX_MID: return cls >= 0 && cls < HK_MID_NCLASSES;
    case HAK_BOX_L25: return cls > HK_ACE_POOL_LAST && cls < HK_ACE_NCLASSES;
    case HAK_BOX_MMAP: return cls == -1;
    default: return false;
    }
}

/* The block size of a box's class (0 for mmap). */
static size_t class_size(hak_box_t box, int cls)
{
    switch (box) {
    case HAK_BOX_TINY: return hk_tiny_sizes[cls];
    case HAK_BOX_POOL:
    case HAK_BOX_L25: return hk_ace_sizes[cls];
    case HAK_BOX_MID: return hk_mid_sizes[cls];
    default: return 0;
    }
}

static void check_decide(const hk_table *t, size_t size)
{
    /* The rule that covers size. */
    int r = 0;
    while (t->rules[r].hi < size)
        r++;
    const hk_rule *ru = &t->rules[r];
    for (int e = 0; e < 2; e++) {
        for (int k = 0; k < 4; k++) {
            hk_knobs kn = {(k & 1) != 0, (k & 2) != 0};
            hk_decision d = hk_table_decide(t, size, (hk_entry_t)e, kn);
            hak_box_t want = ru->box;
            if (ru->ace && (!kn.ace_enabled || (e == HK_ENTRY_WRAP && !kn.wrap_l2)))
                want = HAK_BOX_MMAP;
            if (d.box != want)
                FAIL("size %zu entry %d knobs %d/%d: box %s, rule %d says %s", size, e,
                     kn.ace_enabled, kn.wrap_l2, hak_box_name(d.box), r, hak_box_name(want));
            if (!class_ok(d.box, d.cls))
                FAIL("size %zu: box %s got invalid class %d", size, hak_box_name(d.box), d.cls);
            if (d.box != HAK_BOX_MMAP && class_size(d.box, d.cls) < size)
                FAIL("size %zu: box %s class %d holds only %zu bytes", size, hak_box_name(d.box),
                     d.cls, class_size(d.box, d.cls));
            if (d.box != HAK_BOX_MMAP && d.cls != hk_box_class(d.box, size))
                FAIL("size %zu: class %d, hk_box_class says %d", size, d.cls,
                     hk_box_class(d.box, size));
        }
    }
}

static void check_table(const hk_table *t)
{
    if (t->n < 1 || t->n > HK_TABLE_MAX_RULES)
        FAIL("accepted a table of %d rules", t->n);
    if (t->rules[0].lo != 0)
        FAIL("first rule starts at %zu", t->rules[0].lo);
    if (t->rules[t->n - 1].hi != SIZE_MAX)
        FAIL("last rule ends at %zu", t->rules[t->n - 1].hi);
    for (int i = 0; i < t->n; i++) {
        const hk_rule *r = &t->rules[i];
        if (r->lo > r->hi)
            FAIL("rule %d: lo %zu > hi %zu", i, r->lo, r->hi);
        if (i > 0 && r->lo != t->rules[i - 1].hi + 1)
            FAIL("rule %d starts at %zu, previous ends at %zu", i, r->lo, t->rules[i - 1].hi);
        if (r->box <= HAK_BOX_NONE || r->box >= HAK_BOX_COUNT)
            FAIL("rule %d: box %d", i, (int)r->box);
        if (r->hi > box_max[r->box])
            FAIL("rule %d: box %s given sizes up to %zu", i, hak_box_name(r->box), r->hi);
        if (r->ace && r->box != HAK_BOX_POOL && r->box != HAK_BOX_L25)
            FAIL("rule %d: ace on a %s row", i, hak_box_name(r->box));
    }
    if (t->tiny_end != hk_table_tiny_end(t))
        FAIL("tiny_end %zu, expected %zu", t->tiny_end, hk_table_tiny_end(t));

    /* Probes: every rule's bounds and their neighbours, its middle, and fixed sizes. */
    static const size_t fixed[] = {0,       1,     16,      1023,    1024,
                                   1025,    8192,  8193,    32768,   32769,
                                   53248,   53249, 2097151, 2097152, (size_t)1 << 46,
                                   SIZE_MAX};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        check_decide(t, fixed[i]);
    for (int i = 0; i < t->n; i++) {
        const hk_rule *r = &t->rules[i];
        check_decide(t, r->lo);
        check_decide(t, r->hi);
        check_decide(t, r->lo + (r->hi - r->lo) / 2);
        if (r->lo > 0)
            check_decide(t, r->lo - 1);
        if (r->hi < SIZE_MAX)
            check_decide(t, r->hi + 1);
    }
}

static bool same_table(const hk_table *a, const hk_table *b)
{
    if (a->n != b->n || a->tiny_end != b->tiny_end)
        return false;
    for (int i = 0; i < a->n; i++) /* field by field: hk_rule has padding */
        if (a->rules[i].lo != b->rules[i].lo || a->rules[i].hi != b->rules[i].hi ||
            a->rules[i].box != b->rules[i].box || a->rules[i].ace != b->rules[i].ace)
            return false;
    return true;
}

static void check_roundtrip(const hk_table *t)
{
    int fds[2];
    if (pipe(fds) != 0)
        FAIL("pipe: errno %d", errno);
    /* At most 64 rules of < 80 bytes plus the header: far below the pipe's buffer. */
    hk_table_write(t, fds[1]);
    close(fds[1]);
    static char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            FAIL("read: errno %d", errno);
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf)
            FAIL("hk_table_write wrote more than %zu bytes", sizeof buf);
    }
    close(fds[0]);
    hk_table back;
    char err[256] = "";
    if (!hk_table_parse(buf, len, &back, err, sizeof err))
        FAIL("hk_table_write output does not parse back: %s\n%.*s", err, (int)len, buf);
    if (!same_table(t, &back))
        FAIL("hk_table_write -> hk_table_parse is not the identical table:\n%.*s", (int)len, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy in its own heap block, so ASan sees any read past the end of the text. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    hk_table t, canary;
    memset(&t, 0x5a, sizeof t);
    memcpy(&canary, &t, sizeof t);
    char err[160];
    memset(err, 0x7f, sizeof err);
    bool ok = hk_table_parse(text, size, &t, err, sizeof err);
    free(text);
    if (!ok) {
        if (!memchr(err, '\0', sizeof err))
            FAIL("rejected without a NUL-terminated message");
        if (strncmp(err, "line ", 5) != 0)
            FAIL("rejection message does not name a line: %s", err);
        if (memcmp(&t, &canary, sizeof t) != 0)
            FAIL("a rejected parse modified the output table");
        return 0;
    }
    check_table(&t);
    check_roundtrip(&t);
    /* A tiny error buffer must not overflow either (hk_fmt truncates). */
    char small[8];
    hk_table t2;
    (void)hk_table_parse((const char *)data, size, &t2, small, sizeof small);
    return 0;
}

/* ---------------------------------------------------------------- seeds */

static void write_seed(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("HK_FUZZ_WRITE_SEEDS");
    if (!dir || !*dir)
        return 0;
    /* The built-in table exactly as hakmem-routes prints it. */
    char path[4096];
    snprintf(path, sizeof path, "%s/builtin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    hk_table_write(&hk_table_builtin, fd);
    close(fd);
    write_seed(dir, "builtin-bare",
               "0 1024 tiny\n1025 8192 pool ace\n8193 32768 mid\n32769 53248 pool ace\n"
               "53249 2097151 l25 ace\n2097152 18446744073709551615 mmap\n");
    write_seed(dir, "all-mmap", "0 18446744073709551615 mmap\n");
    write_seed(dir, "comments-crlf",
               "# a comment\r\n0\t1000 tiny # inline\r\n1001 1024 tiny\r\n\r\n"
               "1025 2097152 l25 ace\r\n2097153 18446744073709551615 mmap");
    write_seed(dir, "no-ace-pool-mid",
               "0 512 tiny\n513 8192 pool\n8193 32768 mid\n32769 53248 pool\n"
               "53249 2097152 l25\n2097153 18446744073709551615 mmap\n");
    write_seed(dir, "mid-first", "0 32768 mid\n32769 18446744073709551615 mmap\n");
    write_seed(dir, "gap", "0 1024 tiny\n1030 18446744073709551615 mmap\n");
    write_seed(dir, "overlap", "0 1024 tiny\n1000 18446744073709551615 mmap\n");
    write_seed(dir, "too-big", "0 2048 tiny\n2049 18446744073709551615 mmap\n");
    write_seed(dir, "overflow", "0 18446744073709551616 mmap\n");
    write_seed(dir, "bad-ace", "0 1024 tiny ace\n1025 18446744073709551615 mmap\n");
    /* Many small rules (near HK_TABLE_MAX_RULES). */
    {
        static char many[8192];
        size_t o = 0;
        for (int i = 0; i < 63; i++)
            o += (size_t)snprintf(many + o, sizeof many - o, "%d %d tiny\n", i * 16, i * 16 + 15);
        snprintf(many + o, sizeof many - o, "1008 18446744073709551615 mmap\n");
        write_seed(dir, "many-rules", many);
    }
    exit(0);
}
