/* bench_tiny_hot: malloc/free of one small size in a hot loop. Blocks are taken in batches of
 * 64 (allocate 64, stamp each, then verify and free each), so the allocator's per-thread fast
 * path is what is measured; every block is written and read back, so the compiler cannot
 * elide the calls. One op is one malloc+free pair: ops/s = iterations / time. Exits 1 on a
 * corrupted block or a failed allocation.
 * Usage: bench_tiny_hot size iterations
 */
#include "bench_util.h"

#define USAGE "bench_tiny_hot size iterations"
#define BATCH 64
static const char *prog = "bench_tiny_hot";

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    size_t size = (size_t)bu_arg(argv[1], USAGE, 1);
    long long iters = bu_arg(argv[2], USAGE, 1);
    void *blk[BATCH];
    unsigned long long sum = 0;
    long long done = 0;
    double t0 = bu_now();
    while (done < iters) {
        int n = iters - done < BATCH ? (int)(iters - done) : BATCH;
        for (int i = 0; i < n; i++) {
            void *p = malloc(size);
            if (!p)
                bu_die(prog, "malloc(%zu) failed", size);
            bu_stamp(p, size, (uint64_t)(done + i));
            blk[i] = p;
        }
        for (int i = 0; i < n; i++) {
            if (!bu_check(blk[i], size, (uint64_t)(done + i)))
                bu_die(prog, "corrupted block %p (%zu bytes)", blk[i], size);
            sum += ((unsigned char *)blk[i])[size - 1];
            free(blk[i]);
        }
        done += n;
    }
    double s = bu_now() - t0;
    printf("bench_tiny_hot size=%zu iterations=%lld batch=%d ops/s=%.0f (checksum %llu)\n", size,
           iters, BATCH, (double)iters / s, sum & 0xffff);
    return 0;
}
