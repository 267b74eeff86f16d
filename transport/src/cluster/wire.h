/*
 * The cluster's wire format: every message between nodes is one frame of
 * a fixed little-endian header and a body by type.
 *
 *   0  u16 magic FLI_WIRE_MAGIC      2  u8 version      3  u8 type
 *   4  u16 from                      6  u16 to
 *   8  u64 term    16 u64 index    24 u64 log_term    32 u64 commit
 *  40  u8 ok       41 u8[3] zero   44 u32 n_entries
 *  48  n_entries times: u64 term, u16 type, u16 zero, u32 len, len bytes
 *
 * Decoding checks every field against the frame's length and the
 * format's ranges; a frame that fails is FL_EPROTO (the node counts and
 * drops it), never a read out of bounds.
 */
#ifndef FLI_WIRE_H
#define FLI_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define FLI_WIRE_MAGIC       0x464cu
#define FLI_WIRE_VERSION     1u
#define FLI_WIRE_HEADER      48u
#define FLI_WIRE_ENTRY_HDR   16u
#define FLI_WIRE_MAX_ENTRIES 256u

/* fli_wire_refuse sets *why (if why is not NULL) to what; returns
 * FL_EPROTO.  For every decoder of the cluster's frames. */
int fli_wire_refuse(const char **why, const char *what);

/* fli_wire_head checks the start every cluster frame has: at least
 * header bytes, then a u16 magic and a u8 version.  0 or FL_EPROTO (*why
 * says which). */
int fli_wire_head(const uint8_t *buf, size_t len, size_t header, uint16_t magic, uint8_t version,
                  const char **why);

/* fli_wire_size is the encoded size of m. */
size_t fli_wire_size(const struct fli_raft_msg *m);

/* fli_wire_encode writes m to buf (cap bytes); returns its size, or 0 if
 * it does not fit or has more than FLI_WIRE_MAX_ENTRIES entries. */
size_t fli_wire_encode(const struct fli_raft_msg *m, uint8_t *buf, size_t cap);

/* fli_wire_decode reads the frame buf[0..len) into m, its entries into
 * ents (room for FLI_WIRE_MAX_ENTRIES; their data points into buf).
 * Returns 0 or FL_EPROTO; *why (if not NULL) says what was wrong. */
int fli_wire_decode(const uint8_t *buf, size_t len, struct fli_raft_msg *m,
                    struct fli_raft_entry *ents, const char **why);

#endif
