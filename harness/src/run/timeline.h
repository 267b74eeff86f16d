/*
 * A run's timeline: what `faultline show --html` and `run --html-dir`
 * draw (docs/timeline.md).  With fli_runner_opts.timeline, the run keeps
 * one fixed-size record an event in a region its process actors share:
 * each op an actor ran (its first and last scheduling step and time, its
 * outcome), each fault that fired, each crash, each node's lives, the
 * resource gauges after each op, the scheduling decisions that departed
 * from the default, and the first violation.  The region is handed to
 * the parent as it stands (TAG_TIMELINE) and drawn there: the records
 * name actors and ops by index into the scenario, points by their index
 * in fl_fault_point_names.
 *
 * Recording must not change the run it records: no scheduling point, no
 * choice drawn, no fault point passed, no heap kept (a replay with the
 * timeline on takes the recorded path).
 */
#ifndef FL_HARNESS_TIMELINE_H
#define FL_HARNESS_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

enum fli_tl_kind {
	FLI_TL_OP = 1,    /* an op of an actor */
	FLI_TL_FAULT,     /* a fault fired */
	FLI_TL_CRASH,     /* an actor or node died at a crash fault or crash_self */
	FLI_TL_NODE_UP,   /* a cluster node started a life */
	FLI_TL_NODE_DOWN, /* ... ended it (killed, crashed) */
	FLI_TL_GAUGES,    /* the resource gauges */
	FLI_TL_VIOLATION, /* the run's first violation became visible */
	FLI_TL_DECISION,  /* a scheduling decision other than the default */
};

/* An op's outcome. */
enum fli_tl_outcome {
	FLI_TL_OK,
	FLI_TL_TOLERATED, /* an error a fault, expect: or a sweep accounts for */
	FLI_TL_FATAL,     /* an error that failed the run */
	FLI_TL_CRASHED,   /* the actor died in it */
	FLI_TL_OPEN,      /* never ended (the run was cut short) */
};

/* The gauges, in this order. */
enum {
	FLI_TL_G_IMAGE_REFS,
	FLI_TL_G_PUBLICATIONS,
	FLI_TL_G_SUBSCRIPTIONS,
	FLI_TL_G_PORTS,
	FLI_TL_G_CHUNKS,
	FLI_TL_G_MESSAGES,
	FLI_TL_G_REGISTRATIONS,
	FLI_TL_G_SHM_FILES,
	FLI_TL_NGAUGES
};

#define FLI_TL_NAME 24

struct fli_tl_event {
	uint8_t kind;    /* enum fli_tl_kind */
	uint8_t outcome; /* op: enum fli_tl_outcome; fault: its action (0 error,
	                    1 delay, 2 drop, 3 crash, 4 a sweep's error) */
	int16_t actor;   /* the scenario's actor index; -1: the driver or the
	                    run; node events: the node's id */
	int32_t line;    /* op: its scenario line */
	uint32_t step0;  /* sim: the scheduling step; else an order number */
	uint32_t step1;  /* op: its last step */
	uint64_t t0;     /* ns since the run began (virtual under sim) */
	uint64_t t1;     /* op: its end */
	union {
		struct {
			uint16_t index; /* into the actor's ops */
			uint16_t pad;
			uint32_t round; /* of its repeat: */
			int32_t rv;     /* its first error, or 0 */
			char what[20];  /* ... what failed */
		} op;
		struct {
			uint64_t hit;  /* 0: not known (libfiu's posix/ points) */
			int32_t point; /* fl_fault_points() index, or -1: */
			char name[20]; /* ... the point's name (a libc call's) */
		} fault;
		int32_t gauges[FLI_TL_NGAUGES];
		char name[32]; /* crash, decision: the actor's or node's name;
		                  crash: "name@point" */
	} u;
};

struct fli_tl {
	uint32_t cap;       /* records ev[] holds */
	uint32_t count;     /* records claimed (atomic; may pass cap) */
	uint64_t t0;        /* the run's start, fl_clock_now_ns */
	uint64_t seq;       /* order numbers outside sim (atomic); sim: the last step */
	uint64_t sim_t0;    /* sim: the virtual clock at the first record */
	uint64_t sim_last;  /* sim: the virtual time of the last record */
	uint32_t version;   /* FLI_TL_VERSION */
	uint32_t decisions; /* decisions the sim told of (the first
	                       FLI_TL_DECISIONS_MAX are recorded) */
	struct fli_tl_event ev[];
};

#define FLI_TL_VERSION 1
/* 16,384 records: 1 MiB, a run of some 10,000 ops with their gauges. */
#define FLI_TL_CAP 16384u
/* An unshrunk random schedule departs from the default at most steps:
 * its decisions must not crowd out the ops. */
#define FLI_TL_DECISIONS_MAX 2048u

#endif
