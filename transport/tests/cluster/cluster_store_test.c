/*
 * A node's files (store.c): what is saved is loaded again; a torn or
 * garbled log tail is cut at the first bad record; a torn state slot
 * leaves the previous state; a conflicting suffix is replaced; a link in
 * place of the directory is refused; fl_cluster_stores_remove takes
 * every node's directory and their parent.  The same tests run on the
 * files in /dev/shm and then on the files a sim run keeps in memory
 * (fl_run_dirs_in_memory), which must behave byte for byte alike.
 */
#include "fl_test.h"
#include "store.h"

#include "faultline/cluster.h"
#include "faultline/driver.h"

#include <fcntl.h>

static char dir[PATH_MAX];
static bool in_memory; /* the second pass: fl_run_dirs_in_memory on */

static int
setup(void **state)
{
	(void)state;
	return (size_t)snprintf(dir, sizeof(dir), "%s/node", test_rundir("cstore")) >= sizeof(dir);
}

static int
teardown(void **state)
{
	(void)state;
	return fli_store_remove(dir);
}

static int
group_teardown(void **state)
{
	test_rundir_remove();
	return test_ns_cleanup(state);
}

static struct fli_raft_entry
entry(uint64_t term, const char *data)
{
	return (struct fli_raft_entry){ .term = term,
		                        .type = FLI_ENTRY_COMMAND,
		                        .len = (uint32_t)strlen(data),
		                        .data = (const uint8_t *)data };
}

/* Opens the store, checks it loaded n entries, closes it. */
static struct fli_store_loaded
reopen(uint64_t n)
{
	struct fli_store st;
	struct fli_store_loaded l;

	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	assert_fl(l.n, n);
	fli_store_close(&st);
	return l;
}

static off_t
file_size(const char *name)
{
	uint64_t size = 0;
	uint8_t b;

	assert_fl(fli_store_file_peek(dir, name, 0, &b, 0, &size), 0);
	return (off_t)size;
}

static void
write_three(void)
{
	struct fli_store st;
	struct fli_store_loaded l;
	struct fli_raft_entry a = entry(1, "alpha"), b = entry(1, "bravo!"),
	                      c = entry(2, "charlie");

	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	assert_fl(l.n, 0);
	assert_fl(l.term, 0);
	assert_int_equal(l.voted_for, FLI_RAFT_NO_NODE);
	assert_fl(fli_store_save_state(&st, 2, 1), 0);
	assert_fl(fli_store_put_entry(&st, 1, &a), 0);
	assert_fl(fli_store_put_entry(&st, 2, &b), 0);
	assert_fl(fli_store_put_entry(&st, 3, &c), 0);
	assert_fl(fli_store_put_entry(&st, 5, &c), FL_EINVAL); /* a gap */
	fli_store_close(&st);
}

static void
saved_is_loaded(void **state)
{
	struct fli_store_loaded l;

	(void)state;
	write_three();
	l = reopen(3);
	assert_fl(l.term, 2);
	assert_int_equal(l.voted_for, 1);
	assert_fl(l.torn_bytes, 0);
	assert_false(l.state_torn);
	assert_fl(l.log[2].term, 2);
	assert_int_equal(l.log[2].len, 7);
	assert_memory_equal(l.log[2].data, "charlie", 7);
	assert_memory_equal(l.log[0].data, "alpha", 5);
	fli_store_loaded_free(&l);
}

/* Every length the last record could have been cut to (a kill mid
 * append) loads the first two and cuts the rest off the file. */
static void
torn_tail_is_cut(void **state)
{
	off_t full, two;

	(void)state;
	write_three();
	full = file_size("log");
	two = full - (24 + 7);
	(void)fli_store_remove(dir);
	for (off_t len = two + 1; len < full; len++) {
		struct fli_store_loaded l;

		write_three();
		assert_fl(fli_store_file_poke(dir, "log", (uint64_t)len, NULL, 0), 0);
		l = reopen(2);
		assert_fl(l.torn_bytes, (uint64_t)(len - two));
		fli_store_loaded_free(&l);
		assert_int_equal(file_size("log"), two);
		/* The cut log takes the next append where it ends. */
		l = reopen(2);
		fli_store_loaded_free(&l);
		(void)fli_store_remove(dir);
	}
}

/* A flipped byte anywhere in record 2 ends the log after record 1. */
static void
garbled_record_ends_the_log(void **state)
{
	(void)state;
	for (int at = 24 + 5; at < 24 + 5 + 24 + 6; at++) {
		struct fli_store_loaded l;
		uint64_t size;
		uint8_t b;

		write_three();
		assert_fl(fli_store_file_peek(dir, "log", (uint64_t)at, &b, 1, &size), 0);
		b ^= 0x40;
		assert_fl(fli_store_file_poke(dir, "log", (uint64_t)at, &b, 1), 0);
		l = reopen(1);
		assert_memory_equal(l.log[0].data, "alpha", 5);
		fli_store_loaded_free(&l);
		(void)fli_store_remove(dir);
	}
}

/* A torn write of the newer state slot leaves the older one. */
static void
torn_state_slot_keeps_the_previous_state(void **state)
{
	struct fli_store st;
	struct fli_store_loaded l;
	uint8_t junk[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	(void)state;
	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	assert_fl(fli_store_save_state(&st, 5, 2), 0); /* seq 1, slot 0 */
	assert_fl(fli_store_save_state(&st, 6, 0), 0); /* seq 2, slot 1 */
	fli_store_close(&st);
	assert_fl(fli_store_file_poke(dir, "state", 32 + 16, junk, sizeof(junk)), 0);
	l = reopen(0);
	assert_fl(l.term, 5);
	assert_int_equal(l.voted_for, 2);
	assert_true(l.state_torn);
	/* The next save goes to the torn slot, not over the good one. */
	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	assert_fl(fli_store_save_state(&st, 7, 1), 0);
	fli_store_close(&st);
	l = reopen(0);
	assert_fl(l.term, 7);
	assert_false(l.state_torn);
}

/* Putting an entry at an index that exists drops it and all after. */
static void
conflicting_suffix_is_replaced(void **state)
{
	struct fli_store st;
	struct fli_store_loaded l;
	struct fli_raft_entry d = entry(3, "delta");

	(void)state;
	write_three();
	assert_fl(fli_store_open(&st, dir, false, &l), 0);
	fli_store_loaded_free(&l);
	assert_fl(fli_store_put_entry(&st, 2, &d), 0);
	fli_store_close(&st);
	l = reopen(2);
	assert_fl(l.log[1].term, 3);
	assert_memory_equal(l.log[1].data, "delta", 5);
	assert_int_equal(file_size("log"), 24 + 5 + 24 + 5);
	fli_store_loaded_free(&l);
}

static void
link_in_place_of_the_directory_is_refused(void **state)
{
	struct fli_store st;
	struct fli_store_loaded l;
	char target[PATH_MAX + 8];

	(void)state;
	snprintf(target, sizeof(target), "%s-target", dir);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, dir), 0);
	assert_fl(fli_store_open(&st, dir, false, &l), FL_EPERM);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(rmdir(target), 0);
}

/* Two nodes' stores under one parent: fl_cluster_stores_remove takes
 * both and the parent, and a store opened there again is empty; a node
 * directory holding anything else stays, and says so. */
static void
stores_remove_takes_every_node(void **state)
{
	char top[PATH_MAX + 8], node[PATH_MAX + 32], extra[PATH_MAX + 64];
	struct fli_store st;
	struct fli_store_loaded l;
	struct fli_raft_entry a = entry(1, "alpha");

	(void)state;
	snprintf(top, sizeof(top), "%s-top", dir);
	assert_fl(fl_cluster_stores_make(top), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(node, sizeof(node), "%s/node%d", top, i);
		assert_fl(fli_store_open(&st, node, false, &l), 0);
		assert_fl(fli_store_put_entry(&st, 1, &a), 0);
		fli_store_close(&st);
	}
	assert_fl(fl_cluster_stores_remove(top), 0);
	if (!in_memory) {
		struct stat sb;

		assert_int_equal(lstat(top, &sb), -1); /* in memory: the reopen says */
	}
	assert_fl(fl_cluster_stores_make(top), 0);
	assert_fl(fli_store_open(&st, node, false, &l), 0);
	assert_fl(l.n, 0);
	fli_store_close(&st);
	assert_fl(fl_cluster_stores_remove(top), 0);
	/* Nothing there: fine. */
	assert_fl(fl_cluster_stores_remove(top), 0);
	/* Something else in a node's directory (planted: another store
	 * inside it) keeps that directory and top: FL_EEXIST, on either
	 * backend (the run then fails no_leaked_files). */
	assert_fl(fl_cluster_stores_make(top), 0);
	assert_fl(fli_store_open(&st, node, false, &l), 0);
	fli_store_close(&st);
	snprintf(extra, sizeof(extra), "%s/extra", node);
	assert_fl(fli_store_open(&st, extra, false, &l), 0);
	fli_store_close(&st);
	assert_fl(fl_cluster_stores_remove(top), FL_EEXIST);
	assert_fl(fli_store_remove(extra), 0);
	assert_fl(fl_cluster_stores_remove(top), 0);
}

int
main(void)
{
	/* Each test starts with no node directory; the teardown removes it. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(saved_is_loaded, teardown),
		cmocka_unit_test_teardown(torn_tail_is_cut, teardown),
		cmocka_unit_test_teardown(garbled_record_ends_the_log, teardown),
		cmocka_unit_test_teardown(torn_state_slot_keeps_the_previous_state, teardown),
		cmocka_unit_test_teardown(conflicting_suffix_is_replaced, teardown),
		cmocka_unit_test_teardown(stores_remove_takes_every_node, teardown),
		cmocka_unit_test_teardown(link_in_place_of_the_directory_is_refused, teardown),
	};
	int failed = cmocka_run_group_tests_name("on disk", tests, setup, group_teardown);

	/* Again in memory (not the link test: no links there), where this
	 * kernel can keep run directories so; else said and skipped. */
	if (!fl_run_dirs_in_memory(true)) {
		print_message("# in memory: not available here (valgrind?), skipped\n");
		return failed;
	}
	in_memory = true;
	failed += _cmocka_run_group_tests("in memory", tests, 6, setup, group_teardown);
	fl_run_dirs_in_memory(false);
	return failed;
}
