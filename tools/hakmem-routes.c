/* hakmem-routes: print the Central Router's routing table, or validate a candidate.
 *
 *   hakmem-routes               the table in force (the built-in one, or HAKMEM_ROUTER_TABLE's)
 *   hakmem-routes --table FILE  validate FILE and print it the same way
 * Exit status: 0 valid, 1 invalid table (the fault on stderr), 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "hk_front.h"
#include "hk_router_inline.h"
#include "hk_table.h"

/* The boxes' limits, from the box-descriptor array: a rule may not give a box more. */
static void print_limits(void)
{
    printf("# box limits (the largest size each box has a class for):");
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++)
        printf(" %s %zu%s", hak_box_name((hak_box_t)b), hk_boxes[b].max,
               b + 1 < HAK_BOX_COUNT ? "," : "\n");
    fflush(stdout);
}

static int usage(FILE *f)
{
    fputs("usage: hakmem-routes [--table FILE]\n"
          "Prints the routing table (<lo> <hi> <box> [ace], one rule per line); with --table,\n"
          "validates FILE and prints it the same way (exit 1 with the fault when invalid).\n"
          "  --table FILE  validate this candidate table and print it\n"
          "  --help        this text\n",
          f);
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 1) {
        hk_init(); /* reads HAKMEM_ROUTER_TABLE */
        print_limits();
        hk_table_write(hk_router_table, 1);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return usage(stdout);
    if (argc != 3 || strcmp(argv[1], "--table") != 0)
        return usage(stderr);
    static hk_table t;
    char err[256];
    if (!hk_table_load_file(argv[2], false, &t, err, sizeof err)) {
        fprintf(stderr, "hakmem-routes: %s: %s\n", argv[2], err);
        return 1;
    }
    print_limits();
    hk_table_write(&t, 1);
    return 0;
}
