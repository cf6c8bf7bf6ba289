/* hk_maps.h: the process's mappings as /proc/self/maps lists them, read without malloc or
 * stdio (which would allocate between two readings), for tests that hold hakmem's accounting
 * against the kernel's (tests/faultsim.c, tests/hostile.c). */
#ifndef HK_MAPS_H
#define HK_MAPS_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Total bytes mapped, and how many mappings (*count may be NULL). */
static inline size_t hk_maps_total(long *count)
{
    static char buf[1 << 22]; /* 65536 mappings of about 60 characters */
    size_t len = 0, total = 0;
    long n = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    ssize_t r;
    while (fd >= 0 && len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    if (fd >= 0)
        close(fd);
    buf[len] = '\0';
    for (char *s = buf; *s;) {
        char *e;
        unsigned long lo = strtoul(s, &e, 16), hi = *e == '-' ? strtoul(e + 1, &e, 16) : lo;
        total += hi - lo;
        n++;
        char *nl = strchr(e, '\n');
        if (!nl)
            break;
        s = nl + 1;
    }
    if (count)
        *count = n;
    return total;
}

#endif
