/*
 * NNG 1.5.2 (Debian's libnng.so.1): an allocation of NNG's own that fails
 * while the first socket is opened (NNG initialising itself) crashes or
 * hangs the program instead of the open returning NNG_ENOMEM
 * (nng_rep0_open(3): "NNG_ENOMEM Insufficient memory is available").
 * Here, failing NNG's k-th allocation call (once):
 *
 *     k = 1, 2, 3, 8, 10   SIGSEGV inside nng_rep0_open (first frames:
 *                          pthread_cond_wait <- libnng.so.1+0x2ce4c)
 *     k = 4, 5             nng_rep0_open never returns (a hang)
 *     k = 6, 15, 20        NNG_ENOMEM, as documented
 *
 * Found by a target/alloc sweep of the NNG target (faultline run
 * targets/nng/findings/nng-alloc-open.yaml --sweep: the sweep's first
 * faulted run crashes).
 *
 * The allocation-failure shim below is the one faultline's target/alloc
 * point amounts to: malloc, calloc and realloc defined in this program,
 * failing the FAIL_AT-th call whose caller lies in libnng.so's code and
 * passing every other call (this program's, libc's) to glibc's own.
 *
 *     cc nng-alloc-failure.c -o alloc-failure -lnng -lpthread
 *     ./alloc-failure 1     # Segmentation fault (exit 139)
 *     ./alloc-failure 4     # hangs (timeout 5 ./alloc-failure 4: exit 124)
 *     ./alloc-failure 6     # nng_rep0_open: Out of memory, exit 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

/* ---- the allocation-failure shim ------------------------------------------ */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static uintptr_t lib_lo, lib_hi; /* libnng.so's executable segment */
static long fail_at = -1, calls;
static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;

static int
find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (strstr(info->dlpi_name, "libnng.so") == NULL)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			lib_lo = info->dlpi_addr + ph->p_vaddr;
			lib_hi = lib_lo + ph->p_memsz;
		}
	}
	return 1;
}

/* This call (returning to ra) fails: the FAIL_AT-th from libnng. */
static int
fails(void *ra)
{
	int f;

	if (fail_at < 0)
		return 0;
	if (lib_hi == 0)
		dl_iterate_phdr(find_lib, NULL);
	if ((uintptr_t)ra < lib_lo || (uintptr_t)ra >= lib_hi)
		return 0;
	pthread_mutex_lock(&shim_lock);
	f = ++calls == fail_at;
	pthread_mutex_unlock(&shim_lock);
	if (f)
		errno = ENOMEM;
	return f;
}

void *
malloc(size_t n)
{
	return fails(__builtin_return_address(0)) ? NULL : __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	return fails(__builtin_return_address(0)) ? NULL : __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	return fails(__builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}

/* ---- the program ------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	nng_socket s;
	int rv;

	fail_at = argc > 1 ? atol(argv[1]) : 1;
	rv = nng_rep0_open(&s);
	printf("nng_rep0_open: %s\n", nng_strerror(rv));
	fflush(stdout);
	if (rv == 0)
		nng_close(s);
	nng_fini();
	return 0;
}
