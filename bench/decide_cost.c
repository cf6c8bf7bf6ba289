/* decide_cost.c: a loop of routing decisions, to be counted by valgrind --tool=callgrind
 * (bench/decide-cost.sh). argv[1]: "legacy", "router" or "none" (the loop alone);
 * argv[2]: decisions. Sizes cycle through a mix of small requests (the common path).
 */
#include <hakmem.h>
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
    for (long i = 0; i < n; i++) {
        size_t s = sz[i & 7];
        hak_decision_t d = which == 0   ? hak_legacy_decide(s, HAK_ENTRY_WRAP, k)
                           : which == 1 ? hak_router_decide(s, HAK_ENTRY_WRAP, k)
                                        : (hak_decision_t){HAK_BOX_TINY, (int)s};
        acc += (unsigned)d.box + (unsigned)d.cls;
    }
    printf("%lu\n", acc);
    return 0;
}
