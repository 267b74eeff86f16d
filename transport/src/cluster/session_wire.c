/*
 * Encoding and checked decoding of client session frames (session_wire.h).
 *
 * One table says where each type's fields sit; encoding and decoding both
 * walk it, and one function checks the ranges either way.  Decoding
 * rebuilds the header from what it read and compares it with the frame,
 * so a byte no field names is checked to be zero without a list of them.
 */
#include "session_wire.h"

#include <string.h>

#include "faultline/error.h"
#include "le.h"
#include "raft.h"
#include "wire.h"

#define COMMON_HDR 8u

enum field { F_NONE, F_TERM, F_SESSION, F_CORRELATION, F_INDEX, F_STREAM, F_LEADER, F_CODE };

struct layout {
	uint8_t type;
	uint8_t hdr;               /* header bytes, the common 8 included */
	uint32_t min_len, max_len; /* of the data */
	struct {
		uint8_t field, at, width;
	} f[6];
};

static const struct layout layouts[] = {
	{ FLI_SW_CONNECT, 24, 1, FL_NAME_MAX, { { F_CORRELATION, 8, 8 }, { F_STREAM, 16, 4 } } },
	{ FLI_SW_KEEPALIVE, 24, 0, 0, { { F_TERM, 8, 8 }, { F_SESSION, 16, 8 } } },
	{ FLI_SW_CLOSE, 24, 0, 0, { { F_TERM, 8, 8 }, { F_SESSION, 16, 8 } } },
	{ FLI_SW_COMMAND,
	  32,
	  1,
	  FLI_SW_MAX_COMMAND,
	  { { F_TERM, 8, 8 }, { F_SESSION, 16, 8 }, { F_CORRELATION, 24, 8 } } },
	{ FLI_SW_SESSION_EVENT,
	  40,
	  0,
	  FLI_SW_MAX_DETAIL,
	  { { F_SESSION, 8, 8 },
	    { F_CORRELATION, 16, 8 },
	    { F_TERM, 24, 8 },
	    { F_LEADER, 32, 2 },
	    { F_CODE, 34, 1 },
	    { F_STREAM, 36, 4 } } },
	{ FLI_SW_NEW_LEADER,
	  32,
	  0,
	  0,
	  { { F_SESSION, 8, 8 }, { F_TERM, 16, 8 }, { F_LEADER, 24, 2 }, { F_STREAM, 28, 4 } } },
	{ FLI_SW_RESPONSE,
	  48,
	  0,
	  FLI_KV_MAX_VALUE,
	  { { F_SESSION, 8, 8 },
	    { F_CORRELATION, 16, 8 },
	    { F_TERM, 24, 8 },
	    { F_INDEX, 32, 8 },
	    { F_CODE, 40, 1 } } },
};

static const struct layout *
layout_of(uint8_t type)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

static uint64_t
get_field(const struct fli_sw_msg *m, uint8_t f)
{
	switch (f) {
	case F_TERM: return m->term;
	case F_SESSION: return m->session;
	case F_CORRELATION: return m->correlation;
	case F_INDEX: return m->index;
	case F_STREAM: return (uint32_t)m->stream;
	case F_LEADER: return (uint16_t)m->leader;
	case F_CODE: return m->code;
	}
	return 0;
}

static void
set_field(struct fli_sw_msg *m, uint8_t f, uint64_t v)
{
	switch (f) {
	case F_TERM: m->term = v; return;
	case F_SESSION: m->session = v; return;
	case F_CORRELATION: m->correlation = v; return;
	case F_INDEX: m->index = v; return;
	case F_STREAM: m->stream = (int32_t)(uint32_t)v; return;
	case F_LEADER: m->leader = (int16_t)(uint16_t)v; return;
	case F_CODE: m->code = (uint8_t)v; return;
	}
}

/* The common header and the fields; every other header byte zero. */
static void
put_header(const struct layout *l, const struct fli_sw_msg *m, uint8_t *buf)
{
	memset(buf, 0, l->hdr);
	fli_le_put(2, buf, FLI_SW_MAGIC);
	buf[2] = FLI_SW_VERSION;
	buf[3] = l->type;
	fli_le_put(4, buf + 4, m->len);
	for (int k = 0; k < 6 && l->f[k].field != F_NONE; k++)
		fli_le_put(l->f[k].width, buf + l->f[k].at, get_field(m, l->f[k].field));
}

/* 1 if buf[0..len) is a channel name fl_name_validate accepts. */
static int
channel_ok(const uint8_t *buf, size_t len)
{
	char name[FL_NAME_MAX + 1];

	if (len == 0 || len > FL_NAME_MAX || memchr(buf, 0, len) != NULL)
		return 0;
	memcpy(name, buf, len);
	name[len] = '\0';
	return fl_name_validate(name) == 0;
}

/* The ranges of m's fields and data, by its type (l). */
static int
check(const struct layout *l, const struct fli_sw_msg *m, const char **why)
{
	uint8_t t = l->type;

	if (m->len < l->min_len || m->len > l->max_len)
		return fli_wire_refuse(why, "data length out of range");
	if (m->len > 0 && m->data == NULL)
		return fli_wire_refuse(why, "no data");
	if (t != FLI_SW_CONNECT && t != FLI_SW_SESSION_EVENT && (m->session == 0 || m->term == 0))
		return fli_wire_refuse(why, "session or term 0");
	if (t == FLI_SW_RESPONSE && (m->index == 0 || m->code > FLI_KV_BAD))
		return fli_wire_refuse(why, "index 0 or status out of range");
	if (t == FLI_SW_SESSION_EVENT &&
	    (m->code > FLI_SW_CLOSED || m->leader < -1 || m->leader >= FLI_RAFT_MAX_NODES))
		return fli_wire_refuse(why, "event code or leader out of range");
	if (t == FLI_SW_NEW_LEADER && (m->leader < 0 || m->leader >= FLI_RAFT_MAX_NODES))
		return fli_wire_refuse(why, "leader out of range");
	if (t == FLI_SW_CONNECT && !channel_ok(m->data, m->len))
		return fli_wire_refuse(why, "invalid response channel");
	if (t == FLI_SW_SESSION_EVENT)
		for (uint32_t i = 0; i < m->len; i++)
			if (m->data[i] < 0x20 || m->data[i] > 0x7e)
				return fli_wire_refuse(why, "detail not printable ASCII");
	return 0;
}

size_t
fli_sw_size(const struct fli_sw_msg *m)
{
	const struct layout *l = layout_of(m->type);

	return l != NULL ? l->hdr + (size_t)m->len : 0;
}

size_t
fli_sw_encode(const struct fli_sw_msg *m, uint8_t *buf, size_t cap)
{
	const struct layout *l = layout_of(m->type);
	size_t n = fli_sw_size(m);

	if (l == NULL || n > cap || check(l, m, NULL) != 0)
		return 0;
	put_header(l, m, buf);
	if (m->len > 0)
		memcpy(buf + l->hdr, m->data, m->len);
	return n;
}

int
fli_sw_decode(const uint8_t *buf, size_t len, struct fli_sw_msg *m, const char **why)
{
	uint8_t again[64];
	const struct layout *l;
	int rc;

	if (fli_wire_head(buf, len, COMMON_HDR, FLI_SW_MAGIC, FLI_SW_VERSION, why) != 0)
		return FL_EPROTO;
	l = layout_of(buf[3]);
	if (l == NULL)
		return fli_wire_refuse(why, "unknown frame type");
	if (len < l->hdr)
		return fli_wire_refuse(why, "frame shorter than its type's header");
	memset(m, 0, sizeof(*m));
	m->type = l->type;
	m->len = (uint32_t)fli_le_get(4, buf + 4);
	if (m->len != len - l->hdr)
		return fli_wire_refuse(why, "data length is not the frame's");
	for (int k = 0; k < 6 && l->f[k].field != F_NONE; k++)
		set_field(m, l->f[k].field, fli_le_get(l->f[k].width, buf + l->f[k].at));
	m->data = m->len > 0 ? buf + l->hdr : NULL;
	rc = check(l, m, why);
	if (rc != 0)
		return rc;
	put_header(l, m, again);
	if (memcmp(again, buf, l->hdr) != 0)
		return fli_wire_refuse(why, "nonzero reserved bytes");
	return 0;
}
