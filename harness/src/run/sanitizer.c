/*
 * Sanitizer reports as verdicts: see sanitizer.h.
 *
 * Each runtime writes a report to stderr unless told a path: with
 * __sanitizer_set_report_path(P) it writes to P.<pid>, opened at the
 * first report, so a process actor (forked) gets a file of its own.  GCC
 * links ASan and UBSan as two shared runtimes, each with its own copy of
 * that function and of the death callback; the weak reference below finds
 * only the first, so the others are looked up in each loaded runtime and
 * given a path of their own.  Clang links its runtime into the program:
 * the weak reference finds it.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run/sanitizer.h"

#ifndef FL_SANITIZE
#define FL_SANITIZE "none"
#endif

/* The runtimes' interface (sanitizer/common_interface_defs.h,
 * sanitizer/lsan_interface.h), weak: NULL in a build without them. */
extern void __sanitizer_set_report_path(const char *path) __attribute__((weak));
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
extern void __lsan_register_root_region(const void *p, size_t size) __attribute__((weak));
extern void __lsan_unregister_root_region(const void *p, size_t size) __attribute__((weak));

typedef void (*set_path_fn)(const char *path);
typedef void (*set_death_fn)(void (*callback)(void));

/* Runtimes other than the one the weak references found (GCC's libubsan
 * beside libasan), each with its report file's name in the directory. */
#define MAX_RUNTIMES 4
static struct {
	const char *name;
	set_path_fn set_path;
	set_death_fn set_death;
} others[MAX_RUNTIMES];
static int nothers = -1; /* -1: not looked up yet */

static int
find_runtime(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const char *const libs[][2] = {
		{ "libasan", "asan" }, { "libubsan", "ubsan" },        { "libtsan", "tsan" },
		{ "liblsan", "lsan" }, { "libclang_rt.", "clang_rt" },
	};
	const char *base = strrchr(info->dlpi_name, '/');
	set_path_fn sp;
	set_death_fn sd;
	void *h;

	(void)size;
	(void)arg;
	base = base != NULL ? base + 1 : info->dlpi_name;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (strncmp(base, libs[i][0], strlen(libs[i][0])) != 0 || nothers == MAX_RUNTIMES)
			continue;
		h = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY);
		if (h == NULL)
			return 0;
		sp = (set_path_fn)dlsym(h, "__sanitizer_set_report_path");
		sd = (set_death_fn)dlsym(h, "__sanitizer_set_death_callback");
		dlclose(h); /* RTLD_NOLOAD: only the count taken above */
		if (sp != NULL && sp != __sanitizer_set_report_path) {
			others[nothers].name = libs[i][1];
			others[nothers].set_path = sp;
			others[nothers].set_death = sd;
			nothers++;
		}
		return 0;
	}
	return 0;
}

/* Looked up once a process; the runs it forks inherit the table. */
static void
find_runtimes(void)
{
	if (nothers >= 0)
		return;
	nothers = 0;
	if (__sanitizer_set_report_path != NULL)
		dl_iterate_phdr(find_runtime, NULL);
}

const char *
fli_san_build(void)
{
	return FL_SANITIZE;
}

bool
fli_san_enabled(void)
{
	return __sanitizer_set_report_path != NULL;
}

/* ---- the run ------------------------------------------------------------ */

static void (*describe_fn)(char *buf, size_t len, bool leak_check);
static char ops_prefix[PATH_MAX];
/* UBSan alone (GCC's standalone libubsan) reads its options at its first
 * report, setting the report path from them: __ubsan_default_options
 * (cli/sanitizer_options.c) hands it this one. */
static char ubsan_path[PATH_MAX];

const char *
fli_san_ubsan_log_path(void)
{
	return ubsan_path[0] != '\0' ? ubsan_path : NULL;
}

/* What describe_fn says, written as <dir>/ops.<pid>, with the raw system
 * calls: the process is dying inside the runtime (which holds its report
 * lock under ThreadSanitizer), so no interceptor may run. */
static void
write_ops(bool leak_check)
{
	char path[PATH_MAX + 32], text[1024];
	long fd;
	int n;

	if (describe_fn == NULL || ops_prefix[0] == '\0')
		return;
	describe_fn(text, sizeof(text), leak_check);
	n = snprintf(path, sizeof(path), "%s.%ld", ops_prefix, (long)syscall(SYS_getpid));
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, fd, text, strnlen(text, sizeof(text)));
	(void)syscall(SYS_close, fd);
}

/* The death callback: the runtime calls it in the process that reported,
 * after the report and before it exits.  Not instrumented: it reads what
 * other threads are writing (the actors' ops), and a report from inside
 * the death of another would deadlock ThreadSanitizer. */
static void __attribute__((no_sanitize("thread"))) on_death(void)
{
	write_ops(false);
}

void
fli_san_run_begin(const char *dir, void (*describe)(char *buf, size_t len, bool leak_check))
{
	char path[PATH_MAX];

	if (!fli_san_enabled() || dir == NULL)
		return;
	find_runtimes();
	describe_fn = describe;
	snprintf(ops_prefix, sizeof(ops_prefix), "%s/ops", dir);
	snprintf(path, sizeof(path), "%s/report", dir);
	__sanitizer_set_report_path(path);
	snprintf(ubsan_path, sizeof(ubsan_path), "%s", path); /* UBSan alone: it is the one */
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(on_death);
	for (int i = 0; i < nothers; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, others[i].name);
		others[i].set_path(path);
		if (others[i].set_death != NULL)
			others[i].set_death(on_death);
		if (strcmp(others[i].name, "ubsan") == 0)
			snprintf(ubsan_path, sizeof(ubsan_path), "%s", path);
	}
}

bool
fli_san_leak_check(void)
{
	if (__lsan_do_recoverable_leak_check == NULL || __lsan_do_recoverable_leak_check() == 0)
		return false;
	write_ops(true);
	return true;
}

void
fli_san_root_region(const void *p, size_t len, bool add)
{
	if (add && __lsan_register_root_region != NULL)
		__lsan_register_root_region(p, len);
	else if (!add && __lsan_unregister_root_region != NULL)
		__lsan_unregister_root_region(p, len);
}

/* ---- the parent --------------------------------------------------------- */

static const char *
tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	/* The runtimes take paths up to PATH_MAX; a long TMPDIR falls back. */
	return tmp == NULL || tmp[0] != '/' || strlen(tmp) > 200 ? "/tmp" : tmp;
}

/* Report directories are named faultline-san-<pid>-XXXXXX after the
 * process that made them, which removes each once its run is over.  One
 * killed mid-run (SIGKILL) leaves its directory: the next faultline
 * process removes those of processes that no longer run, as it does their
 * run directories.  Only this user's directories, never through a link,
 * and only what a run puts there (files, no subdirectory). */
static void
remove_dead_dirs(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;
		struct stat st;
		int fd;
		DIR *sub;
		struct dirent *f;

		if (strncmp(e->d_name, "faultline-san-", 14) != 0)
			continue;
		errno = 0;
		pid = strtol(e->d_name + 14, &end, 10);
		if (errno != 0 || end == e->d_name + 14 || *end != '-' || pid <= 0 ||
		    pid > INT32_MAX || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive, or another user's */
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
		    (sub = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while ((f = readdir(sub)) != NULL)
			if (strcmp(f->d_name, ".") != 0 && strcmp(f->d_name, "..") != 0)
				unlinkat(dirfd(sub), f->d_name, 0);
		closedir(sub);
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int
fli_san_dir_make(char *dir, size_t len)
{
	static pid_t swept; /* the process that looked for dead ones */
	const char *tmp = tmp_dir();
	int n;

	if (swept != getpid()) {
		swept = getpid();
		remove_dead_dirs(tmp);
		find_runtimes(); /* once here: the runs forked from here inherit them */
	}
	n = snprintf(dir, len, "%s/faultline-san-%ld-XXXXXX", tmp, (long)getpid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(dir) != NULL ? 0 : -1;
}

struct report {
	char name[NAME_MAX + 1];
	long pid;
	struct timespec mtime;
	off_t size;
};

static int
report_order(const void *a, const void *b)
{
	const struct report *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Up to len - 1 bytes of the file `name` in the directory dfd,
 * NUL-terminated; the length read. */
static size_t
read_head(int dfd, const char *name, char *buf, size_t len)
{
	size_t got = 0;
	int fd;

	buf[0] = '\0';
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* The kind: "AddressSanitizer: heap-buffer-overflow", "ThreadSanitizer:
 * data race", "LeakSanitizer: detected memory leaks", "UndefinedBehavior
 * Sanitizer: runtime error: ...".  *ub_loc: a runtime error's own
 * file:line:col (UBSan prints no stack unless asked). */
static void
report_kind(const char *text, char *kind, size_t len, char *ub_loc, size_t loclen)
{
	const char *line = text;

	kind[0] = ub_loc[0] = '\0';
	for (; line != NULL && *line != '\0';
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t ll = strcspn(line, "\n");
		const char *p = NULL, *re;

		re = memmem(line, ll, ": runtime error: ", 17);
		if (re != NULL) {
			snprintf(kind, len, "UndefinedBehaviorSanitizer: runtime error: %.*s",
			         (int)(ll - (size_t)(re + 17 - line)), re + 17);
			snprintf(ub_loc, loclen, "%.*s", (int)(re - line), line);
			return;
		}
		if ((p = memmem(line, ll, "ERROR: ", 7)) != NULL)
			p += 7;
		else if ((p = memmem(line, ll, "WARNING: ", 9)) != NULL)
			p += 9;
		if (p != NULL && memmem(p, ll - (size_t)(p - line), "Sanitizer: ", 11) != NULL) {
			static const char *const ends[] = { " on address", " on unknown address",
				                            " on ", " (pid=", " at pc " };
			size_t n = ll - (size_t)(p - line);

			for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
				const char *e = memmem(p, n, ends[i], strlen(ends[i]));
				if (e != NULL && (size_t)(e - p) < n)
					n = (size_t)(e - p);
			}
			snprintf(kind, len, "%.*s", (int)n, p);
			return;
		}
	}
	/* Not a report this knows: its first line says what it is. */
	while (*text == '\n' || *text == '=')
		text++;
	snprintf(kind, len, "sanitizer report: %.*s", (int)strcspn(text, "\n"), text);
}

#ifdef FL_SOURCE_ROOT
/* Is file (as the compiler named it: absolute, or relative to the build
 * directory) inside the source tree? */
static int
under_source_root(const char *file)
{
	static char root[PATH_MAX];
	static int have_root = -1;
	char path[PATH_MAX + 1024], real[PATH_MAX];
	size_t n;

	if (have_root < 0)
		have_root = realpath(FL_SOURCE_ROOT, root) != NULL;
	if (!have_root)
		return -1; /* not here: the caller guesses */
	if (file[0] == '/')
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/%s", FL_BUILD_ROOT, file);
	if (realpath(path, real) == NULL)
		return 0;
	n = strlen(root);
	return strncmp(real, root, n) == 0 && real[n] == '/';
}
#endif

/* Without the source tree: a file that is no runtime's, libc's or a
 * system library's. */
static bool
looks_like_project(const char *file)
{
	static const char *const not_ours[] = { "libsanitizer", "compiler-rt", "sanitizer_common",
		                                "/sysdeps/",    "nptl/",       "<" };

	if (strncmp(file, "/usr/", 5) == 0 || strncmp(file, "./", 2) == 0)
		return false;
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		if (strstr(file, not_ours[i]) != NULL)
			return false;
	return true;
}

static bool
is_project_file(const char *file)
{
#ifdef FL_SOURCE_ROOT
	int u = under_source_root(file);
	if (u >= 0)
		return u == 1;
#endif
	return looks_like_project(file);
}

/* The first stack frame in the project: "func (file:line)".  Frames are
 * "#N 0xADDR in func file:line[:col]" (ASan, LSan, UBSan) or "#N func
 * file:line[:col] (module+0xOFF)" (TSan); one without a source file
 * ("(module+0xOFF)") is a library's.  The interposer on a target's
 * library (target/alloc_hook.c) is never the place: the frame after it
 * is, the library's own call, named "module+0xOFF" when it has no
 * symbol ("libnng.so.1+0x3d833"). */
static bool
project_frame(const char *text, char *frame, size_t len)
{
	bool after_hook = false;

	for (const char *line = text; line != NULL && *line != '\0';
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char func[256], loc[1024], file[1024];
		const char *p = line + strspn(line, " \t");
		char *colon;

		if (*p != '#' || p[1] < '0' || p[1] > '9')
			continue;
		p += 1 + strspn(p + 1, "0123456789");
		p += strspn(p, " ");
		if (strncmp(p, "0x", 2) == 0) {
			p += 2 + strspn(p + 2, "0123456789abcdef");
			p += strspn(p, " ");
			if (strncmp(p, "in ", 3) != 0) {
				/* "#N 0xADDR (module+0xOFF)": no symbol */
				const char *slash, *end;

				if (!after_hook || *p != '(' || (end = strchr(p, ')')) == NULL)
					continue;
				slash = memrchr(p, '/', (size_t)(end - p));
				p = slash != NULL ? slash + 1 : p + 1;
				snprintf(frame, len, "%.*s", (int)(end - p), p);
				return true;
			}
			p += 3;
		}
		if (sscanf(p, "%255s %1023[^ \n]", func, loc) != 2 || func[0] == '<')
			continue;
		if (loc[0] == '(' && !after_hook)
			continue;
		snprintf(file, sizeof(file), "%s", loc);
		colon = strchr(file, ':');
		if (colon != NULL)
			*colon = '\0';
		if (strstr(file, "target/alloc_hook.c") != NULL) {
			after_hook = true;
			continue;
		}
		if (after_hook || is_project_file(file)) {
			snprintf(frame, len, "%.120s (%.250s)", func, loc);
			return true;
		}
	}
	return false;
}

/* Appends the file `name` in the directory dfd to out (an open fd). */
static void
copy_into(int out, int dfd, const char *name)
{
	char buf[8192];
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && write(out, buf, (size_t)n) != n)
			break;
	close(fd);
}

int
fli_san_collect(const char *dir, const char *keep, char *detail, size_t len)
{
	struct report reps[16];
	size_t nreps = 0, more = 0;
	char head[65536], kind[160], ub_loc[256], frame[400] = "", ops[1024] = "",
	                                          where[PATH_MAX + 32];
	DIR *d;
	struct dirent *e;
	int out = -1;
	bool kept = false;

	/* Most runs report nothing: an empty directory goes without taking a
	 * file descriptor (a process at its limit of them still judges it). */
	if (rmdir(dir) == 0)
		return 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(detail, len, "cannot read the run's sanitizer reports in %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		const char *dot = strrchr(e->d_name, '.');

		if (e->d_name[0] == '.' || strncmp(e->d_name, "ops.", 4) == 0 || dot == NULL)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_size == 0)
			continue;
		if (nreps == sizeof(reps) / sizeof(reps[0])) {
			more++;
			continue;
		}
		snprintf(reps[nreps].name, sizeof(reps[nreps].name), "%s", e->d_name);
		reps[nreps].pid = strtol(dot + 1, NULL, 10);
		reps[nreps].mtime = st.st_mtim;
		reps[nreps].size = st.st_size;
		nreps++;
	}
	if (nreps > 0) {
		char name[32];

		qsort(reps, nreps, sizeof(reps[0]), report_order);
		read_head(dirfd(d), reps[0].name, head, sizeof(head));
		report_kind(head, kind, sizeof(kind), ub_loc, sizeof(ub_loc));
		if (!project_frame(head, frame, sizeof(frame)) && ub_loc[0] != '\0')
			snprintf(frame, sizeof(frame), "%s", ub_loc);
		snprintf(name, sizeof(name), "ops.%ld", reps[0].pid);
		read_head(dirfd(d), name, ops, sizeof(ops));
		if (keep != NULL) {
			out = open(keep, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			kept = out >= 0;
		}
		for (size_t i = 0; kept && i < nreps; i++) {
			char note[1200], o[1024];

			copy_into(out, dirfd(d), reps[i].name);
			snprintf(name, sizeof(name), "ops.%ld", reps[i].pid);
			read_head(dirfd(d), name, o, sizeof(o));
			snprintf(note, sizeof(note),
			         "\n==faultline== the report above: pid %ld; %s\n\n", reps[i].pid,
			         o[0] ? o : "no actor state (the process left none)");
			if (write(out, note, strlen(note)) < 0)
				break;
		}
		if (out >= 0)
			close(out);
	}
	/* The directory is the run's alone: everything in it goes. */
	rewinddir(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
	if (nreps == 0)
		return 0;
	if (kept)
		snprintf(where, sizeof(where), "report %s", keep);
	else
		snprintf(where, sizeof(where), "report not kept%s",
		         keep ? " (cannot write it)" : "");
	snprintf(detail, len, "%s%s%s; %s%s; %s", kind, frame[0] ? " at " : "",
	         frame[0] ? frame : " (no frame in the project)",
	         ops[0] ? ops : "no actor state (the process left none)",
	         nreps + more > 1 ? "; and more reports" : "", where);
	/* One line: a kind cut from a report carries no newline, but a path may. */
	for (char *p = detail; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return 1;
}
