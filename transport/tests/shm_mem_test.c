/*
 * The shm seam's in-process backend (fl_run_dirs_in_memory): a driver and
 * its client work as on /dev/shm while nothing appears there; the seam's
 * answers are the POSIX backend's (exclusive creation, a name that
 * outlives its unlink while mapped, a rename that never replaces, what a
 * stale directory's cleanup leaves); each mapping is an address of its
 * own, and a stale pointer into an unmapped file faults as on /dev/shm;
 * a file's block comes back zeroed whatever a run wrote into it; and the
 * fault points fire as before.  Where the backend cannot be used
 * (valgrind refuses the alias mapping it needs), each case skips.
 */
#include <fiu-control.h>
#include <fiu.h>
#include <sys/mman.h>

#include "fl_test.h"
#include "faultline/stats.h"
#include "cnc.h"
#include "shm.h"

struct names {
	int n;
	char first[64];
};

static void
count_name(void *arg, const char *name)
{
	struct names *x = arg;

	if (x->n++ == 0)
		snprintf(x->first, sizeof(x->first), "%s", name);
}

/* Does a write of one byte at p kill a forked child with SIGSEGV? */
static bool
write_faults(void *p)
{
	pid_t pid = test_fork();
	int st;

	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* not cmocka's handler: die of it */
		*(volatile uint8_t *)p = 0x77;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

static void
in_memory_or_skip(void)
{
	if (!fl_run_dirs_in_memory(true))
		skip(); /* no alias mapping here (valgrind): /dev/shm is used */
}

static int
entries(const char *ns, struct names *x)
{
	memset(x, 0, sizeof(*x));
	return fl_run_dir_each(ns, count_name, x);
}

/* A driver, a client and a publication, all in memory: the gauges read,
 * the files are listed, nothing is in /dev/shm, and after the close
 * nothing is left anywhere. */
static void
driver_and_client_in_memory(void **state)
{
	struct fl_driver_ctx dc;
	struct fl_client_ctx cc;
	struct fl_stats st;
	struct names x;
	char ns[64], dir[256];
	fl_driver *d;
	fl_client *c;
	fl_publication *p;
	int64_t id;
	int rc;

	(void)state;
	test_ns(ns, sizeof(ns), "inmem");
	fl_run_dir_path(ns, dir, sizeof(dir));
	in_memory_or_skip();
	test_driver_ctx(&dc, ns);
	dc.no_thread = true;
	assert_fl(fl_driver_start(&dc, &d), 0);
	assert_int_equal(access(dir, F_OK), -1); /* not in /dev/shm */
	assert_int_equal(fl_run_dir_exists(ns), 1);
	fl_client_ctx_init(&cc);
	cc.ns = ns;
	cc.agent = true;
	assert_fl(fl_client_open(&cc, &c), 0);
	assert_fl(fl_client_add_publication_start(c, "m", 1, true, &id), 0);
	do {
		fl_driver_do_work(d);
		fl_client_do_work(c);
	} while ((rc = fl_client_add_publication_poll(c, id, &p)) == FL_EAGAIN);
	assert_fl(rc, 0);
	assert_fl(entries(ns, &x), 0);
	assert_int_equal(x.n, 2); /* cnc.dat, the log */
	assert_fl(fl_stats_read(ns, &st), 0);
	assert_true(st.driver_alive);
	assert_int_equal(st.publications, 1);
	fl_publication_close(p);
	fl_client_close(c);
	fl_driver_close(d);
	assert_int_equal(fl_run_dir_exists(ns), 0);
	assert_fl(entries(ns, &x), FL_ENOENT);
	assert_fl(fl_stats_read(ns, &st), FL_ENOENT);
	fl_run_dirs_in_memory(false);
	assert_int_equal(access(dir, F_OK), -1);
}

/* The seam's rules, and zeroed blocks: a file written all over, unlinked
 * and unmapped gives its block back; the next file of that length reads
 * as zeros.  Every mapping is its own address: a write through one that
 * was unmapped, or through a read-only one, faults. */
static void
seam_rules_and_zeroed_reuse(void **state)
{
	struct fli_shm_dir h;
	struct fli_shm a = { 0 }, b = { 0 }, c = { 0 };
	char ns[64], dir[256], other[64], buf[16];
	size_t len = 1u << 20, flen = 0;
	struct fli_shm ro = { 0 };

	(void)state;
	test_ns(ns, sizeof(ns), "seam");
	fl_run_dir_path(ns, dir, sizeof(dir));
	in_memory_or_skip();
	assert_fl(fli_shm_dir_create(dir, &h), 0);
	assert_fl(fli_shm_dir_create(dir, &h), FL_EEXIST);
	assert_fl(fl_run_dir_make(ns), FL_EEXIST);
	assert_fl(fli_shm_create_at(&h, "pub-7.log", len, &a), 0);
	assert_fl(fli_shm_create_at(&h, "pub-7.log", len, &b), FL_EEXIST);
	memset(a.addr, 0xa5, len); /* every page written */
	/* One file, an address a mapping, the same bytes. */
	assert_fl(fli_shm_map_at(&h, "pub-7.log", true, len, &b), 0);
	assert_ptr_not_equal(b.addr, a.addr);
	assert_int_equal(((uint8_t *)b.addr)[len / 3], 0xa5);
	((uint8_t *)b.addr)[9] = 0x11;
	assert_int_equal(((uint8_t *)a.addr)[9], 0x11);
	/* Read-only means read-only. */
	assert_fl(fli_shm_map_at(&h, "pub-7.log", false, len, &ro), 0);
	assert_int_equal(((uint8_t *)ro.addr)[9], 0x11);
	assert_true(write_faults(ro.addr));
	{
		/* An unmapped address is closed at once; kept, it comes back
		 * for a later mapping with that mapping's rights: a read-only
		 * one still faults on a write, a writable one writes into the
		 * file. */
		uint8_t *was = ro.addr;

		fli_shm_unmap(&ro);
		assert_true(write_faults(was));
		assert_fl(fli_shm_map_at(&h, "pub-7.log", false, len, &ro), 0);
		assert_int_equal(((uint8_t *)ro.addr)[9], 0x11);
		assert_true(write_faults(ro.addr));
		fli_shm_unmap(&ro);
		assert_fl(fli_shm_map_at(&h, "pub-7.log", true, len, &ro), 0);
		((uint8_t *)ro.addr)[10] = 0x22;
		assert_int_equal(((uint8_t *)a.addr)[10], 0x22);
		fli_shm_unmap(&ro);
		assert_true(write_faults(was));
	}
	{
		/* Unmapped twice, through a copy of the struct (a caller's
		 * bug): the second does nothing, as a second munmap finds
		 * nothing on /dev/shm, and the file's next mapping is still
		 * the file, never what the kernel mapped since. */
		struct fli_shm copy;
		void *elsewhere;

		assert_fl(fli_shm_map_at(&h, "pub-7.log", true, len, &ro), 0);
		copy = ro;
		fli_shm_unmap(&ro);
		fli_shm_unmap(&copy);
		elsewhere =
		        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(elsewhere != MAP_FAILED);
		assert_fl(fli_shm_map_at(&h, "pub-7.log", true, len, &ro), 0);
		assert_ptr_not_equal(ro.addr, elsewhere);
		assert_int_equal(((uint8_t *)ro.addr)[10], 0x22);
		fli_shm_unmap(&ro);
		munmap(elsewhere, len);
	}
	{
		/* A scan's view (fli_shm_view): the same bytes at another
		 * address while the mapping lives; the address itself for a
		 * write through a read-only mapping, a range past the end,
		 * or a mapping unmapped since, which still faults. */
		uint8_t *v, *was;

		v = fli_shm_view((uint8_t *)b.addr + 100, 64, true);
		assert_ptr_not_equal(v, (uint8_t *)b.addr + 100);
		v[0] = 0x33;
		assert_int_equal(((uint8_t *)b.addr)[100], 0x33);
		assert_ptr_equal(fli_shm_view((uint8_t *)b.addr + len - 8, 16, false),
		                 (uint8_t *)b.addr + len - 8);
		assert_fl(fli_shm_map_at(&h, "pub-7.log", false, len, &ro), 0);
		assert_ptr_not_equal(fli_shm_view(ro.addr, 64, false), ro.addr);
		assert_ptr_equal(fli_shm_view(ro.addr, 64, true), ro.addr);
		was = ro.addr;
		fli_shm_unmap(&ro);
		assert_ptr_equal(fli_shm_view(was, 64, false), was);
		assert_true(write_faults(fli_shm_view(was, 64, true)));
		assert_ptr_equal(fli_shm_view(&h, sizeof(h), false), (void *)&h);
	}
	assert_fl(fli_shm_map_at(&h, "pub-7.log", true, len + 1, &c), FL_EPROTO);
	assert_fl(fli_shm_read_at(&h, "pub-7.log", buf, sizeof(buf), &flen), 0);
	assert_int_equal(flen, len);
	assert_int_equal((uint8_t)buf[3], 0xa5);
	/* Renamed, never over another file. */
	assert_fl(fli_shm_create_at(&h, "ports.dat", 4096, &c), 0);
	assert_fl(fli_shm_rename_at(&h, "pub-7.log", "ports.dat"), FL_EEXIST);
	assert_fl(fli_shm_rename_at(&h, "nothing", "x"), FL_ENOENT);
	assert_fl(fli_shm_rename_at(&h, "pub-7.log", "pub-8.log"), 0);
	assert_fl(fli_shm_map_at(&h, "pub-7.log", true, 1, &c), FL_ENOENT);
	/* Unlinked while mapped: gone by name, the bytes stay for the maps. */
	assert_fl(fli_shm_unlink_at(&h, "pub-8.log"), 0);
	assert_fl(fli_shm_unlink_at(&h, "pub-8.log"), FL_ENOENT);
	assert_int_equal(((uint8_t *)b.addr)[len - 1], 0xa5);
	{
		/* A stale pointer, after its own unmap, while another mapping
		 * of the file lives: it faults, as on /dev/shm, and never
		 * writes into the file. */
		uint8_t *stale = a.addr;

		fli_shm_unmap(&a);
		assert_true(write_faults(stale + 200));
		assert_int_equal(((uint8_t *)b.addr)[200], 0xa5);
		fli_shm_unmap(&b);
		assert_null(b.addr);
		assert_true(write_faults(stale + 200)); /* and after the last unmap */
	}
	/* Its block again, zeroed. */
	assert_fl(fli_shm_create_at(&h, "pub-9.log", len, &a), 0);
	for (size_t i = 0; i < len; i += 997)
		if (((uint8_t *)a.addr)[i] != 0)
			fail_msg("byte %zu of a reused block is %#x", i, ((uint8_t *)a.addr)[i]);
	/* A few scattered pages written (what a run does to cnc.dat): those
	 * are cleared too. */
	((uint8_t *)a.addr)[5] = 1;
	((uint8_t *)a.addr)[len / 2 + 17] = 2;
	((uint8_t *)a.addr)[len - 1] = 3;
	assert_fl(fli_shm_unlink_at(&h, "pub-9.log"), 0);
	fli_shm_unmap(&a);
	assert_fl(fli_shm_create_at(&h, "pub-9.log", len, &a), 0);
	assert_int_equal(((uint8_t *)a.addr)[5] | ((uint8_t *)a.addr)[len / 2 + 17] |
	                         ((uint8_t *)a.addr)[len - 1],
	                 0);
	fli_shm_unmap(&a);
	/* A stale directory's cleanup: the transport's names go, another
	 * keeps the directory and is named. */
	assert_fl(fli_shm_create(dir /* "<dir>" is no file */, 16, &c, NULL, 0), FL_ENOENT);
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/keep.me", dir);
		assert_fl(fli_shm_create(path, 4096, &c, NULL, 0), 0);
		fli_shm_unmap(&c);
	}
	assert_int_equal(fli_shm_dir_count(dir), 3); /* ports.dat, pub-9.log, keep.me */
	assert_fl(fli_shm_dir_clean(&h, dir, other, sizeof(other)), FL_EEXIST);
	assert_string_equal(other, "keep.me");
	assert_int_equal(fli_shm_dir_count(dir), 1);
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/keep.me", dir);
		assert_fl(fli_shm_unlink(path), 0);
	}
	assert_fl(fli_shm_dir_clean(&h, dir, other, sizeof(other)), 0);
	assert_int_equal(fl_run_dir_exists(ns), 0);
	fli_shm_dir_close(&h);
	fl_run_dirs_in_memory(false);
}

/* Each fault point of the seam fires in memory as on /dev/shm, and a
 * failed create leaves no file. */
static void
fault_points_fire_in_memory(void **state)
{
	static const struct {
		const char *point;
		int rc;
	} cases[] = {
		{ "transport/shm/create", FL_EIO },
		{ "transport/shm/truncate", FL_ENOSPC },
		{ "transport/shm/map", FL_EIO },
	};
	struct fli_shm_dir h;
	struct fli_shm m = { 0 };
	char ns[64], dir[256];

	(void)state;
#ifdef FL_POINTS_DISABLED
	skip(); /* -Dfaultpoints=disabled compiles the points out */
#endif
	test_ns(ns, sizeof(ns), "faults");
	fl_run_dir_path(ns, dir, sizeof(dir));
	in_memory_or_skip();
	fl_points_arm(false, true);
	fiu_enable("transport/shm/mkdir", 1, NULL, 0);
	assert_fl(fli_shm_dir_create(dir, &h), FL_EIO);
	fiu_disable("transport/shm/mkdir");
	assert_fl(fli_shm_dir_create(dir, &h), 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fiu_enable(cases[k].point, 1, NULL, 0);
		assert_fl(fli_shm_create_at(&h, "pub-1.log", 65536, &m), cases[k].rc);
		fiu_disable(cases[k].point);
		assert_int_equal(fli_shm_dir_count(dir), 0);
	}
	assert_fl(fli_shm_create_at(&h, "pub-1.log", 65536, &m), 0);
	fiu_enable("transport/shm/unlink", 1, NULL, 0);
	assert_fl(fli_shm_unlink_at(&h, "pub-1.log"), FL_EIO);
	fiu_disable("transport/shm/unlink");
	assert_fl(fli_shm_unlink_at(&h, "pub-1.log"), 0);
	fli_shm_unmap(&m);
	assert_fl(fli_shm_dir_clean(&h, dir, NULL, 0), 0);
	fli_shm_dir_close(&h);
	fl_points_arm(false, false);
	fl_run_dirs_in_memory(false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(driver_and_client_in_memory),
		cmocka_unit_test(seam_rules_and_zeroed_reuse),
		cmocka_unit_test(fault_points_fire_in_memory),
	};

	fiu_init(0);
	return cmocka_run_group_tests(tests, NULL, test_ns_cleanup);
}
