/*
 * The shm seam's in-process backend: run directories and their files kept
 * in this process's memory instead of /dev/shm (fl_run_dirs_in_memory).
 *
 * A sim run holds its driver and every client in one process, so nothing
 * outside it needs the files; building them from the kernel up for each
 * run (mkdir, open, fallocate, mmap, munmap, unlink, rmdir, and a page
 * fault for each page touched) was most of a short run's cost.  Here a
 * file is a shared anonymous block taken from a pool of blocks of its
 * exact length and cleared of what a run wrote when it goes back, so a
 * worker's runs reuse the same pages.
 *
 * What a caller sees is what the POSIX backend gives: the same error
 * codes, the same fault points consulted in the same order (a run's
 * schedule, and so its trace, does not depend on the backend), exclusive
 * creation, a name that outlives its unlink while mapped, reads of a
 * whole file's bytes, and each mapping an address of its own (mremap of
 * the block with old size 0), read-only when asked, closed at its unmap
 * (PROT_NONE, kept as a spare for the block's next mapping): a stale
 * pointer into an unmapped file faults as it would on /dev/shm, never
 * reads or writes the block another live mapping holds, until the block
 * is mapped again and the spare reopened (as the kernel reuses a freed
 * range on /dev/shm).  One thread: a sim run's coroutines share it.
 *
 * Where mremap cannot alias a block (valgrind refuses old size 0), the
 * backend is not used: fl_run_dirs_in_memory returns false.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "shm.h"
#include "shm_mem.h"

#define MEM_DEV ((dev_t)-2) /* fli_shm_dir.dev of an in-memory directory */

struct mem_dir {
	struct mem_dir *next;
	uint64_t id; /* fli_shm_dir.ino: never reused */
	char path[256];
};

/* Aliases of a block kept for its next mappings, PROT_NONE meanwhile:
 * turning one on again costs an mprotect, and its pages are still
 * mapped, where a new alias (mremap) faults in every page it touches, and
 * a page fault costs about 8 us on the virtual machines CI runs on. */
#define MEM_SPARES 8

/* A shared anonymous block: the backend's own mapping of it (base, never
 * handed out) and its spare aliases. */
struct mem_block {
	uint8_t *base;
	size_t len;
	void *spare[MEM_SPARES];
	uint32_t nspare;
};

struct mem_file {
	struct mem_file *next;
	uint64_t dir; /* its directory's id */
	bool linked;  /* still has its name */
	uint32_t maps;
	struct mem_block blk;
	size_t len;
	char name[64];
};

/* One mapping handed out: an alias of its file's block. */
struct mem_map {
	struct mem_map *next;
	void *addr;
	struct mem_file *file;
	bool writable;
};

/* The pool's size: blocks beyond it are unmapped when given back.  Its
 * records are static, not heap: a run that ends with its files gone holds
 * no heap block of this backend's (no_heap_growth counts them). */
#define MEM_POOL 64

static struct {
	bool on;
	int usable; /* 0: not probed yet, 1 yes, -1 mremap cannot alias */
	uint64_t next_id;
	struct mem_dir *dirs;
	struct mem_file *files;
	struct mem_map *maps;
	struct mem_block pool[MEM_POOL]; /* zeroed blocks, each of its exact length */
	size_t npool;
} mem;

bool
fli_shm_mem_on(void)
{
	return mem.on;
}

/* A new mapping of len bytes of the shared block base, or NULL. */
static void *
alias_of(void *base, size_t len)
{
	void *p = mremap(base, 0, len, MREMAP_MAYMOVE);

	return p == MAP_FAILED ? NULL : p;
}

bool
fl_run_dirs_in_memory(bool on)
{
	if (on && mem.usable == 0) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		void *b =
		        mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		void *a = b != MAP_FAILED ? alias_of(b, page) : NULL;

		mem.usable = a != NULL ? 1 : -1;
		if (a != NULL)
			munmap(a, page);
		if (b != MAP_FAILED)
			munmap(b, page);
	}
	mem.on = on && mem.usable == 1;
	return mem.on;
}

static struct mem_dir *
dir_by_path(const char *path)
{
	for (struct mem_dir *d = mem.dirs; d != NULL; d = d->next)
		if (strcmp(d->path, path) == 0)
			return d;
	return NULL;
}

static struct mem_dir *
dir_by_handle(const struct fli_shm_dir *h)
{
	for (struct mem_dir *d = mem.dirs; d != NULL; d = d->next)
		if (d->id == (uint64_t)h->ino)
			return d;
	return NULL;
}

/* Removes d; a handle to it finds nothing from now on. */
static void
dir_free(struct mem_dir *d)
{
	struct mem_dir **pp;

	for (pp = &mem.dirs; *pp != d; pp = &(*pp)->next)
		;
	*pp = d->next;
	free(d);
}

static struct mem_file *
file_in(uint64_t dir, const char *name)
{
	for (struct mem_file *f = mem.files; f != NULL; f = f->next)
		if (f->linked && f->dir == dir && strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static void
handle_of(const struct mem_dir *d, struct fli_shm_dir *out)
{
	out->fd = -1;
	out->open = true;
	out->uid = fli_shm_euid();
	out->dev = MEM_DEV;
	out->ino = (ino_t)d->id;
}

/* A zeroed block of len bytes into *b: the pool's, or a new mapping.
 * false when the kernel refuses. */
static bool
block_take(size_t len, struct mem_block *b)
{
	void *p;

	for (size_t i = mem.npool; i-- > 0;)
		if (mem.pool[i].len == len) {
			*b = mem.pool[i];
			mem.pool[i] = mem.pool[--mem.npool];
			return true;
		}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	/* Small pages: a huge page would make all of it resident at the
	 * first touch, and zero_block would clear all of it each time. */
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	memset(b, 0, sizeof(*b));
	b->base = p;
	b->len = len;
	return true;
}

/* Zeroes a block given back.  A run touches a few pages of a large
 * file (cnc.dat is 2 MiB, of which a short run writes some tens of
 * kilobytes), and clearing all of it was a tenth of a run.  Without swap
 * a page of a shared anonymous block that is not resident has never been
 * written since it was last zero (mincore), so only the resident ones
 * are cleared; with swap, or for a small block, all of it.  Swap is
 * asked once a process. */
static void
zero_block(uint8_t *addr, size_t len)
{
	static int no_swap = -1; /* -1: not asked yet */
	static unsigned char vec[4096];
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page, i = 0;

	if (no_swap < 0) {
		struct sysinfo si;

		no_swap = sysinfo(&si) == 0 && si.totalswap == 0;
	}
	if (!no_swap || len < 16 * page || n > sizeof(vec) || mincore(addr, len, vec) != 0) {
		memset(addr, 0, len);
		return;
	}
	while (i < n) {
		size_t j;

		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		for (j = i; j < n && (vec[j] & 1); j++)
			;
		memset(addr + i * page, 0, (j * page < len ? j * page : len) - i * page);
		i = j;
	}
}

/* Is addr inside b's own mapping or one of its spares? */
static bool
block_holds(const struct mem_block *b, const void *addr)
{
	const uint8_t *a = addr;

	if (a >= b->base && a < b->base + b->len)
		return true;
	for (uint32_t i = 0; i < b->nspare; i++)
		if (a >= (const uint8_t *)b->spare[i] && a < (const uint8_t *)b->spare[i] + b->len)
			return true;
	return false;
}

static void
block_give(const struct mem_block *b)
{
	if (mem.npool == MEM_POOL) {
		for (uint32_t i = 0; i < b->nspare; i++)
			munmap(b->spare[i], b->len);
		munmap(b->base, b->len);
		return;
	}
	zero_block(b->base, b->len);
	mem.pool[mem.npool++] = *b;
}

/* Frees f once it has neither its name nor a mapping. */
static void
file_release(struct mem_file *f)
{
	struct mem_file **pp;

	if (f->linked || f->maps > 0)
		return;
	for (pp = &mem.files; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	block_give(&f->blk);
	free(f);
}

/* Splits path into its directory and its last name: false when it has
 * no '/' or either part does not fit. */
static bool
split(const char *path, char *dir, size_t dlen, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || (size_t)(slash - path) >= dlen || strlen(slash + 1) >= 64 ||
	    slash[1] == '\0')
		return false;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*name = slash + 1;
	return true;
}

int
fli_shm_mem_dir_create(const char *path, struct fli_shm_dir *out)
{
	struct mem_dir *d;

	if (dir_by_path(path) != NULL)
		return FL_EEXIST;
	if (strlen(path) >= sizeof(d->path) || (d = calloc(1, sizeof(*d))) == NULL)
		return FL_EIO;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->id = ++mem.next_id;
	d->next = mem.dirs;
	mem.dirs = d;
	handle_of(d, out);
	return 0;
}

int
fli_shm_mem_dir_open(const char *path, struct fli_shm_dir *out, char *why, size_t whylen)
{
	struct mem_dir *d = dir_by_path(path);

	if (d == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "does not exist");
		return FL_ENOENT;
	}
	handle_of(d, out);
	return 0;
}

int
fli_shm_mem_dir_reopen(const char *path, struct fli_shm_dir *h)
{
	struct mem_dir *d = dir_by_path(path);

	if (d == NULL)
		return FL_ENOENT;
	if (h->dev != MEM_DEV || (uint64_t)h->ino != d->id)
		return FL_EPERM; /* another directory at the path now */
	h->open = true;
	return 0;
}

int
fli_shm_mem_dir_clean(const struct fli_shm_dir *h, const char *rmdir_path, char *other,
                      size_t otherlen)
{
	struct mem_dir *d = dir_by_handle(h);
	struct mem_file *f, *next;
	int rc = 0;

	if (other != NULL && otherlen > 0)
		other[0] = '\0';
	if (d == NULL)
		return FL_EIO;
	for (f = mem.files; f != NULL; f = next) {
		next = f->next;
		if (!f->linked || f->dir != d->id)
			continue;
		if (fli_shm_run_file(f->name)) {
			f->linked = false;
			file_release(f);
			continue;
		}
		rc = FL_EEXIST;
		if (other != NULL && otherlen > 0 && other[0] == '\0')
			snprintf(other, otherlen, "%s", f->name);
	}
	if (rc != 0 || rmdir_path == NULL)
		return rc;
	if (strcmp(rmdir_path, d->path) != 0)
		return FL_EIO;
	dir_free(d);
	return 0;
}

int
fli_shm_mem_dir_count(const char *path)
{
	struct mem_dir *d = dir_by_path(path);
	int n = 0;

	if (d == NULL)
		return FL_ENOENT;
	for (struct mem_file *f = mem.files; f != NULL; f = f->next)
		n += f->linked && f->dir == d->id;
	return n;
}

int
fli_shm_mem_dir_each(const char *path, void (*fn)(void *arg, const char *name), void *arg)
{
	struct mem_dir *d = dir_by_path(path);

	if (d == NULL)
		return FL_ENOENT;
	for (struct mem_file *f = mem.files; f != NULL; f = f->next)
		if (f->linked && f->dir == d->id)
			fn(arg, f->name);
	return 0;
}

/* Hands out a new mapping of f: its own address, read-only unless
 * writable.  FL_EIO when the kernel refuses (as mmap's failure is). */
static int
map_file(struct mem_file *f, bool writable, struct fli_shm *out)
{
	struct mem_map *m = malloc(sizeof(*m));
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
	void *p = NULL;

	if (m != NULL && f->blk.nspare > 0) {
		/* A spare: its own address still, closed since its unmap. */
		p = f->blk.spare[--f->blk.nspare];
		if (mprotect(p, f->len, prot) != 0) {
			munmap(p, f->len);
			p = NULL;
		}
	} else if (m != NULL && (p = alias_of(f->blk.base, f->len)) != NULL && !writable &&
	           mprotect(p, f->len, prot) != 0) {
		munmap(p, f->len);
		p = NULL;
	}
	if (p == NULL) {
		free(m);
		return FL_EIO;
	}
	m->addr = p;
	m->file = f;
	m->writable = writable;
	m->next = mem.maps;
	mem.maps = m;
	f->maps++;
	out->addr = p;
	out->len = f->len;
	return 0;
}

/* create_at's work after its fault point transport/shm/create.  points:
 * consult transport/shm/truncate and transport/shm/map as reserve_map
 * does (after the file exists, which their failure removes again). */
static int
create_in(struct mem_dir *d, const char *name, size_t len, bool points, struct fli_shm *out)
{
	struct mem_file *f;

	if (file_in(d->id, name) != NULL)
		return FL_EEXIST;
	if (strlen(name) >= sizeof(f->name) || len == 0)
		return FL_EIO;
	if (points && FL_FAULT("transport/shm/truncate"))
		return FL_ENOSPC;
	if (points && FL_FAULT("transport/shm/map"))
		return FL_EIO;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return FL_ENOSPC;
	if (!block_take(len, &f->blk)) {
		free(f);
		return FL_ENOSPC;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->dir = d->id;
	f->len = len;
	f->linked = true;
	f->next = mem.files;
	mem.files = f;
	if (map_file(f, true, out) != 0) {
		f->linked = false; /* as the POSIX create unlinks it */
		file_release(f);
		return FL_EIO;
	}
	return 0;
}

int
fli_shm_mem_create_at(const struct fli_shm_dir *h, const char *name, size_t len,
                      struct fli_shm *out)
{
	struct mem_dir *d = dir_by_handle(h);

	return d == NULL ? FL_EIO : create_in(d, name, len, true, out);
}

/* map_at's work after its fault point transport/shm/map. */
static int
map_in(struct mem_dir *d, const char *name, bool writable, size_t min_len, struct fli_shm *out,
       char *why, size_t whylen)
{
	struct mem_file *f = file_in(d->id, name);

	if (f == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "open: No such file or directory");
		return FL_ENOENT;
	}
	if (f->len < min_len) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "shorter than %zu bytes", min_len);
		return FL_EPROTO;
	}
	return map_file(f, writable, out);
}

int
fli_shm_mem_map_at(const struct fli_shm_dir *h, const char *name, bool writable, size_t min_len,
                   struct fli_shm *out)
{
	struct mem_dir *d = dir_by_handle(h);

	return d == NULL ? FL_ENOENT : map_in(d, name, writable, min_len, out, NULL, 0);
}

int
fli_shm_mem_read_at(const struct fli_shm_dir *h, const char *name, void *buf, size_t len,
                    size_t *file_len)
{
	struct mem_dir *d = dir_by_handle(h);
	struct mem_file *f = d != NULL ? file_in(d->id, name) : NULL;

	if (f == NULL)
		return FL_ENOENT;
	if (f->len < len)
		return FL_EPROTO;
	memcpy(buf, f->blk.base, len);
	if (file_len != NULL)
		*file_len = f->len;
	return 0;
}

int
fli_shm_mem_rename_at(const struct fli_shm_dir *h, const char *from, const char *to)
{
	struct mem_dir *d = dir_by_handle(h);
	struct mem_file *f = d != NULL ? file_in(d->id, from) : NULL;

	if (f == NULL)
		return FL_ENOENT;
	if (file_in(d->id, to) != NULL)
		return FL_EEXIST;
	if (strlen(to) >= sizeof(f->name))
		return FL_EIO;
	snprintf(f->name, sizeof(f->name), "%s", to);
	return 0;
}

int
fli_shm_mem_unlink_at(const struct fli_shm_dir *h, const char *name)
{
	struct mem_dir *d = dir_by_handle(h);
	struct mem_file *f = d != NULL ? file_in(d->id, name) : NULL;

	if (f == NULL)
		return FL_ENOENT;
	f->linked = false;
	file_release(f);
	return 0;
}

int
fli_shm_mem_create(const char *path, size_t len, struct fli_shm *out, char *why, size_t whylen)
{
	char dir[256];
	const char *name;
	struct mem_dir *d;
	int rc;

	if (!split(path, dir, sizeof(dir), &name) || (d = dir_by_path(dir)) == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "create: No such file or directory");
		return FL_ENOENT;
	}
	rc = create_in(d, name, len, false, out);
	if (rc == FL_EEXIST && why != NULL && whylen > 0)
		snprintf(why, whylen, "create: File exists");
	return rc;
}

int
fli_shm_mem_map(const char *path, bool writable, size_t min_len, struct fli_shm *out, char *why,
                size_t whylen)
{
	char dir[256];
	const char *name;
	struct mem_dir *d;

	if (!split(path, dir, sizeof(dir), &name) || (d = dir_by_path(dir)) == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "open: No such file or directory");
		return FL_ENOENT;
	}
	return map_in(d, name, writable, min_len, out, why, whylen);
}

int
fli_shm_mem_unlink(const char *path)
{
	char dir[256];
	const char *name;
	struct mem_dir *d;
	struct mem_file *f;

	if (!split(path, dir, sizeof(dir), &name) || (d = dir_by_path(dir)) == NULL ||
	    (f = file_in(d->id, name)) == NULL)
		return FL_ENOENT;
	f->linked = false;
	file_release(f);
	return 0;
}

bool
fli_shm_mem_unmap(struct fli_shm *m)
{
	for (struct mem_map **pp = &mem.maps; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->addr == m->addr) {
			struct mem_map *x = *pp;
			struct mem_file *f = x->file;

			*pp = x->next;
			/* Closed at once, as munmap would: a stale pointer faults.
			 * Kept for the block's next mapping when there is room. */
			if (f->blk.nspare < MEM_SPARES && mprotect(x->addr, f->len, PROT_NONE) == 0)
				f->blk.spare[f->blk.nspare++] = x->addr;
			else
				munmap(x->addr, f->len);
			free(x);
			f->maps--;
			file_release(f);
			return true;
		}
	/* Unmapped already, through another copy of the same struct: the
	 * address is a closed spare now, its range still the backend's.  A
	 * second munmap on /dev/shm finds nothing there and does nothing;
	 * here it must not unmap the spare either, or the block's next
	 * mapping would reopen whatever the kernel put in its place. */
	for (struct mem_file *f = mem.files; f != NULL; f = f->next)
		if (block_holds(&f->blk, m->addr))
			return true;
	for (size_t i = 0; i < mem.npool; i++)
		if (block_holds(&mem.pool[i], m->addr))
			return true;
	return false;
}

void *
fli_shm_mem_view(void *addr, size_t len, bool write)
{
	const uint8_t *a = addr;

	for (const struct mem_map *m = mem.maps; m != NULL; m = m->next) {
		const uint8_t *b = m->addr;

		if (a >= b && a < b + m->file->len && len <= m->file->len - (size_t)(a - b))
			return write && !m->writable ? NULL : m->file->blk.base + (a - b);
	}
	return NULL;
}

bool
fli_shm_mem_exists(const char *path)
{
	return dir_by_path(path) != NULL;
}
