/*
 * Fuzz target: a subscriber's frame reader and fragment assembler over a
 * log buffer whose term (mode 0) or whole file, metadata included (mode 1),
 * another process wrote: what a hostile or broken publisher can make a
 * subscriber read.  Reading must deliver, stop or say FL_EPROTO; it must
 * never read or write outside the mapping.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "log_buffer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERM (64u * 1024u)
#define MTU  1024u

static void
on_fragment(void *arg, const uint8_t *buf, size_t len, const struct fl_header *h)
{
	(void)h;
	*(size_t *)arg += fuzz_touch(buf, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = fli_log_file_length(TERM);
	uint8_t *mem;
	struct fli_log l;
	uint64_t pos = 0;
	size_t got = 0;

	mem = fuzz_mapping(size, len);
	if (mem == NULL)
		return 0;
	fli_log_format(mem, TERM, MTU, 7, 1, false, 1, 1);
	/* A log's first position, where a subscriber starts (not 0: the term
	 * number is part of each frame's check). */
	pos = ((struct fli_log_meta *)mem)->tail;
	if (data[0] & 1)
		fuzz_copy_rest(mem, len, data, size); /* metadata too */
	else
		fuzz_copy_rest(mem + FL_LOG_META_SIZE, TERM, data, size);
	if (fli_log_attach(&l, mem, len) == 0) {
		for (int i = 0; i < 64; i++)
			if (fli_log_read(&l, &pos, 7, on_fragment, &got, 16) <= 0)
				break;
	}
	free(mem);
	return 0;
}
