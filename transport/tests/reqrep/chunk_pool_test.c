/* Chunk pools: spec parsing, loan/release, stale releases, exhaustion,
 * reclaim, corruption, threads and processes; and the edges: loans of each
 * class size and one byte either side, one past the largest class, every
 * chunk from the first to the last, an index one past the last. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fiu.h>
#include <fiu-control.h>

#include "faultline/chunk.h"
#include "faultline/error.h"
#include "faultline/platform.h"
#include "faultline/reqrep.h"
#include "chunk_pool.h"
#include "fl_test.h"

static char path[PATH_MAX + 16];

static int
setup(void **state)
{
	snprintf(path, sizeof(path), "%s/chunks.dat", test_rundir("chunk"));
	return 0;
}

static int
teardown(void **state)
{
	test_rundir_remove();
	return 0;
}

static void
spec_is_validated(void **state)
{
	static const char *bad[] = { "",      "128",         "128:",  ":4",     "128:4,64:4", "0:4",
		                     "128:0", "128:4;256:4", "abc:1", "128:4,", NULL };
	fl_chunk_pool *p;

	for (int i = 0; bad[i] != NULL; i++) {
		int rc = fl_chunk_pool_create(path, bad[i], &p);
		if (rc != FL_EINVAL)
			fail_msg("spec \"%s\": %s, want FL_EINVAL", bad[i], fl_errname(rc));
	}
	assert_int_equal(test_rundir_files(), 0);
	assert_fl(fl_chunk_pool_create(path, "128:4,4096:2", &p), 0);
	assert_fl(fl_chunk_pool_create(path, "128:4", &(fl_chunk_pool *){ NULL }), FL_EEXIST);
	fl_chunk_pool_close(p);
}

static void
loan_write_release(void **state)
{
	fl_chunk_pool *p, *q;
	struct fl_chunk_pool_stats st;
	fl_chunk a, b, c;

	assert_fl(fl_chunk_pool_create(path, "128:4,4096:2", &p), 0);
	assert_fl(fl_chunk_pool_open(path, 7, &q), 0);
	assert_fl(fl_chunk_loan(q, 100, 0, &a), 0);
	assert_int_equal(a.cap, 128);
	assert_fl(fl_chunk_loan(q, 129, 0, &b), 0);
	assert_int_equal(b.cap, 4096);
	assert_fl(fl_chunk_loan(q, 4097, 0, &c), FL_EMSGSIZE);
	memset(a.data, 0xab, a.cap);
	memset(b.data, 0xcd, b.cap);
	assert_int_equal(((unsigned char *)a.data)[127], 0xab);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.n_classes, 2);
	assert_int_equal(st.cls[0].loaned, 1);
	assert_int_equal(st.cls[1].loaned, 1);
	assert_int_equal(fl_chunk_owner_loaned(p, 7), 2);
	assert_fl(fl_chunk_release(q, &a), 0);
	assert_fl(fl_chunk_release(q, &b), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 0);
	assert_int_equal(st.cls[0].loans, 1);
	assert_int_equal(st.cls[0].releases, 1);
	assert_int_equal(fl_chunk_owner_loaned(p, 7), 0);
	fl_chunk_pool_close(q);
	fl_chunk_pool_close(p);
}

static void
double_release_is_stale(void **state)
{
	fl_chunk_pool *p;
	struct fl_chunk_pool_stats st;
	fl_chunk a, a2;

	assert_fl(fl_chunk_pool_create(path, "64:2", &p), 0);
	assert_fl(fl_chunk_loan(p, 8, 0, &a), 0);
	assert_fl(fl_chunk_release(p, &a), 0);
	assert_fl(fl_chunk_release(p, &a), FL_ESTALE);
	/* Reloaned: the old handle is still stale, the new one works. */
	assert_fl(fl_chunk_loan(p, 8, 0, &a2), 0);
	assert_int_equal(a2.index, a.index);
	assert_int_not_equal(a2.gen, a.gen);
	assert_fl(fl_chunk_release(p, &a), FL_ESTALE);
	assert_fl(fl_chunk_release(p, &a2), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].stale, 2);
	assert_int_equal(st.cls[0].loaned, 0);
	fl_chunk bogus = a2;
	bogus.index = 1000;
	assert_fl(fl_chunk_release(p, &bogus), FL_EPROTO);
	fl_chunk_pool_close(p);
}

static void
exhaustion_and_recovery(void **state)
{
	fl_chunk_pool *p;
	fl_chunk c[4], x;
	struct fl_chunk_pool_stats st;

	assert_fl(fl_chunk_pool_create(path, "64:4", &p), 0);
	for (int i = 0; i < 4; i++)
		assert_fl(fl_chunk_loan(p, 64, 0, &c[i]), 0);
	assert_fl(fl_chunk_loan(p, 1, 0, &x), FL_EPOOL_EMPTY);
	assert_non_null(strstr(fl_rr_errmsg(), "64-byte"));
	uint64_t t0 = fl_clock_now_ns();
	assert_fl(fl_chunk_loan(p, 1, t0 + 5 * FL_NS_PER_MS, &x), FL_EPOOL_EMPTY);
	assert_true(fl_clock_now_ns() - t0 >= 5 * FL_NS_PER_MS);
	assert_fl(fl_chunk_release(p, &c[2]), 0);
	assert_fl(fl_chunk_loan(p, 1, 0, &x), 0);
	assert_int_equal(x.index, c[2].index);
	assert_fl(fl_chunk_release(p, &x), 0);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			assert_fl(fl_chunk_release(p, &c[i]), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].exhausted, 2);
	assert_int_equal(st.cls[0].loaned, 0);
	fl_chunk_pool_close(p);
}

static void
reclaim_by_owner(void **state)
{
	fl_chunk_pool *p, *a, *b;
	fl_chunk c;
	struct fl_chunk_pool_stats st;

	assert_fl(fl_chunk_pool_create(path, "64:8,1024:4", &p), 0);
	assert_fl(fl_chunk_pool_open(path, 11, &a), 0);
	assert_fl(fl_chunk_pool_open(path, 12, &b), 0);
	for (int i = 0; i < 3; i++)
		assert_fl(fl_chunk_loan(a, 10, 0, &c), 0);
	assert_fl(fl_chunk_loan(a, 1000, 0, &c), 0);
	fl_chunk keep;
	assert_fl(fl_chunk_loan(b, 10, 0, &keep), 0);
	assert_int_equal(fl_chunk_owner_loaned(p, 11), 4);
	assert_int_equal(fl_chunk_reclaim_owner(p, 11), 4);
	assert_int_equal(fl_chunk_owner_loaned(p, 11), 0);
	assert_int_equal(fl_chunk_owner_loaned(p, 12), 1);
	/* The dead owner's handle is stale now. */
	assert_fl(fl_chunk_release(a, &c), FL_ESTALE);
	assert_fl(fl_chunk_release(b, &keep), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned + st.cls[1].loaned, 0);
	assert_int_equal(st.cls[0].reclaimed + st.cls[1].reclaimed, 4);
	fl_chunk_pool_close(a);
	fl_chunk_pool_close(b);
	fl_chunk_pool_close(p);
}

/* Wild writes into the segment cost the chunks they hit, nothing more:
 * a refcount without an owner is never loaned again (and shows in the
 * loaned gauge), a header naming a class that does not exist makes its
 * release FL_EPROTO, a bad segment header fails the open. */
static void
corruption_is_contained(void **state)
{
	fl_chunk_pool *p, *q;
	fl_chunk c[3], x;
	struct fl_chunk_pool_stats st;
	struct fli_cp_seg *seg;

	assert_fl(fl_chunk_pool_create(path, "64:4", &p), 0);
	seg = ((struct { struct fli_cp_seg *seg; } *)p)->seg;
	atomic_store(&fli_cp_hdr(p, 0)->state, 5); /* refcount 5, no owner */
	for (int i = 0; i < 3; i++) {
		assert_fl(fl_chunk_loan(p, 1, 0, &c[i]), 0);
		assert_int_not_equal(c[i].index, 0);
	}
	assert_fl(fl_chunk_loan(p, 1, 0, &x), FL_EPOOL_EMPTY);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 4);
	fli_cp_hdr(p, c[0].index)->mark = 99;
	assert_fl(fl_chunk_release(p, &c[0]), FL_EPROTO);
	fli_cp_hdr(p, c[0].index)->mark = 0;
	for (int i = 0; i < 3; i++)
		assert_fl(fl_chunk_release(p, &c[i]), 0);
	seg->magic = 0xdead;
	assert_fl(fl_chunk_pool_open(path, 3, &q), FL_EPROTO);
	fl_chunk_pool_close(p);
	char other[PATH_MAX + 16];
	snprintf(other, sizeof(other), "%s/missing.dat", test_rundir_path);
	assert_fl(fl_chunk_pool_open(other, 3, &q), FL_ENOENT);
}

/* The states a process can die in inside a loan or a release, made by
 * hand: owner set and refcount 0 (a loan between its two steps, or a
 * release between its two).  The owner's reclaim frees them. */
static void
unfinished_loan_and_release_are_reclaimed(void **state)
{
	fl_chunk_pool *p;
	fl_chunk c[2];
	struct fl_chunk_pool_stats st;

	assert_fl(fl_chunk_pool_create(path, "64:2", &p), 0);
	atomic_store(&fli_cp_hdr(p, 0)->owner, 55); /* claimed, refcount not yet 1 */
	assert_fl(fl_chunk_loan(p, 1, 0, &c[0]), 0);
	assert_int_equal(c[0].index, 1);
	assert_fl(fl_chunk_loan(p, 1, 0, &c[1]), FL_EPOOL_EMPTY);
	assert_int_equal(fl_chunk_reclaim_owner(p, 55), 1);
	assert_fl(fl_chunk_loan(p, 1, 0, &c[1]), 0);
	assert_int_equal(c[1].index, 0);
	/* A release by owner 55 that set refcount 0 and died. */
	atomic_store(&fli_cp_hdr(p, 0)->owner, 55);
	atomic_store(&fli_cp_hdr(p, 0)->state, (uint64_t)(c[1].gen + 1) << 32);
	assert_fl(fl_chunk_release(p, &c[1]), FL_ESTALE);
	assert_int_equal(fl_chunk_reclaim_owner(p, 55), 1);
	assert_fl(fl_chunk_release(p, &c[0]), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 0);
	assert_fl(fl_chunk_loan(p, 1, 0, &c[0]), 0);
	assert_fl(fl_chunk_loan(p, 1, 0, &c[1]), 0);
	assert_fl(fl_chunk_release(p, &c[0]), 0);
	assert_fl(fl_chunk_release(p, &c[1]), 0);
	fl_chunk_pool_close(p);
}

/* A process loaning and releasing as fast as it can is SIGKILLed after a
 * random delay, again and again: wherever the kill lands, the reclaim of
 * its owner gives every chunk back (all of them loan again).  The pass
 * does not depend on where the kills land; a failure names the round. */
static void
killed_anywhere_in_loan_or_release(void **state)
{
	unsigned rounds =
	        getenv("FL_ROUNDS") ? (unsigned)atoi(getenv("FL_ROUNDS")) : test_scale(40, 8);
	fl_chunk_pool *p;
	struct fl_chunk_pool_stats st;
	fl_chunk all[8];

	assert_fl(fl_chunk_pool_create(path, "64:8", &p), 0);
	srand((unsigned)getpid());
	for (unsigned r = 0; r < rounds; r++) {
		int pfd[2];
		char b;

		pid_t pid = test_fork_piped(pfd);
		if (pid == 0) {
			fl_chunk_pool *q;
			fl_chunk c[3];
			close(pfd[0]);
			if (fl_chunk_pool_open(path, 60 + r, &q) != 0)
				_exit(2);
			(void)!write(pfd[1], "r", 1);
			for (;;) {
				for (int i = 0; i < 3; i++)
					if (fl_chunk_loan(q, 1, 0, &c[i]) != 0)
						_exit(3);
				for (int i = 0; i < 3; i++)
					if (fl_chunk_release(q, &c[i]) != 0)
						_exit(4);
			}
		}
		close(pfd[1]);
		assert_int_equal(read(pfd[0], &b, 1), 1);
		close(pfd[0]);
		usleep((useconds_t)(rand() % 3000));
		kill(pid, SIGKILL);
		if (test_wait_child(pid) != 128 + SIGKILL)
			fail_msg("round %u: the child exited by itself", r);
		(void)fl_chunk_reclaim_owner(p, 60 + r);
		fl_chunk_pool_stats(p, &st);
		if (st.cls[0].loaned != 0)
			fail_msg("round %u: %u chunks loaned after the reclaim", r,
			         st.cls[0].loaned);
		for (int i = 0; i < 8; i++)
			if (fl_chunk_loan(p, 1, 0, &all[i]) != 0)
				fail_msg("round %u: only %d of 8 chunks loan again", r, i);
		for (int i = 0; i < 8; i++)
			assert_fl(fl_chunk_release(p, &all[i]), 0);
	}
	fl_chunk_pool_close(p);
}

/* Loans from several handles (processes, as far as the pool can tell)
 * with releases by any of them, in a fixed pseudo-random order: a loan
 * succeeds exactly when fewer than all the class's chunks are loaned,
 * wherever its handle's search starts. */
static void
any_free_chunk_is_found(void **state)
{
	enum { N = 5, H = 3 };
	fl_chunk_pool *h[H];
	fl_chunk held[N];
	uint32_t x = 7;
	int n = 0;

	assert_fl(fl_chunk_pool_create(path, "64:5", &h[0]), 0);
	for (int i = 1; i < H; i++)
		assert_fl(fl_chunk_pool_open(path, 20 + i, &h[i]), 0);
	for (int op = 0; op < 4000; op++) {
		x = x * 1103515245u + 12345u;
		int who = (int)((x >> 16) % H);
		if ((x >> 8) % 3 != 0 || n == 0) { /* loan */
			fl_chunk c;
			int rc = fl_chunk_loan(h[who], 1, 0, &c);
			if (n < N && rc != 0)
				fail_msg("op %d: handle %d's loan failed with %d of %d loaned", op,
				         who, n, N);
			if (n == N && rc != FL_EPOOL_EMPTY)
				fail_msg("op %d: a loan with every chunk loaned returned %d", op,
				         rc);
			if (rc == 0)
				held[n++] = c;
		} else { /* release a random one, by any handle */
			int k = (int)((x >> 20) % (uint32_t)n);
			assert_fl(fl_chunk_release(h[who], &held[k]), 0);
			held[k] = held[--n];
		}
	}
	while (n > 0)
		assert_fl(fl_chunk_release(h[0], &held[--n]), 0);
	for (int i = H - 1; i >= 0; i--)
		fl_chunk_pool_close(h[i]);
}

static void
fault_point_loan(void **state)
{
	fl_chunk_pool *p;
	fl_chunk c;

#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled: the point is compiled out */
#endif
	assert_fl(fl_chunk_pool_create(path, "64:4", &p), 0);
	fiu_init(0);
	fiu_enable("transport/chunk/loan", 1, NULL, 0);
	fl_points_arm(false, true);
	assert_fl(fl_chunk_loan(p, 1, 0, &c), FL_EFAULT_INJECTED);
	fl_points_arm(false, false);
	fiu_disable("transport/chunk/loan");
	assert_fl(fl_chunk_loan(p, 1, 0, &c), 0);
	assert_fl(fl_chunk_release(p, &c), 0);
	fl_chunk_pool_close(p);
}

struct churn {
	fl_chunk_pool *p;
	unsigned iters;
	int errors;
};

static void *
churn_thread(void *arg)
{
	struct churn *ch = arg;
	fl_chunk held[3];

	for (unsigned i = 0; i < ch->iters; i++) {
		int n = 0;
		for (int k = 0; k < 3; k++) {
			int rc = fl_chunk_loan(ch->p, 16, 0, &held[n]);
			if (rc == 0) {
				*(volatile uint32_t *)held[n].data = i;
				n++;
			} else if (rc != FL_EPOOL_EMPTY) {
				ch->errors++;
			}
		}
		while (n-- > 0)
			if (fl_chunk_release(ch->p, &held[n]) != 0)
				ch->errors++;
	}
	return NULL;
}

static void
threads_loan_release(void **state)
{
	fl_chunk_pool *p;
	struct churn ch[4];
	struct fl_chunk_pool_stats st;

	assert_fl(fl_chunk_pool_create(path, "64:8", &p), 0);
	for (int i = 0; i < 4; i++)
		ch[i] = (struct churn){ p, test_scale(50000, 50), 0 };
	test_threads(4, churn_thread, ch, sizeof(ch[0]));
	for (int i = 0; i < 4; i++)
		assert_int_equal(ch[i].errors, 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 0);
	assert_int_equal(st.cls[0].loans, st.cls[0].releases);
	assert_int_equal(st.cls[0].stale, 0);
	/* Every chunk is free and loans exactly once. */
	fl_chunk c[8], x;
	for (int i = 0; i < 8; i++)
		assert_fl(fl_chunk_loan(p, 1, 0, &c[i]), 0);
	assert_fl(fl_chunk_loan(p, 1, 0, &x), FL_EPOOL_EMPTY);
	for (int i = 0; i < 8; i++)
		assert_fl(fl_chunk_release(p, &c[i]), 0);
	fl_chunk_pool_close(p);
}

static void
processes_loan_release(void **state)
{
	fl_chunk_pool *p;
	struct fl_chunk_pool_stats st;
	pid_t pid[3];

	assert_fl(fl_chunk_pool_create(path, "64:8", &p), 0);
	for (int i = 0; i < 3; i++) {
		pid[i] = test_fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			fl_chunk_pool *q;
			struct churn ch;
			if (fl_chunk_pool_open(path, 100 + i, &q) != 0)
				_exit(2);
			ch = (struct churn){ q, test_scale(50000, 50), 0 };
			churn_thread(&ch);
			fl_chunk_pool_close(q);
			_exit(ch.errors == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(test_wait_child(pid[i]), 0);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 0);
	assert_int_equal(st.cls[0].stale, 0);
	assert_int_equal(st.cls[0].loans, st.cls[0].releases);
	fl_chunk_pool_close(p);
}

static void
killed_process_is_reclaimed(void **state)
{
	fl_chunk_pool *p;
	struct fl_chunk_pool_stats st;
	int pfd[2];
	char b;

	assert_fl(fl_chunk_pool_create(path, "64:8", &p), 0);
	pid_t pid = test_fork_piped(pfd);
	if (pid == 0) {
		fl_chunk_pool *q;
		fl_chunk c;
		if (fl_chunk_pool_open(path, 55, &q) != 0)
			_exit(2);
		for (int i = 0; i < 5; i++)
			if (fl_chunk_loan(q, 1, 0, &c) != 0)
				_exit(3);
		test_ready_then_pause(pfd[1], 'x');
	}
	assert_int_equal(read(pfd[0], &b, 1), 1);
	test_kill_child(pid);
	close(pfd[0]);
	close(pfd[1]);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 5);
	assert_int_equal(fl_chunk_reclaim_owner(p, 55), 5);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.cls[0].loaned, 0);
	fl_chunk_pool_close(p);
}

/* ---- sizes and handles at their edges ------------------------------ */

/* The default spec's class sizes with small counts. */
#define EDGE_SPEC "128:4,4096:2,65536:2"

/* Each class size and one byte either side: at or below a size the loan
 * gets that class, one above the next; one byte past the largest class
 * is FL_EMSGSIZE (the message names it), as is SIZE_MAX. */
static void
loans_at_class_edges(void **state)
{
	static const struct {
		size_t len;
		uint32_t cap;
	} cases[] = {
		{ 0, 128 },     { 1, 128 },     { 127, 128 },    { 128, 128 },     { 129, 4096 },
		{ 4095, 4096 }, { 4096, 4096 }, { 4097, 65536 }, { 65535, 65536 }, { 65536, 65536 },
	};
	fl_chunk_pool *p;
	fl_chunk c;
	struct fl_chunk_pool_stats st;

	assert_fl(fl_chunk_pool_create(path, EDGE_SPEC, &p), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = fl_chunk_loan(p, cases[i].len, 0, &c);

		if (rc != 0 || c.cap != cases[i].cap || c.len != cases[i].len)
			fail_msg("loan(%zu) = %s, cap %u len %u; want a %u-byte chunk",
			         cases[i].len, fl_errname(rc), rc == 0 ? c.cap : 0,
			         rc == 0 ? c.len : 0, cases[i].cap);
		memset(c.data, 0xee, c.cap);
		assert_fl(fl_chunk_release(p, &c), 0);
	}
	assert_fl(fl_chunk_loan(p, 65537, 0, &c), FL_EMSGSIZE);
	assert_non_null(strstr(fl_rr_errmsg(), "largest size class"));
	assert_fl(fl_chunk_loan(p, SIZE_MAX, 0, &c), FL_EMSGSIZE);
	fl_chunk_pool_stats(p, &st);
	for (uint32_t k = 0; k < st.n_classes; k++)
		assert_int_equal(st.cls[k].loaned, 0);
	assert_int_equal(st.cls[0].loans, 4);
	assert_int_equal(st.cls[1].loans, 3);
	assert_int_equal(st.cls[2].loans, 3);
	fl_chunk_pool_close(p);
}

/* Every chunk of every class loaned at once: the indices are 0..total-1,
 * class by class (first and last of each); each chunk's cap bytes lie in
 * the segment, past the header array, and overlap no other chunk (each is
 * filled whole, then all are checked). */
static void
every_chunk_first_to_last(void **state)
{
	enum { TOTAL = 8 };
	static const uint32_t cap_of[TOTAL] = { 128, 128, 128, 128, 4096, 4096, 65536, 65536 };
	static const size_t len_of[3] = { 128, 4096, 65536 };
	fl_chunk_pool *p;
	fl_chunk c[TOTAL], x;
	bool seen[TOTAL] = { false };
	int n = 0;

	assert_fl(fl_chunk_pool_create(path, EDGE_SPEC, &p), 0);
	const char *lo = (const char *)p->seg + p->seg->hdr_off + TOTAL * sizeof(struct fli_cp_hdr);
	const char *hi = (const char *)p->seg + p->size;
	for (int k = 0; k < 3; k++) {
		while (fl_chunk_loan(p, len_of[k], 0, &c[n]) == 0) {
			assert_true(n < TOTAL);
			n++;
		}
	}
	assert_int_equal(n, TOTAL);
	assert_fl(fl_chunk_loan(p, 1, 0, &x), FL_EPOOL_EMPTY);
	for (int i = 0; i < TOTAL; i++) {
		uint32_t idx = c[i].index;

		if (idx >= TOTAL || seen[idx] || c[i].cap != cap_of[idx])
			fail_msg("loan %d: index %u, cap %u", i, idx, c[i].cap);
		seen[idx] = true;
		if ((const char *)c[i].data < lo || (const char *)c[i].data + c[i].cap > hi)
			fail_msg("chunk %u: [%p, +%u) outside the payload area [%p, %p)", idx,
			         c[i].data, c[i].cap, (const void *)lo, (const void *)hi);
		memset(c[i].data, 0x10 + (int)idx, c[i].cap);
	}
	for (int i = 0; i < TOTAL; i++) {
		const unsigned char *d = c[i].data;

		for (uint32_t b = 0; b < c[i].cap; b++)
			if (d[b] != 0x10 + c[i].index)
				fail_msg("chunk %u byte %u: %#x, overwritten by chunk %#x's fill",
				         c[i].index, b, d[b], d[b] - 0x10);
	}
	for (int i = 0; i < TOTAL; i++)
		assert_fl(fl_chunk_release(p, &c[i]), 0);
	fl_chunk_pool_close(p);
}

/* Handles by index: the last chunk's (total - 1) resolves and releases;
 * one past it (total) and UINT32_MAX have no header and are FL_EPROTO
 * for release and resolve, touching nothing; so is an index one past
 * the last of the class its header names. */
static void
chunk_index_one_past_the_last(void **state)
{
	enum { TOTAL = 8 };
	fl_chunk_pool *p;
	fl_chunk c[TOTAL], got, bogus;
	struct fl_chunk_pool_stats st;
	int last = -1;

	assert_fl(fl_chunk_pool_create(path, EDGE_SPEC, &p), 0);
	assert_non_null(fli_cp_hdr(p, 0));
	assert_non_null(fli_cp_hdr(p, TOTAL - 1));
	assert_null(fli_cp_hdr(p, TOTAL));
	assert_null(fli_cp_hdr(p, UINT32_MAX));
	for (int i = 0; i < TOTAL; i++) {
		assert_fl(fl_chunk_loan(p, i < 4 ? 1 : i < 6 ? 200 : 5000, 0, &c[i]), 0);
		if (c[i].index == TOTAL - 1)
			last = i;
	}
	assert_true(last >= 0);
	assert_fl(fli_cp_resolve(p, TOTAL - 1, c[last].gen, &got), 0);
	assert_ptr_equal(got.data, c[last].data);
	assert_int_equal(got.cap, 65536);
	bogus = c[last];
	bogus.index = TOTAL;
	assert_fl(fl_chunk_release(p, &bogus), FL_EPROTO);
	assert_fl(fli_cp_resolve(p, TOTAL, bogus.gen, &got), FL_EPROTO);
	assert_fl(fli_cp_release_entry(p, TOTAL, bogus.gen), FL_EPROTO);
	bogus.index = UINT32_MAX;
	assert_fl(fl_chunk_release(p, &bogus), FL_EPROTO);
	/* A header (shared memory) whose mark a stray write set: chunk 4,
	 * the first of class 1, marked with that class's index (version 4
	 * kept the class there, and 1 was right). */
	for (int i = 0; i < TOTAL; i++)
		if (c[i].index == 4) {
			fli_cp_hdr(p, 4)->mark = 1;
			assert_fl(fli_cp_resolve(p, 4, c[i].gen, &got), FL_EPROTO);
			assert_fl(fl_chunk_release(p, &c[i]), FL_EPROTO);
			fli_cp_hdr(p, 4)->mark = 0;
		}
	fl_chunk_pool_stats(p, &st);
	for (uint32_t k = 0; k < st.n_classes; k++)
		assert_int_equal(st.cls[k].stale, 0);
	assert_int_equal(st.cls[2].loaned, 2);
	for (int i = 0; i < TOTAL; i++)
		assert_fl(fl_chunk_release(p, &c[i]), 0);
	assert_fl(fli_cp_resolve(p, TOTAL - 1, c[last].gen, &got), FL_ESTALE);
	fl_chunk_pool_close(p);
}

/* Loans a chunk of each class of EDGE_SPEC from the pool in arg, writes
 * its whole capacity, releases it; reads the stats.  0, or the step that
 * went wrong. */
static int
loan_write_each_class(void *arg)
{
	fl_chunk_pool *q = arg;
	struct fl_chunk_pool_stats st;
	static const size_t lens[] = { 1, 200, 5000 };

	for (int k = 0; k < 3; k++) {
		fl_chunk c;

		if (fl_chunk_loan(q, lens[k], 0, &c) != 0)
			return 10 + k;
		if ((char *)c.data < (char *)q->seg ||
		    (char *)c.data + c.cap > (char *)q->seg + q->size)
			return 20 + k;
		memset(c.data, 0x5a, c.cap);
		if (fl_chunk_release(q, &c) != 0)
			return 30 + k;
	}
	fl_chunk_pool_stats(q, &st);
	if (st.n_classes != 3 || st.cls[0].total != 4 || st.cls[2].total != 2)
		return 40;
	return 0;
}

/* A wild writer rewrites the segment's layout after a process mapped it:
 * a class's data offset, size, count or first index, the number of
 * classes, the header offset, the total.  The process keeps the layout it
 * validated when it mapped the segment: its loans hand out its own chunks
 * (whose whole capacity it then writes), its releases and stats stay in
 * range.  The loans run in a child: a crash is reported, not suffered. */
static void
layout_scribbled_after_open(void **state)
{
	static const struct test_scribble cases[] = {
		{ "cls[0].data_off", offsetof(struct fli_cp_seg, cls[0].data_off), 8, 1ull << 40 },
		{ "cls[2].data_off", offsetof(struct fli_cp_seg, cls[2].data_off), 8, 4096 },
		{ "cls[0].chunk_size", offsetof(struct fli_cp_seg, cls[0].chunk_size), 4,
		  0xffffffffu },
		{ "cls[0].count", offsetof(struct fli_cp_seg, cls[0].count), 4, 0xffffffffu },
		{ "cls[1].first", offsetof(struct fli_cp_seg, cls[1].first), 4, 0x7fffffffu },
		{ "n_classes", offsetof(struct fli_cp_seg, n_classes), 4, 64 },
		{ "hdr_off", offsetof(struct fli_cp_seg, hdr_off), 8, 1ull << 40 },
		{ "total", offsetof(struct fli_cp_seg, total), 4, 0 },
	};

	int bad = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fl_chunk_pool *p, *q;

		assert_fl(fl_chunk_pool_create(path, EDGE_SPEC, &p), 0);
		assert_fl(fl_chunk_pool_open(path, 7, &q), 0);
		test_scribble_write(p->seg, cases[k].off, cases[k].width, cases[k].value);
		bad += test_scribble_sides(&cases[k], "loans", loan_write_each_class, q, p);
		fl_chunk_pool_close(q);
		fl_chunk_pool_close(p);
		assert_fl(fl_chunk_pool_unlink(path), 0);
	}
	test_scribble_verdict(bad, cases);
}

/* A stray write that leaves a layout holding together (class 0 one chunk
 * shorter, class 1 one longer, from one chunk earlier) is refused by the
 * next opener and counted, until the creator's repair puts it back: the
 * opener would otherwise hand out chunk 7 as class 1's first, 1,024 bytes
 * over chunk 8's payload.  Up to version 4 every chunk header named its
 * class and caught this at the chunk's use; the layout's sum does at the
 * open. */
static void
forged_layout_refused_until_repair(void **state)
{
	fl_chunk_pool *p, *q;
	struct fl_chunk_pool_stats st;

	(void)state;
	assert_fl(fl_chunk_pool_create(path, "64:8,1024:4", &p), 0);
	p->seg->cls[0].count = 7;
	p->seg->cls[1].first = 7;
	p->seg->cls[1].count = 5;
	assert_fl(fl_chunk_pool_open(path, 7, &q), FL_EPROTO);
	fl_chunk_pool_stats(p, &st);
	assert_int_equal(st.corrupt_rejected, 1);
	assert_int_equal(fli_cp_repair(p), 3);
	assert_int_equal(fli_cp_repair(p), 0);
	assert_fl(fl_chunk_pool_open(path, 7, &q), 0);
	assert_int_equal(q->cls[1].first, 8);
	/* The sum itself written away: refused the same way, put back alone. */
	p->seg->layout_sum ^= 1;
	assert_fl(fl_chunk_pool_open(path, 8, &q), FL_EPROTO);
	assert_int_equal(fli_cp_repair(p), 1);
	fl_chunk_pool_close(q);
	fl_chunk_pool_close(p);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(spec_is_validated),
		T(loan_write_release),
		T(double_release_is_stale),
		T(exhaustion_and_recovery),
		T(reclaim_by_owner),
		T(corruption_is_contained),
		T(unfinished_loan_and_release_are_reclaimed),
		T(any_free_chunk_is_found),
		T(fault_point_loan),
		T(threads_loan_release),
		T(processes_loan_release),
		T(killed_process_is_reclaimed),
		T(killed_anywhere_in_loan_or_release),
		T(loans_at_class_edges),
		T(every_chunk_first_to_last),
		T(chunk_index_one_past_the_last),
		T(layout_scribbled_after_open),
		T(forged_layout_refused_until_repair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
