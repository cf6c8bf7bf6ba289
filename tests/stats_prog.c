/* stats_prog.c: a workload of known counts for tests/stats.sh, run under
 * LD_PRELOAD=libhakmem.so (HAKMEM_STATS=json prints the exit-time JSON on stderr).
 *
 *   stats_prog OUTDIR ITEM...
 *     ITEM = SIZE:N:F       the main thread mallocs N blocks of SIZE and frees the first F
 *          | t:SIZE:N:F     the same in a second thread, which stays alive (blocked) until
 *                           after malloc_info, so that its counts are read from a live cache
 *
 *   1. the second thread is started and waits (what pthread_create allocates comes first);
 *   2. OUTDIR/before.json: hak_stats_print_json (looked up with dlsym: the preloaded library's);
 *   3. the workload (every block written, the live ones kept);
 *   4. malloc_info(0, stdout) with stdout unbuffered (no stdio buffer is allocated), then one
 *      line "mallinfo arena=.. ordblks=.. hblks=.. hblkhd=.. uordblks=.. fordblks=.. keepcost=.."
 *      and one line "mallinfo2 ..." with the same fields;
 *   5. the second thread exits; the process exits (the exit-time statistics on stderr).
 * Between 2 and the exit nothing else allocates (no stdio buffers, no dlsym): every count the
 * test sees move is the workload's. Exit status 0, or 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    size_t size;
    long n, f;
} item;

#define MAX_ITEMS 64
static item main_items[MAX_ITEMS], thread_items[MAX_ITEMS];
static int n_main, n_thread;
static int go[2], done[2], leave[2];

#define MAX_BLOCKS 100000
static void *main_blocks[MAX_BLOCKS], *thread_blocks[MAX_BLOCKS]; /* not from malloc */

static void run(const item *it, int count, void **p)
{
    for (int i = 0; i < count; i++) {
        for (long k = 0; k < it[i].n; k++) {
            p[k] = malloc(it[i].size);
            if (!p[k])
                exit(2);
            memset(p[k], 0x5a, it[i].size < 64 ? it[i].size : 64);
        }
        for (long k = 0; k < it[i].f; k++)
            free(p[k]);
        p += it[i].n; /* the live ones stay referenced */
    }
}

static void wait_byte(int fd)
{
    char c;
    while (read(fd, &c, 1) < 0)
        ;
}

static void *thread_main(void *arg)
{
    (void)arg;
    wait_byte(go[0]);
    run(thread_items, n_thread, thread_blocks);
    if (write(done[1], "d", 1) != 1)
        exit(2);
    wait_byte(leave[0]);
    return NULL;
}

static int parse(const char *s, item *it)
{
    char *end;
    it->size = strtoull(s, &end, 10);
    if (*end != ':')
        return -1;
    it->n = strtol(end + 1, &end, 10);
    if (*end != ':')
        return -1;
    it->f = strtol(end + 1, &end, 10);
    return *end || it->n < 1 || it->n > MAX_BLOCKS / MAX_ITEMS || it->f < 0 || it->f > it->n ? -1
                                                                                             : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: stats_prog OUTDIR ITEM...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        int t = strncmp(argv[i], "t:", 2) == 0;
        int *n = t ? &n_thread : &n_main;
        item *it = t ? thread_items : main_items;
        if (*n >= MAX_ITEMS || parse(argv[i] + 2 * t, &it[*n]) != 0) {
            fprintf(stderr, "stats_prog: bad item %s\n", argv[i]);
            return 2;
        }
        (*n)++;
    }
    int (*json)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "hak_stats_print_json");
    if (!json) {
        fprintf(stderr, "stats_prog: hak_stats_print_json not found (not under hakmem?)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t th;
    if (pipe(go) || pipe(done) || pipe(leave) || pthread_create(&th, NULL, thread_main, NULL))
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/before.json", argv[1]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || json(fd) != 0 || close(fd) != 0)
        return 2;

    run(main_items, n_main, main_blocks);
    if (write(go[1], "g", 1) != 1)
        return 2;
    wait_byte(done[0]);

    if (malloc_info(0, stdout) != 0)
        return 2;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo m = mallinfo();
#pragma GCC diagnostic pop
    struct mallinfo2 m2 = mallinfo2();
    printf("mallinfo arena=%d ordblks=%d hblks=%d hblkhd=%d uordblks=%d fordblks=%d keepcost=%d\n",
           m.arena, m.ordblks, m.hblks, m.hblkhd, m.uordblks, m.fordblks, m.keepcost);
    printf("mallinfo2 arena=%zu ordblks=%zu hblks=%zu hblkhd=%zu uordblks=%zu fordblks=%zu "
           "keepcost=%zu\n",
           m2.arena, m2.ordblks, m2.hblks, m2.hblkhd, m2.uordblks, m2.fordblks, m2.keepcost);
    if (write(leave[1], "l", 1) != 1 || pthread_join(th, NULL) != 0)
        return 2;
    return 0;
}
