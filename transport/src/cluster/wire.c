/*
 * Encoding and checked decoding of consensus frames (wire.h).
 */
#include "wire.h"

#include <string.h>

#include "faultline/error.h"
#include "le.h"

size_t
fli_wire_size(const struct fli_raft_msg *m)
{
	size_t n = FLI_WIRE_HEADER;

	for (uint32_t k = 0; k < m->n_entries; k++)
		n += FLI_WIRE_ENTRY_HDR + m->entries[k].len;
	return n;
}

size_t
fli_wire_encode(const struct fli_raft_msg *m, uint8_t *buf, size_t cap)
{
	size_t n = fli_wire_size(m), at = FLI_WIRE_HEADER;

	if (n > cap || m->n_entries > FLI_WIRE_MAX_ENTRIES)
		return 0;
	memset(buf, 0, FLI_WIRE_HEADER);
	fli_le_put(2, buf, FLI_WIRE_MAGIC);
	buf[2] = FLI_WIRE_VERSION;
	buf[3] = m->type;
	fli_le_put(2, buf + 4, (uint16_t)m->from);
	fli_le_put(2, buf + 6, (uint16_t)m->to);
	fli_le_put(8, buf + 8, m->term);
	fli_le_put(8, buf + 16, m->index);
	fli_le_put(8, buf + 24, m->log_term);
	fli_le_put(8, buf + 32, m->commit);
	buf[40] = m->ok ? 1 : 0;
	fli_le_put(4, buf + 44, m->n_entries);
	for (uint32_t k = 0; k < m->n_entries; k++) {
		const struct fli_raft_entry *e = &m->entries[k];

		fli_le_put(8, buf + at, e->term);
		fli_le_put(2, buf + at + 8, e->type);
		fli_le_put(2, buf + at + 10, 0);
		fli_le_put(4, buf + at + 12, e->len);
		if (e->len > 0)
			memcpy(buf + at + FLI_WIRE_ENTRY_HDR, e->data, e->len);
		at += FLI_WIRE_ENTRY_HDR + e->len;
	}
	return n;
}

int
fli_wire_refuse(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return FL_EPROTO;
}

int
fli_wire_head(const uint8_t *buf, size_t len, size_t header, uint16_t magic, uint8_t version,
              const char **why)
{
	if (len < header)
		return fli_wire_refuse(why, "frame shorter than the header");
	if (fli_le_get(2, buf) != magic)
		return fli_wire_refuse(why, "bad magic");
	if (buf[2] != version)
		return fli_wire_refuse(why, "unknown version");
	return 0;
}

int
fli_wire_decode(const uint8_t *buf, size_t len, struct fli_raft_msg *m, struct fli_raft_entry *ents,
                const char **why)
{
	size_t at = FLI_WIRE_HEADER;

	if (fli_wire_head(buf, len, FLI_WIRE_HEADER, FLI_WIRE_MAGIC, FLI_WIRE_VERSION, why) != 0)
		return FL_EPROTO;
	memset(m, 0, sizeof(*m));
	m->type = buf[3];
	if (m->type < FLI_MSG_VOTE_REQ || m->type > FLI_MSG_APPEND_RESP)
		return fli_wire_refuse(why, "unknown message type");
	m->from = (int16_t)fli_le_get(2, buf + 4);
	m->to = (int16_t)fli_le_get(2, buf + 6);
	if (m->from < 0 || m->from >= FLI_RAFT_MAX_NODES || m->to < 0 ||
	    m->to >= FLI_RAFT_MAX_NODES)
		return fli_wire_refuse(why, "node id out of range");
	m->term = fli_le_get(8, buf + 8);
	m->index = fli_le_get(8, buf + 16);
	m->log_term = fli_le_get(8, buf + 24);
	m->commit = fli_le_get(8, buf + 32);
	if (buf[40] > 1 || buf[41] != 0 || buf[42] != 0 || buf[43] != 0)
		return fli_wire_refuse(why, "bad flags");
	m->ok = buf[40] == 1;
	m->n_entries = fli_le_get(4, buf + 44);
	if (m->n_entries > FLI_WIRE_MAX_ENTRIES)
		return fli_wire_refuse(why, "too many entries");
	if (m->n_entries > 0 && m->type != FLI_MSG_APPEND_REQ)
		return fli_wire_refuse(why, "entries in a message that carries none");
	/* An index that could overflow when entries are added to it is no
	 * index a log of this node can have. */
	if (m->index > UINT64_MAX / 2 || m->commit > UINT64_MAX / 2)
		return fli_wire_refuse(why, "index out of range");
	for (uint32_t k = 0; k < m->n_entries; k++) {
		struct fli_raft_entry *e = &ents[k];

		if (len - at < FLI_WIRE_ENTRY_HDR)
			return fli_wire_refuse(why, "entry header past the frame");
		e->term = fli_le_get(8, buf + at);
		e->type = fli_le_get(2, buf + at + 8);
		e->len = fli_le_get(4, buf + at + 12);
		if (e->type < FLI_ENTRY_NOOP || e->type > FLI_ENTRY__MAX ||
		    fli_le_get(2, buf + at + 10) != 0)
			return fli_wire_refuse(why, "bad entry type");
		if (e->term == 0 || e->term > m->term)
			return fli_wire_refuse(why, "entry term out of range");
		at += FLI_WIRE_ENTRY_HDR;
		if (e->len > len - at)
			return fli_wire_refuse(why, "entry data past the frame");
		e->data = e->len > 0 ? buf + at : NULL;
		at += e->len;
	}
	if (at != len)
		return fli_wire_refuse(why, "bytes after the last entry");
	m->entries = m->n_entries > 0 ? ents : NULL;
	return 0;
}
