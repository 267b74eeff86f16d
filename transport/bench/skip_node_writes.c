/*
 * An experiment for faultline-cluster-bench, not a safe cluster: loaded
 * with LD_PRELOAD, it makes every pwrite to a file under a "-nodes/"
 * directory (the bench's node files) return at once having written
 * nothing, so that a run shows what a commit costs without its file
 * writes (docs/figures.md, the cluster benchmark):
 *
 *   LD_PRELOAD=build/transport/bench/libfaultline-bench-skip-node-writes.so \
 *       build/transport/bench/faultline-cluster-bench --repeat 3 --kills 1
 *
 * A node started again after a kill then finds nothing in its files.
 * Each fd's path is looked up once (by /proc/self/fd), which is right
 * for the store's files: they stay open for the node's life.
 */
/* Both names are defined here: neither may be an alias of the other. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FDS 4096

static signed char node_file[MAX_FDS]; /* 0 not looked up, 1 a node's, -1 another */

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	if (fd >= 0 && fd < MAX_FDS) {
		if (node_file[fd] == 0) {
			char link[64], path[512];
			ssize_t k;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			k = readlink(link, path, sizeof(path) - 1);
			path[k > 0 ? k : 0] = '\0';
			node_file[fd] = strstr(path, "-nodes/") != NULL ? 1 : -1;
		}
		if (node_file[fd] == 1)
			return (ssize_t)n;
	}
	return real(fd, buf, n, off);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}
