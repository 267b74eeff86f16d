/*
 * Reassembly of fragmented messages, one buffer per session.  See
 * struct fl_fragment_assembler in client.h.
 */
#include <stdlib.h>
#include <string.h>

#include "faultline/client.h"
#include "log_buffer.h"

/* The longest message a publication may send: max_message is an eighth of
 * the term, and no term is longer than FL_LOG_MAX_CAP. */
#define FA_MAX_MESSAGE ((size_t)FL_LOG_MAX_CAP / 8)

struct fl_fa_session {
	int32_t session_id;
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool active;
};

void
fl_fragment_assembler_init(struct fl_fragment_assembler *fa, fl_fragment_handler delegate,
                           void *clientd)
{
	memset(fa, 0, sizeof(*fa));
	fa->delegate = delegate;
	fa->delegate_clientd = clientd;
}

static struct fl_fa_session *
session(struct fl_fragment_assembler *fa, int32_t id)
{
	struct fl_fa_session *n;
	size_t i;

	for (i = 0; i < fa->nsessions_; i++)
		if (fa->sessions_[i].session_id == id)
			return &fa->sessions_[i];
	n = realloc(fa->sessions_, (fa->nsessions_ + 1) * sizeof(*n));
	if (n == NULL)
		return NULL;
	fa->sessions_ = n;
	memset(&n[fa->nsessions_], 0, sizeof(*n));
	n[fa->nsessions_].session_id = id;
	return &n[fa->nsessions_++];
}

void
fl_fragment_assembler_handler(void *arg, const uint8_t *buffer, size_t length,
                              const struct fl_header *h)
{
	struct fl_fragment_assembler *fa = arg;
	struct fl_fa_session *s;
	struct fl_header whole;

	if ((h->flags & FL_FRAG_UNFRAGMENTED) == FL_FRAG_UNFRAGMENTED) {
		fa->delegate(fa->delegate_clientd, buffer, length, h);
		return;
	}
	s = session(fa, h->session_id);
	if (s == NULL)
		return;
	if (h->flags & FL_FRAG_BEGIN) {
		s->len = 0;
		s->active = true;
	} else if (!s->active) {
		return; /* joined mid-message: drop until the next BEGIN */
	}
	if (length > FA_MAX_MESSAGE || s->len > FA_MAX_MESSAGE - length) {
		/* Longer than any publication can send: wild fragments (a
		 * corrupt or hostile log) must not grow the buffer without end.
		 * Dropped until the next BEGIN. */
		s->active = false;
		return;
	}
	if (s->len + length > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;
		uint8_t *nb;

		while (ncap < s->len + length)
			ncap *= 2;
		nb = realloc(s->buf, ncap);
		if (nb == NULL) {
			s->active = false;
			return;
		}
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, buffer, length);
	s->len += length;
	if (h->flags & FL_FRAG_END) {
		whole = *h;
		whole.flags = FL_FRAG_UNFRAGMENTED;
		s->active = false;
		fa->delegate(fa->delegate_clientd, s->buf, s->len, &whole);
	}
}

void
fl_fragment_assembler_fini(struct fl_fragment_assembler *fa)
{
	size_t i;

	for (i = 0; i < fa->nsessions_; i++)
		free(fa->sessions_[i].buf);
	free(fa->sessions_);
	fa->sessions_ = NULL;
	fa->nsessions_ = 0;
}
