/*
 * Fuzz target: the to-driver command ring (MPSC) and the to-clients
 * broadcast, read over bytes another process wrote, trailer included:
 * what a hostile client makes the driver read, and a hostile driver a
 * client.  Reading must deliver records, skip or refuse them, and stop
 * within the capacity the reader knows; never loop without end or touch
 * memory outside the ring.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (4u * 1024u)

static void
on_record(void *arg, int32_t type, const uint8_t *buf, size_t len)
{
	(void)type;
	*(size_t *)arg += fuzz_touch(buf, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = CAP + 4096; /* the ring and room for its trailer */
	uint8_t *mem, scratch[8192];
	size_t got = 0;

	mem = fuzz_mapping(size, len);
	if (mem == NULL)
		return 0;
	if (data[0] & 1) {
		struct fli_bcast b;
		struct fli_bcast_rx rx;

		fli_bcast_init(&b, mem, CAP, 1);
		fuzz_copy_rest(mem, len, data, size);
		fli_bcast_rx_init(&rx, &b, scratch, sizeof(scratch));
		for (int i = 0; i < 16; i++)
			if (fli_bcast_receive(&rx, on_record, &got, 16) == 0)
				break;
	} else {
		struct fli_mpsc r;

		fli_mpsc_init(&r, mem, CAP, 1);
		fuzz_copy_rest(mem, len, data, size);
		for (int i = 0; i < 16; i++)
			if (fli_mpsc_read(&r, on_record, &got, 16) <= 0)
				break;
		(void)fli_mpsc_unblock(&r, UINT64_MAX / 2, 1);
	}
	free(mem);
	return 0;
}
