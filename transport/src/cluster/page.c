/*
 * A node's status page (page.h).
 */
#include "page.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faultline/driver.h"
#include "faultline/error.h"
#include "faultline/platform.h"

void
fli_page_name(int id, char *buf, size_t len)
{
	snprintf(buf, len, "node-%d.stat", id);
}

int
fli_page_open(const char *dir, int id, struct fli_shm *out)
{
	struct fli_shm_dir d = { .fd = -1 };
	char name[32];
	int rc = fli_shm_dir_open(dir, (uid_t)-1, &d, NULL, 0);

	if (rc != 0)
		return rc;
	fli_page_name(id, name, sizeof name);
	/* A dead life's page (a killed node leaves it) goes first, whether
	 * or not a new one can be made: the node is the only writer of its
	 * id's page, and a stale one would outlive it. */
	(void)fli_shm_unlink_at_quiet(&d, name);
	rc = fli_shm_create_at(&d, name, FLI_PAGE_LEN, out);
	fli_shm_dir_close(&d);
	if (rc == 0) {
		struct fli_page *p = out->addr;

		p->version = FLI_PAGE_VERSION;
		p->pid = fl_getpid();
		p->id = id;
		__atomic_store_n(&p->magic, FLI_PAGE_MAGIC, __ATOMIC_RELEASE);
	}
	return rc;
}

void
fli_page_write(struct fli_shm *m, const struct fl_cluster_node_status *st, int members)
{
	struct fli_page *p = m->addr;
	uint64_t seq;

	if (p == NULL)
		return;
	seq = __atomic_load_n(&p->seq, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&p->seq, seq, __ATOMIC_RELAXED); /* odd: writing */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p->members = members;
	p->role = (int32_t)st->role;
	p->leader = st->leader;
	p->term = st->term;
	p->commit = st->commit;
	p->applied = st->applied;
	p->log_length = st->log_length;
	p->sessions = st->sessions;
	p->elections = st->elections;
	p->garbled = st->garbled;
	p->refused = st->refused;
	p->dropped = st->dropped;
	p->state_hash = st->state_hash;
	p->written_ns = fl_clock_now_ns();
	__atomic_store_n(&p->seq_tail, seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&p->seq, seq + 1, __ATOMIC_RELEASE);
}

void
fli_page_close(struct fli_shm *m, const char *dir, int id, int unlink)
{
	struct fli_shm_dir d = { .fd = -1 };
	char name[32];

	fli_shm_unmap(m);
	if (!unlink || fli_shm_dir_open(dir, (uid_t)-1, &d, NULL, 0) != 0)
		return;
	fli_page_name(id, name, sizeof name);
	/* Not through transport/shm/unlink: a page left is no segment's
	 * leak (the next life of the node takes it over, the driver's clean
	 * up removes it), and that point's sweep would only report it. */
	(void)fli_shm_unlink_at_quiet(&d, name);
	fli_shm_dir_close(&d);
}

int
fl_cluster_page_remove(const char *dir, int id)
{
	struct fli_shm_dir d = { .fd = -1 };
	char name[32];
	int rc;

	if (dir == NULL)
		return FL_EINVAL;
	rc = fli_shm_dir_open(dir, (uid_t)-1, &d, NULL, 0);
	if (rc != 0)
		return rc;
	fli_page_name(id, name, sizeof name);
	rc = fli_shm_unlink_at_quiet(&d, name);
	fli_shm_dir_close(&d);
	return rc;
}

int
fli_page_read(const struct fli_page *p, struct fl_cluster_node_status *st, int32_t *pid)
{
	if (p->magic != FLI_PAGE_MAGIC || p->version != FLI_PAGE_VERSION)
		return FL_EPROTO;
	if ((p->seq & 1) != 0 || p->seq != p->seq_tail)
		return FL_EAGAIN;
	if (p->id < 0 || p->id >= FL_CLUSTER_MAX_NODES || p->role < FL_CLUSTER_FOLLOWER ||
	    p->role > FL_CLUSTER_HALTED || p->leader < -1 || p->leader >= FL_CLUSTER_MAX_NODES)
		return FL_EPROTO;
	memset(st, 0, sizeof(*st));
	st->id = p->id;
	st->role = (enum fl_cluster_role)p->role;
	st->leader = p->leader;
	st->term = p->term;
	st->commit = p->commit;
	st->applied = p->applied;
	st->log_length = p->log_length;
	st->sessions = p->sessions;
	st->elections = p->elections;
	st->garbled = p->garbled;
	st->refused = p->refused;
	st->dropped = p->dropped;
	st->state_hash = p->state_hash;
	*pid = p->pid;
	return 0;
}

int
fl_cluster_nodes_read(const char *ns, uint32_t allowed_uid, struct fl_cluster_node_status *out,
                      int32_t *pids, int max, int *count)
{
	struct fli_shm_dir d = { .fd = -1 };
	char dir[256];
	int rc, n = 0;

	if (out == NULL || count == NULL || max < 0)
		return FL_EINVAL;
	rc = fl_run_dir_path(ns, dir, sizeof dir);
	if (rc == 0)
		rc = fli_shm_dir_open(dir, allowed_uid != 0 ? (uid_t)allowed_uid : (uid_t)-1, &d,
		                      NULL, 0);
	if (rc != 0)
		return rc;
	for (int id = 0; id < FL_CLUSTER_MAX_NODES && n < max; id++) {
		struct fli_page p;
		char name[32];
		int32_t pid = 0;

		fli_page_name(id, name, sizeof name);
		/* A snapshot taken mid-write is taken again; a node rewrites
		 * its page at most once a pass, so a few tries do. */
		for (int tries = 0; tries < 1000; tries++) {
			rc = fli_shm_read_at(&d, name, &p, sizeof p, NULL);
			if (rc == 0)
				rc = fli_page_read(&p, &out[n], &pid);
			if (rc != FL_EAGAIN)
				break;
		}
		if (rc == 0) {
			if (pids != NULL)
				pids[n] = pid;
			n++;
		}
	}
	fli_shm_dir_close(&d);
	*count = n;
	return 0;
}
