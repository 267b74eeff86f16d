/*
 * Targets: a library faultline did not write, driven by scenarios as the
 * built-in domains are (docs/targets.md).
 *
 * A target declares its operations (a name a scenario writes as an op's
 * key, typed arguments with ranges and defaults, the function that does
 * it), the kinds of object its operations create and close, and gauges
 * of what it holds that must be back to zero once every object closed.
 * It is a shared object exporting
 *
 *     const struct fl_target *fl_target_entry(void);
 *
 * loaded by a scenario's `target: PATH` (relative to the scenario file)
 * or `faultline run --target PATH`, or a table a program registers with
 * fl_target_register before it loads scenarios.  The library under test
 * is whatever the target calls: the target is the adapter a library's
 * author writes, on the library's public API.
 *
 * A scenario then says, for a target that declares an op `q_push` with
 * an object argument `q` and an integer `size`:
 *
 *     - q_open: {as: q, capacity: 4}
 *     - q_push: {q: q, size: 100, deadline_ms: 10}
 *     - q_close: {q: q}
 *
 * Every op takes `expect:` (the FL_E* codes it may fail with) like the
 * built-in ones, and a blocking op (FL_TARGET_OP_BLOCKS) `deadline_ms`.
 * An object an op creates is named with `as:` and belongs to the actor
 * that created it; an op that closes one (`closes`) ends it, whatever the
 * op returns.  Objects still open when an actor's ops end are closed by
 * the harness with their kind's close, as a process's exit would; then
 * the property target_resources requires every gauge at zero.
 */
#ifndef FAULTLINE_TARGET_H
#define FAULTLINE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header a target was built against. */
#define FL_TARGET_ABI 7

/* Arguments of an op at most, and names' lengths. */
#define FL_TARGET_MAX_ARGS 8

enum fl_target_arg_type {
	FL_TARGET_INT,    /* an integer in [min, max]; absent: dflt */
	FL_TARGET_BOOL,   /* true or false; absent: dflt != 0 */
	FL_TARGET_STRING, /* a string; absent: NULL */
	FL_TARGET_OBJECT, /* an object of `kind` an earlier op named with `as:` */
	FL_TARGET_RANGE,  /* [lo, hi], min <= lo <= hi <= max; absent: [dflt, dflt] */
	/* Groups of members 0..max (max < 16), each member in at most one:
	 * `groups: [[0], [1, 2]]`.  The function gets ints[i]: member m's
	 * group, 1-based, in bits 4m..4m+3 (0: in no group); absent: 0. */
	FL_TARGET_GROUPS,
};

/* A word an integer argument takes besides numbers ("random", "none"):
 * the scenario writes the name, the function gets the value (which may
 * lie outside [min, max]: a mark the function knows). */
struct fl_target_name {
	const char *name;
	int64_t value;
};

struct fl_target_arg {
	const char *name; /* the key in the op's mapping */
	enum fl_target_arg_type type;
	bool required;
	int64_t min, max, dflt; /* INT (BOOL: dflt only) */
	/* OBJECT: the kind's name, or the names of the kinds it may be
	 * joined by '|' ("connection|server"). */
	const char *kind;
	/* INT with a kind (the name of one): besides an integer or one of
	 * its names, the name of an object of that kind an earlier op
	 * named with `as:` (a node killed earlier); the function then gets
	 * it in objs[i] and ints[i] is dflt. */
	/* STRING: checks a value when the scenario is loaded: 0, or not 0
	 * with why (one line), which the loader's file:line error quotes.
	 * NULL: any string. */
	int (*check)(const char *value, char *why, size_t len);
	/* The name of another argument of the op that this one excludes:
	 * a scenario gives one or the other, not both (a BOOL given as its
	 * default counts as not given).  NULL: none. */
	const char *excludes;
	/* The name of a BOOL argument of the op that must be true when this
	 * one is given ("cancel_at needs async: true").  NULL: none. */
	const char *requires;
	/* INT: words it takes besides numbers, ended by name NULL; the
	 * default may be one's value.  NULL: numbers only. */
	const struct fl_target_name *names;
	/* OBJECT: may name an object another client's actor made (a
	 * publication whose image a subscriber takes).  In proc mode an
	 * object another process made is not open in this one (the op is
	 * not called: FL_ENOENT); what crosses processes goes through
	 * fl_target_shared. */
	bool any_client;
	/* INT with names: only those words, no numbers (`until: closed`). */
	bool names_only;
};

/* What an op's function gets: per declared argument, at its index, the
 * value (ints[i] for INT and BOOL, strs[i] for STRING, objs[i] for
 * OBJECT, ints[i] and his[i] for RANGE), which of them the scenario
 * gave, and for a blocking op the deadline (fl_clock_now_ns time). */
struct fl_target_args {
	const int64_t *ints;
	const char *const *strs;
	void *const *objs;
	uint64_t deadline_ns;
	const int64_t *his; /* RANGE: the upper end (ints[i] the lower) */
	uint32_t given;     /* bit i: argument i is in the scenario (else its default) */
};

/* Writing an op as C on the library's public API, for `faultline repro
 * TRACE --c OUT.c` (a standalone program a maintainer can build): the
 * op's code gets the program, the C variable of each OBJECT argument (at
 * its index; declared by the program with its kind's c_type; of an INT
 * argument with a kind written as an object's name too, else ""), the
 * one it creates (NULL: an FL_TARGET_OP_AS_OPTIONAL op written without
 * `as:`, whose code closes what it made), and a blocking op's deadline
 * relative to its start. */
struct fl_target_c {
	FILE *out;
	const char *objs[FL_TARGET_MAX_ARGS];
	const char *created;
	int64_t deadline_ms;
};

/* Flags of an op. */
#define FL_TARGET_OP_BLOCKS 1u /* takes `deadline_ms` (default: the driver timeout) */
/* `expect:` on this op names the one code it must fail with (a limit
 * that must be reached: a pool exhausted, a table full); the op
 * succeeding then fails the run (property operations), unless a fault
 * fired in it or the run is a sweep's, where the fault may have changed
 * what it found.  Without the flag, `expect:` lists codes it may fail
 * with. */
#define FL_TARGET_OP_EXPECT_EXACT 2u
/* `as:` may be left out of an op that creates: what it created is then
 * closed at once with its kind's close (an op that finds something, the
 * scenario naming it only when a later op needs it). */
#define FL_TARGET_OP_AS_OPTIONAL 4u

struct fl_target_op {
	const char *name;                 /* the op's key in a scenario */
	const struct fl_target_arg *args; /* ended by an entry whose name is NULL */
	const char *creates;              /* the kind of object it creates (`as:` required,
	                                     unless FL_TARGET_OP_AS_OPTIONAL) */
	const char *closes;               /* the OBJECT argument it closes, or NULL */
	unsigned flags;
	/* Does the op: 0, or a negative FL_E* code (an error: judged as any
	 * op's, see docs/scenario-format.md "When an operation fails").  An
	 * op that `creates` sets *created on success. */
	int (*fn)(void *state, const struct fl_target_args *a, void **created);
	/* Writes the op as C statements (one block; may use what the
	 * target's c_prologue defines).  NULL: this op has no C form, and a
	 * run that used it cannot be written as a program. */
	void (*c_code)(const struct fl_target_c *c, const struct fl_target_args *a);
};

struct fl_target_kind {
	const char *name;
	/* Closes an object the scenario left open (the harness, at the
	 * actor's end). */
	void (*close)(void *state, void *obj);
	/* For `repro --c`: the C type of an object variable ("nng_socket"),
	 * and a statement closing a variable left open (%s: its name), or
	 * NULL. */
	const char *c_type;
	const char *c_close;
};

/* A count the target keeps of what it holds (blocks, handles, threads):
 * zero once every object closed, or target_resources fails naming it. */
struct fl_target_gauge {
	const char *name;
	int64_t (*read)(void *state);
};

/* A property of the target's own: an invariant of the library that holds
 * at the end of every correct run (messages conserved, a count that
 * matches), judged once every object closed, before fini (in proc mode
 * in each actor's process), as target_resources is.  A scenario's
 * `properties:` names it like a built-in one; without the key every one
 * of the target's is checked.  A run where it does not hold fails with
 * the property's name and `why`. */
struct fl_target_property {
	const char *name; /* lower_case_name, not a built-in property's */
	const char *what; /* one line: what holds (faultline list, docs) */
	/* true: it holds.  false: why (one line, no newline) says how not. */
	bool (*holds)(void *state, char *why, size_t len);
};
#define FL_TARGET_MAX_PROPERTIES 16

struct fl_target {
	int abi; /* FL_TARGET_ABI */
	const char *name;
	const struct fl_target_op *ops;       /* ended by name NULL */
	const struct fl_target_kind *kinds;   /* ended by name NULL */
	const struct fl_target_gauge *gauges; /* ended by name NULL; may be NULL */
	/* Once per run, before its first op, and after its last (objects
	 * closed, gauges read).  state is the ops' first argument.  init may
	 * be NULL (state NULL); 0 or a negative FL_E* code. */
	int (*init)(void **state);
	void (*fini)(void *state);
	/* The library under test: the shared objects (sonames or paths, as
	 * dlopen takes them: "libnng.so.1") whose own calls to malloc,
	 * calloc, realloc, strdup, posix_memalign... are the target's
	 * allocations: numbered, failed at the fault point target/alloc, and
	 * counted as the heap the target holds.  Each must be loaded already
	 * (the target links it).  NULL-terminated; NULL: the target's own
	 * shared object, for a target that is its library (fixtures/targets/).
	 * The adapter's allocations, faultline's and libc's are never
	 * counted or failed. */
	const char *const *libraries;
	/* For `repro --c`: C written before main (includes, helpers the
	 * ops' code calls), and the command that builds the program (%s: its
	 * file), e.g. "cc %s -o repro -lnng -lpthread". */
	const char *c_prologue;
	const char *c_build;
	/* Bytes of memory the run shares among its actors whatever the mode
	 * (fl_target_shared): in proc mode each actor is a process of its
	 * own, and what one sends another receives, so a model of what was
	 * sent lives here.  0: none.  At most FL_TARGET_SHARED_MAX. */
	size_t shared_size;
	/* The target's own properties, ended by name NULL; may be NULL.  At
	 * most FL_TARGET_MAX_PROPERTIES. */
	const struct fl_target_property *properties;
	/* The library is linked in from its static archive, its objects'
	 * allocation calls renamed with -Wl,--wrap (below): those calls are
	 * the target's allocations.  With libraries NULL. */
	bool wrapped;
};
#define FL_TARGET_SHARED_MAX ((size_t)64 << 20)

/*
 * A library linked in from its static archive (a program that links
 * faultline and registers its target, or a target's shared object when
 * the archive is position-independent) has no GOT of its own to hook.
 * Rename its allocation calls instead, in its objects alone:
 *
 *     ld -r --whole-archive libfoo.a --no-whole-archive \
 *        --wrap=malloc --wrap=calloc --wrap=realloc --wrap=reallocarray \
 *        --wrap=free --wrap=strdup --wrap=strndup --wrap=posix_memalign \
 *        --wrap=aligned_alloc --wrap=memalign -o foo_wrapped.o
 *
 * link foo_wrapped.o in place of the archive, and set the target's
 * `wrapped`.  faultline defines the __wrap_ functions: while a run of
 * the target goes they are its allocation hook (target/alloc,
 * target_resources, target_heap, as for a shared library), else the
 * allocator itself.  Wrap only the library's objects: the adapter's and
 * faultline's own calls must not come here.
 */
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_reallocarray(void *p, size_t nmemb, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t max);
int __wrap_posix_memalign(void **out, size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
void *__wrap_memalign(size_t align, size_t size);

/* The symbol a target's shared object exports (it defines this
 * function; faultline looks it up by name). */
const struct fl_target *fl_target_entry(void);
typedef const struct fl_target *(*fl_target_entry_fn)(void);
#define FL_TARGET_ENTRY "fl_target_entry"

/* Called by a target's op (on the op's thread): fl_target_note adds a
 * line to the run's story (what the library answered, in its own words);
 * fl_target_violation fails the run with the property target_model (the
 * library did something its contract forbids: a message came back other
 * than it was sent, a count went negative), whatever the op returns and
 * whatever its `expect:` allows.  printf formats. */
void fl_target_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fl_target_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called by a target's op, for the run it belongs to:
 * fl_target_shared is the run's shared memory (the target's shared_size
 * bytes, zeroed at the run's start, the same memory in every thread and
 * process of the run; NULL when shared_size is 0); fl_target_run_name a
 * name no other live run on this machine has, the same in every process
 * of the run ("fl-1234-5"): for paths and addresses the run's processes
 * meet at (an ipc:// path).  fl_target_run_dir a directory (mode 0700)
 * made for the run on first ask, the same in every process of the run,
 * removed with everything in it when the run ends, however it ends (an
 * actor's crash included): for its files and sockets.  All NULL outside
 * an op; fl_target_run_dir also NULL when it cannot be made. */
void *fl_target_shared(void);
const char *fl_target_run_name(void);
const char *fl_target_run_dir(void);

/* fl_target_register makes t's ops known to scenarios loaded after it.
 * 0; FL_EINVAL (t malformed: the message in err says what);
 * FL_EEXIST (an op of the same name is registered, or a built-in op has
 * it); FL_ELIMIT (more than FL_TARGET_MAX targets).  A target loaded for a
 * scenario's `target:` (fl_target_load) may share op names with another
 * loaded one: that scenario's ops are looked up in its own target.  Registering t again
 * does nothing.  Not thread-safe: before loading scenarios. */
#define FL_TARGET_MAX 64
int fl_target_register(const struct fl_target *t, char *err, size_t errlen);

/* fl_target_load opens the shared object at path, checks and registers
 * its target (fl_target_register); *out (may be NULL) gets it.  0,
 * FL_ENOENT (no such file, or no fl_target_entry), FL_EPROTO (another
 * ABI), or fl_target_register's error; err says which and why. */
int fl_target_load(const char *path, const struct fl_target **out, char *err, size_t errlen);

/* fl_target_op_find: the registered op called name, and its target, or
 * NULL. */
const struct fl_target_op *fl_target_op_find(const char *name, const struct fl_target **target);

#ifdef __cplusplus
}
#endif
#endif
