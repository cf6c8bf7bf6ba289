/* decide_cost.c: a loop of routing decisions, to be counted by valgrind --tool=callgrind
 * (bench/decide-cost.sh). argv[1]: "legacy", "router" or "none" (the loop alone);
 * argv[2]: decisions. Sizes cycle through a mix of small requests (the common path).
 */
#include <hakmem.h>
#include <hakmem_migration.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: decide_cost legacy|router|none N\n");
        return 2;
    }
    int which = argv[1][0] == 'l' ? 0 : argv[1][0] == 'r' ? 1 : 2;
    long n = atol(argv[2]);
    hak_knobs_t k = hak_knobs();
    static const size_t sz[8] = {16, 100, 512, 1024, 24, 64, 200, 800};
    unsigned long acc = 0;
    /* One loop per mode, so that each differs from the bare loop only by the call. */
    if (which == 0)
        for (long i = 0; i < n; i++) {
            hak_decision_t d = hak_legacy_decide(sz[i & 7], HAK_ENTRY_WRAP, k);
            acc += (unsigned)d.box + (unsigned)d.cls;
        }
    else if (which == 1)
        for (long i = 0; i < n; i++) {
            hak_decision_t d = hak_router_decide(sz[i & 7], HAK_ENTRY_WRAP, k);
            acc += (unsigned)d.box + (unsigned)d.cls;
        }
    else
        for (long i = 0; i < n; i++) {
            hak_decision_t d = {HAK_BOX_TINY, (int)sz[i & 7]};
            acc += (unsigned)d.box + (unsigned)d.cls;
            __asm__ volatile("" : "+r"(acc)); /* keep the loop a loop */
        }
    printf("%lu\n", acc);
    return 0;
}
