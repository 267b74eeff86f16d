/*
 * A node's files: the state slots and the log (store.h).
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/error.h"
#include "faultline/platform.h"
#include "fli_impl.h"
#include "reserve.h"
#include "le.h"

#define STATE_MAGIC 0x46535431u /* "FST1" */
#define STATE_SLOT  32u
#define LOG_MAGIC   0x4c52u /* "LR" */
#define LOG_HDR     24u

/* ---- CRC-32C, bitwise table built once ---------------------------------- */

static uint32_t crc_table[256];

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
fli_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const uint8_t *p = buf;

	pthread_once(&once, crc_init);
	crc = ~crc;
	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Writes all of buf at off; FL_EIO on a short or failed write. */
static int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FL_EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int
sync_fd(const struct fli_store *s, int fd)
{
	return s->sync && fdatasync(fd) != 0 ? FL_EIO : 0;
}

/* ---- the state slots ------------------------------------------------------ */

/* Reads slot k; 1 if it is whole (its fields set), 0 if not. */
static int
state_slot(const uint8_t *b, uint64_t *seq, uint64_t *term, int32_t *vote)
{
	if (fli_le_get(4, b) != STATE_MAGIC ||
	    fli_le_get(4, b + 4) != fli_crc32c(0, b + 8, STATE_SLOT - 8))
		return 0;
	*seq = fli_le_get(8, b + 8);
	*term = fli_le_get(8, b + 16);
	*vote = (int32_t)fli_le_get(4, b + 24);
	return *vote >= FLI_RAFT_NO_NODE && *vote < FLI_RAFT_MAX_NODES;
}

static int
state_load(struct fli_store *s, struct fli_store_loaded *out)
{
	uint8_t b[2 * STATE_SLOT] = { 0 };
	ssize_t n = pread(s->state_fd, b, sizeof(b), 0);
	int whole = 0;

	if (n < 0)
		return FL_EIO;
	out->term = 0;
	out->voted_for = FLI_RAFT_NO_NODE;
	s->state_seq = 0;
	for (int k = 0; k < 2; k++) {
		uint64_t seq, term;
		int32_t vote;

		if ((size_t)n < (size_t)(k + 1) * STATE_SLOT ||
		    !state_slot(b + k * STATE_SLOT, &seq, &term, &vote))
			continue;
		whole++;
		if (seq >= s->state_seq) {
			s->state_seq = seq;
			out->term = term;
			out->voted_for = vote;
		}
	}
	/* A fresh file has no slot, and after the first save (slot 0) one:
	 * any slot there that is not whole was torn. */
	out->state_torn = n > 0 && whole < (n >= (ssize_t)(2 * STATE_SLOT) ? 2 : 1);
	return 0;
}

int
fli_store_save_state(struct fli_store *s, uint64_t term, int32_t voted_for)
{
	uint8_t b[STATE_SLOT] = { 0 };
	uint64_t seq = s->state_seq + 1;
	int rc;

	fli_le_put(4, b, STATE_MAGIC);
	fli_le_put(8, b + 8, seq);
	fli_le_put(8, b + 16, term);
	fli_le_put(4, b + 24, (uint32_t)voted_for);
	fli_le_put(4, b + 4, fli_crc32c(0, b + 8, STATE_SLOT - 8));
	/* Slots take turns: seq odd in slot 0, even in slot 1, so a torn
	 * write only ever hits the older one. */
	rc = pwrite_all(s->state_fd, b, sizeof(b), (seq & 1) ? 0 : STATE_SLOT);
	if (rc == 0)
		rc = sync_fd(s, s->state_fd);
	if (rc == 0)
		s->state_seq = seq;
	return rc;
}

/* ---- the log ------------------------------------------------------------------ */

static uint32_t
record_crc(const uint8_t *hdr, const uint8_t *data, uint32_t len)
{
	/* type, length and term, then the data */
	uint32_t crc = fli_crc32c(0, hdr + 2, 14);

	return fli_crc32c(crc, data, len);
}

static int
offsets_push(struct fli_store *s, uint64_t off)
{
	if (fli_reserve(&s->offsets, &s->cap, s->n + 1, sizeof(*s->offsets)) != 0)
		return FL_ENOMEM;
	s->offsets[s->n++] = off;
	return 0;
}

static int
loaded_push(struct fli_store_loaded *l, uint64_t *cap, const uint8_t *hdr, const uint8_t *data)
{
	struct fli_raft_entry *e;
	uint32_t len = (uint32_t)fli_le_get(4, hdr + 4);

	if (fli_reserve(&l->log, cap, l->n + 1, sizeof(*l->log)) != 0)
		return FL_ENOMEM;
	e = &l->log[l->n];
	e->term = fli_le_get(8, hdr + 8);
	e->type = (uint16_t)fli_le_get(2, hdr + 2);
	e->len = len;
	e->data = NULL;
	if (len > 0) {
		uint8_t *copy = malloc(len);
		if (copy == NULL)
			return FL_ENOMEM;
		memcpy(copy, data, len);
		e->data = copy;
	}
	l->n++;
	return 0;
}

/* Is the record at b (avail bytes) whole and sound, after a log whose
 * last term is prev_term?  Its length in *size. */
static bool
record_ok(const uint8_t *b, uint64_t avail, uint64_t prev_term, uint64_t *size)
{
	uint32_t len;
	uint64_t term, type;

	if (avail < LOG_HDR || fli_le_get(2, b) != LOG_MAGIC)
		return false;
	type = fli_le_get(2, b + 2);
	len = (uint32_t)fli_le_get(4, b + 4);
	term = fli_le_get(8, b + 8);
	if (type < FLI_ENTRY_NOOP || type > FLI_ENTRY__MAX || term < prev_term || term == 0 ||
	    len > avail - LOG_HDR || fli_le_get(4, b + 20) != 0)
		return false;
	if (fli_le_get(4, b + 16) != record_crc(b, b + LOG_HDR, len))
		return false;
	*size = LOG_HDR + len;
	return true;
}

static int
log_load(struct fli_store *s, struct fli_store_loaded *out)
{
	struct stat st;
	uint8_t *b = NULL;
	uint64_t off = 0, cap = 0, prev_term = 0, size;
	int rc = 0;

	if (fstat(s->log_fd, &st) != 0)
		return FL_EIO;
	if (st.st_size > 0) {
		b = malloc((size_t)st.st_size);
		if (b == NULL)
			return FL_ENOMEM;
		if (pread(s->log_fd, b, (size_t)st.st_size, 0) != st.st_size) {
			free(b);
			return FL_EIO;
		}
	}
	while (rc == 0 && off < (uint64_t)st.st_size &&
	       record_ok(b + off, (uint64_t)st.st_size - off, prev_term, &size)) {
		rc = offsets_push(s, off);
		if (rc == 0)
			rc = loaded_push(out, &cap, b + off, b + off + LOG_HDR);
		prev_term = fli_le_get(8, b + off + 8);
		off += size;
	}
	free(b);
	if (rc != 0)
		return rc;
	s->end = off;
	out->torn_bytes = (uint64_t)st.st_size - off;
	if (out->torn_bytes > 0 && ftruncate(s->log_fd, (off_t)off) != 0)
		return FL_EIO;
	return 0;
}

int
fli_store_put_entry(struct fli_store *s, uint64_t index, const struct fli_raft_entry *e)
{
	uint8_t hdr[LOG_HDR] = { 0 };
	uint64_t off;
	uint32_t first;
	int rc;

	if (index < 1 || index > s->n + 1)
		return FL_EINVAL;
	if (index <= s->n) {
		/* Conflicting entries go first (and stay gone if the append
		 * fails: the log is then shorter, never wrong). */
		if (ftruncate(s->log_fd, (off_t)s->offsets[index - 1]) != 0)
			return FL_EIO;
		s->end = s->offsets[index - 1];
		s->n = index - 1;
	}
	off = s->end;
	fli_le_put(2, hdr, LOG_MAGIC);
	fli_le_put(2, hdr + 2, e->type);
	fli_le_put(4, hdr + 4, e->len);
	fli_le_put(8, hdr + 8, e->term);
	fli_le_put(4, hdr + 16, record_crc(hdr, e->data, e->len));
	/* Two writes: the header and half the data, then the rest.  A kill
	 * between them leaves a torn record. */
	first = e->len / 2;
	rc = pwrite_all(s->log_fd, hdr, LOG_HDR, off);
	if (rc == 0 && first > 0)
		rc = pwrite_all(s->log_fd, e->data, first, off + LOG_HDR);
	/* A process killed here: the torn record is cut at the next open. */
	if (rc == 0 && FL_FAULT("transport/cluster/log_torn"))
		return FL_EIO;
	if (rc == 0 && e->len > first)
		rc = pwrite_all(s->log_fd, e->data + first, e->len - first, off + LOG_HDR + first);
	if (rc == 0)
		rc = sync_fd(s, s->log_fd);
	if (rc == 0)
		rc = offsets_push(s, off);
	if (rc != 0) {
		/* Whatever part is there is cut now, or at the next open. */
		(void)ftruncate(s->log_fd, (off_t)off);
		return rc;
	}
	s->end = off + LOG_HDR + e->len;
	return 0;
}

/* ---- open and close -------------------------------------------------------------- */

static int
open_file(int dir_fd, const char *name)
{
	return openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int
fli_store_open(struct fli_store *s, const char *dir, bool sync, struct fli_store_loaded *out)
{
	struct stat st;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(out, 0, sizeof(*out));
	s->state_fd = s->log_fd = -1;
	s->sync = sync;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return FL_EIO;
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dir_fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? FL_EPERM : FL_EIO;
	if (fstat(s->dir_fd, &st) != 0 || st.st_uid != geteuid()) {
		fli_store_close(s);
		return FL_EPERM;
	}
	s->state_fd = open_file(s->dir_fd, "state");
	s->log_fd = open_file(s->dir_fd, "log");
	if (s->state_fd < 0 || s->log_fd < 0) {
		rc = errno == ELOOP ? FL_EPERM : FL_EIO;
		fli_store_close(s);
		return rc;
	}
	rc = state_load(s, out);
	if (rc == 0)
		rc = log_load(s, out);
	if (rc != 0) {
		fli_store_loaded_free(out);
		fli_store_close(s);
	}
	return rc;
}

void
fli_store_loaded_free(struct fli_store_loaded *l)
{
	for (uint64_t i = 0; i < l->n; i++)
		free((void *)l->log[i].data);
	free(l->log);
	l->log = NULL;
	l->n = 0;
}

void
fli_store_close(struct fli_store *s)
{
	if (s->state_fd >= 0)
		close(s->state_fd);
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->state_fd = s->log_fd = s->dir_fd = -1;
	free(s->offsets);
	s->offsets = NULL;
	s->n = s->cap = 0;
}

int
fli_store_remove(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : FL_EIO;
	if ((unlinkat(fd, "state", 0) != 0 && errno != ENOENT) ||
	    (unlinkat(fd, "log", 0) != 0 && errno != ENOENT))
		rc = FL_EIO;
	close(fd);
	if (rc == 0 && rmdir(dir) != 0)
		rc = FL_EIO;
	return rc;
}
