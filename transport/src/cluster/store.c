/*
 * A node's files: the state slots and the log (store.h).
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/cluster.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "fli_impl.h"
#include "reserve.h"
#include "shm_mem.h"
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
/* ---- files: the kernel's, or in this process's memory ----------------- */

/* An in-memory file or directory, named by its whole path.  Few exist at
 * once (a directory and two files a node), so a list does. */
struct fli_store_mfile {
	struct fli_store_mfile *next;
	uint8_t *data;
	size_t len, cap;
	bool dir;
	char path[];
};

static struct fli_store_mfile *mfiles;
static pthread_mutex_t mfiles_mu = PTHREAD_MUTEX_INITIALIZER;

/* The entry at path, made (a file, or a directory) when absent and asked
 * to; NULL when absent, or when it cannot be made.  Under mfiles_mu. */
static struct fli_store_mfile *
mfile_get(const char *path, bool make, bool dir)
{
	struct fli_store_mfile *f;
	size_t n = strlen(path) + 1;

	for (f = mfiles; f != NULL; f = f->next)
		if (strcmp(f->path, path) == 0)
			return f;
	if (!make || (f = calloc(1, sizeof(*f) + n)) == NULL)
		return NULL;
	memcpy(f->path, path, n);
	f->dir = dir;
	f->next = mfiles;
	mfiles = f;
	return f;
}

/* Removes the entry at path: 0, or FL_ENOENT.  Under mfiles_mu. */
static int
mfile_remove(const char *path)
{
	for (struct fli_store_mfile **p = &mfiles; *p != NULL; p = &(*p)->next) {
		struct fli_store_mfile *f = *p;

		if (strcmp(f->path, path) == 0) {
			*p = f->next;
			free(f->data);
			free(f);
			return 0;
		}
	}
	return FL_ENOENT;
}

/* Is anything under the directory path (its children's paths start with
 * path and '/')?  Under mfiles_mu. */
static bool
mfile_has_children(const char *path)
{
	size_t n = strlen(path);

	for (const struct fli_store_mfile *f = mfiles; f != NULL; f = f->next)
		if (strncmp(f->path, path, n) == 0 && f->path[n] == '/')
			return true;
	return false;
}

/* Sets m's length to len, the bytes past its old end zero.  0 or
 * FL_ENOMEM. */
static int
mfile_resize(struct fli_store_mfile *m, size_t len)
{
	if (len > m->cap) {
		size_t cap = m->cap ? m->cap : 256;
		uint8_t *d;

		while (cap < len)
			cap *= 2;
		if ((d = realloc(m->data, cap)) == NULL)
			return FL_ENOMEM;
		m->data = d;
		m->cap = cap;
	}
	if (len > m->len)
		memset(m->data + m->len, 0, len - m->len);
	m->len = len;
	return 0;
}

static ssize_t
file_pread(const struct fli_store_file *f, void *buf, size_t len, uint64_t off)
{
	if (f->m == NULL)
		return pread(f->fd, buf, len, (off_t)off);
	if (off >= f->m->len)
		return 0;
	if (len > f->m->len - off)
		len = (size_t)(f->m->len - off);
	memcpy(buf, f->m->data + off, len);
	return (ssize_t)len;
}

static int
file_pwrite(const struct fli_store_file *f, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (f->m != NULL) {
		if (off + len > f->m->len && mfile_resize(f->m, (size_t)(off + len)) != 0)
			return FL_EIO;
		memcpy(f->m->data + off, buf, len);
		return 0;
	}
	while (len > 0) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
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
file_size(const struct fli_store_file *f, uint64_t *size)
{
	struct stat st;

	if (f->m != NULL) {
		*size = f->m->len;
		return 0;
	}
	if (fstat(f->fd, &st) != 0)
		return FL_EIO;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
file_truncate(const struct fli_store_file *f, uint64_t len)
{
	if (f->m != NULL)
		return mfile_resize(f->m, (size_t)len) == 0 ? 0 : FL_EIO;
	return ftruncate(f->fd, (off_t)len) == 0 ? 0 : FL_EIO;
}

static int
sync_file(const struct fli_store *s, const struct fli_store_file *f)
{
	return s->sync && f->m == NULL && fdatasync(f->fd) != 0 ? FL_EIO : 0;
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
	ssize_t n = file_pread(&s->state, b, sizeof(b), 0);
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
	rc = file_pwrite(&s->state, b, sizeof(b), (seq & 1) ? 0 : STATE_SLOT);
	if (rc == 0)
		rc = sync_file(s, &s->state);
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
	uint8_t *b = NULL;
	uint64_t off = 0, cap = 0, prev_term = 0, size, flen;
	int rc = file_size(&s->log, &flen);

	if (rc != 0)
		return rc;
	if (flen > 0) {
		b = malloc((size_t)flen);
		if (b == NULL)
			return FL_ENOMEM;
		if (file_pread(&s->log, b, (size_t)flen, 0) != (ssize_t)flen) {
			free(b);
			return FL_EIO;
		}
	}
	while (rc == 0 && off < flen && record_ok(b + off, flen - off, prev_term, &size)) {
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
	out->torn_bytes = flen - off;
	if (out->torn_bytes > 0 && file_truncate(&s->log, off) != 0)
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
		if (file_truncate(&s->log, s->offsets[index - 1]) != 0)
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
	rc = file_pwrite(&s->log, hdr, LOG_HDR, off);
	if (rc == 0 && first > 0)
		rc = file_pwrite(&s->log, e->data, first, off + LOG_HDR);
	/* A process killed here: the torn record is cut at the next open. */
	if (rc == 0 && FL_FAULT("transport/cluster/log_torn"))
		return FL_EIO;
	if (rc == 0 && e->len > first)
		rc = file_pwrite(&s->log, e->data + first, e->len - first, off + LOG_HDR + first);
	if (rc == 0)
		rc = sync_file(s, &s->log);
	if (rc == 0)
		rc = offsets_push(s, off);
	if (rc != 0) {
		/* Whatever part is there is cut now, or at the next open. */
		(void)file_truncate(&s->log, off);
		return rc;
	}
	s->end = off + LOG_HDR + e->len;
	return 0;
}

/* ---- open and close -------------------------------------------------------------- */

static int
open_file(int dir_fd, const char *name, struct fli_store_file *f)
{
	f->fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	return f->fd >= 0 ? 0 : errno == ELOOP ? FL_EPERM : FL_EIO;
}

/* "dir/name" into buf: 0, or FL_EINVAL when it does not fit. */
static int
join(const char *dir, const char *name, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) < len ? 0 : FL_EINVAL;
}

/* The in-memory open: the directory (a file there: FL_EPERM, as a
 * non-directory on disk) and its two files, made when absent. */
static int
open_mem(struct fli_store *s, const char *dir)
{
	char path[512];
	struct fli_store_mfile *d;
	int rc = 0;

	pthread_mutex_lock(&mfiles_mu);
	d = mfile_get(dir, true, true);
	if (d == NULL)
		rc = FL_ENOMEM;
	else if (!d->dir)
		rc = FL_EPERM;
	if (rc == 0 && (rc = join(dir, "state", path, sizeof path)) == 0 &&
	    (s->state.m = mfile_get(path, true, false)) == NULL)
		rc = FL_ENOMEM;
	if (rc == 0 && (rc = join(dir, "log", path, sizeof path)) == 0 &&
	    (s->log.m = mfile_get(path, true, false)) == NULL)
		rc = FL_ENOMEM;
	if (rc == 0 && (s->state.m->dir || s->log.m->dir))
		rc = FL_EPERM;
	pthread_mutex_unlock(&mfiles_mu);
	return rc;
}

static int
open_disk(struct fli_store *s, const char *dir)
{
	struct stat st;
	int rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return FL_EIO;
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dir_fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? FL_EPERM : FL_EIO;
	if (fstat(s->dir_fd, &st) != 0 || st.st_uid != geteuid())
		return FL_EPERM;
	rc = open_file(s->dir_fd, "state", &s->state);
	if (rc == 0)
		rc = open_file(s->dir_fd, "log", &s->log);
	return rc;
}

int
fli_store_open(struct fli_store *s, const char *dir, bool sync, struct fli_store_loaded *out)
{
	int rc;

	memset(s, 0, sizeof(*s));
	memset(out, 0, sizeof(*out));
	s->dir_fd = s->state.fd = s->log.fd = -1;
	s->sync = sync;
	rc = fli_shm_mem_on() ? open_mem(s, dir) : open_disk(s, dir);
	if (rc != 0) {
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
	/* In memory: the files stay, as on disk; nothing is open. */
	if (s->state.fd >= 0)
		close(s->state.fd);
	if (s->log.fd >= 0)
		close(s->log.fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->state.fd = s->log.fd = s->dir_fd = -1;
	s->state.m = s->log.m = NULL;
	free(s->offsets);
	s->offsets = NULL;
	s->n = s->cap = 0;
}

/* Removes the in-memory directory dir, its two files first; anything
 * else in it: FL_EIO (rmdir's ENOTEMPTY), the directory kept.  None
 * there: 0.  Under mfiles_mu. */
static int
remove_mem(const char *dir)
{
	char path[512];

	if (join(dir, "state", path, sizeof path) == 0)
		(void)mfile_remove(path);
	if (join(dir, "log", path, sizeof path) == 0)
		(void)mfile_remove(path);
	if (mfile_has_children(dir))
		return FL_EIO;
	(void)mfile_remove(dir);
	return 0;
}

int
fli_store_remove(const char *dir)
{
	int fd, rc = 0;

	if (fli_shm_mem_on()) {
		pthread_mutex_lock(&mfiles_mu);
		rc = remove_mem(dir);
		pthread_mutex_unlock(&mfiles_mu);
		return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

/* The test hooks' work on dir's file name: poke writes (or cuts, buf
 * NULL), peek reads.  Whichever backend the store would open. */
static int
file_touch(const char *dir, const char *name, bool poke, uint64_t off, void *buf, size_t len,
           uint64_t *size)
{
	struct fli_store_file f = { .fd = -1 };
	char path[512];
	int rc = join(dir, name, path, sizeof path);
	bool mem = fli_shm_mem_on();

	if (rc != 0)
		return rc;
	if (mem) {
		pthread_mutex_lock(&mfiles_mu);
		f.m = mfile_get(path, false, false);
		if (f.m == NULL || f.m->dir)
			rc = FL_ENOENT;
	} else if ((f.fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? FL_ENOENT : FL_EIO;
	}
	if (rc == 0 && poke)
		rc = buf != NULL ? file_pwrite(&f, buf, len, off) : file_truncate(&f, off);
	else if (rc == 0)
		rc = file_pread(&f, buf, len, off) < 0 ? FL_EIO : file_size(&f, size);
	if (mem)
		pthread_mutex_unlock(&mfiles_mu);
	else if (f.fd >= 0)
		close(f.fd);
	return rc;
}

int
fli_store_file_poke(const char *dir, const char *name, uint64_t off, const void *buf, size_t len)
{
	return file_touch(dir, name, true, off, (void *)(uintptr_t)buf, len, NULL);
}

int
fli_store_file_peek(const char *dir, const char *name, uint64_t off, void *buf, size_t len,
                    uint64_t *size)
{
	return file_touch(dir, name, false, off, buf, len, size);
}

int
fl_cluster_stores_make(const char *top)
{
	int rc = 0;

	if (top == NULL)
		return FL_EINVAL;
	if (fli_shm_mem_on()) {
		pthread_mutex_lock(&mfiles_mu);
		if (mfile_get(top, true, true) == NULL)
			rc = FL_ENOMEM;
		pthread_mutex_unlock(&mfiles_mu);
		return rc;
	}
	return mkdir(top, 0700) == 0 || errno == EEXIST ? 0 : FL_EIO;
}

/* Is name "node" and digits only? */
static bool
node_name(const char *name)
{
	size_t n;

	if (strncmp(name, "node", 4) != 0)
		return false; /* first: a shorter name ends before name + 4 */
	n = strspn(name + 4, "0123456789");
	return n > 0 && name[4 + n] == '\0';
}

/* Is f a node's directory right under top (n its length), its path short
 * enough to copy? */
static bool
node_dir_under(const struct fli_store_mfile *f, const char *top, size_t n)
{
	return f->dir && strncmp(f->path, top, n) == 0 && f->path[n] == '/' &&
	       node_name(f->path + n + 1) && strlen(f->path) < 512;
}

int
fl_cluster_stores_remove(const char *top)
{
	size_t n = top != NULL ? strlen(top) : 0;
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (top == NULL)
		return FL_EINVAL;
	if (fli_shm_mem_on()) {
		char(*dirs)[512] = NULL;
		size_t nd = 0;

		pthread_mutex_lock(&mfiles_mu);
		/* The node directories' paths first: remove_mem frees entries
		 * the walk would go through.  One it keeps (it holds something
		 * else) keeps top too. */
		for (const struct fli_store_mfile *f = mfiles; f != NULL; f = f->next)
			nd += node_dir_under(f, top, n);
		if (nd > 0 && (dirs = calloc(nd, sizeof(*dirs))) == NULL)
			rc = FL_ENOMEM;
		nd = 0;
		for (const struct fli_store_mfile *f = mfiles; dirs != NULL && f != NULL;
		     f = f->next)
			if (node_dir_under(f, top, n))
				memcpy(dirs[nd++], f->path, strlen(f->path) + 1);
		for (size_t i = 0; i < nd; i++)
			(void)remove_mem(dirs[i]);
		free(dirs);
		if (rc == 0 && mfile_has_children(top))
			rc = FL_EEXIST;
		else if (rc == 0)
			(void)mfile_remove(top);
		pthread_mutex_unlock(&mfiles_mu);
		return rc;
	}
	if ((d = opendir(top)) == NULL)
		return errno == ENOENT ? 0 : FL_EEXIST;
	while ((e = readdir(d)) != NULL) {
		char node[600];

		if (node_name(e->d_name) &&
		    (size_t)snprintf(node, sizeof node, "%s/%s", top, e->d_name) < sizeof node)
			(void)fli_store_remove(node);
	}
	closedir(d);
	if (rmdir(top) != 0 && lstat(top, &st) == 0)
		rc = FL_EEXIST;
	return rc;
}
