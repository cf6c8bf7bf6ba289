/* hk_maps.h: the process's mappings as /proc/self/maps lists them, read without malloc or
 * stdio (which would allocate between two readings), for tests that hold hakmem's accounting
 * against the kernel's (tests/faultsim.c, tests/hostile.c). Streams the file through a small
 * buffer: a process may have a million mappings (vm.max_map_count). */
#ifndef HK_MAPS_H
#define HK_MAPS_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Total bytes mapped, and how many mappings (*count may be NULL). */
static inline size_t hk_maps_total(long *count)
{
    static char buf[65536 + 1];
    size_t len = 0, total = 0;
    long n = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    for (ssize_t r = 1; fd >= 0 && r > 0;) {
        r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r > 0)
            len += (size_t)r;
        buf[len] = '\0';
        /* every whole line in the buffer (all of it at the end of the file) */
        char *s = buf, *nl;
        while ((nl = strchr(s, '\n')) || (r <= 0 && *s)) {
            char *e;
            unsigned long lo = strtoul(s, &e, 16), hi = *e == '-' ? strtoul(e + 1, &e, 16) : lo;
            total += hi - lo;
            n++;
            if (!nl)
                break;
            s = nl + 1;
        }
        len -= (size_t)(s - buf);
        memmove(buf, s, len);
    }
    if (fd >= 0)
        close(fd);
    if (count)
        *count = n;
    return total;
}

#endif
