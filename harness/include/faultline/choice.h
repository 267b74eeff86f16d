/*
 * The choice stream: the one source of every nondeterministic decision.
 *
 * A stream is either generated from a 64-bit seed (splitmix64 seeding a
 * xoshiro256** generator) or replayed from recorded values.  Either way every
 * draw is recorded, so a run can be saved as a trace, replayed exactly and
 * shrunk.  A replayed stream that runs out answers the simplest value, 0, so
 * a shrinker may delete spans; a recorded value that is out of range for the
 * bound asked on replay is reduced modulo the bound.
 *
 * Spans group draws that belong together (one operation, one fault
 * decision), so a shrinker can delete or zero a whole span at once.
 *
 * Not thread-safe: under sim one OS thread draws; in proc mode each process
 * has its own copy and draws are recorded by the harness process.
 */
#ifndef FAULTLINE_CHOICE_H
#define FAULTLINE_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fl_choice;

struct fl_choice_span {
	uint32_t start;    /* index of the first draw */
	uint32_t end;      /* one past the last draw */
	const char *label; /* static string */
};

/* fl_choice_new_seeded creates a generating stream.  *out is set on success;
 * free with fl_choice_free.  Returns 0 or FL_ENOMEM. */
int fl_choice_new_seeded(uint64_t seed, struct fl_choice **out);

/* fl_choice_new_replay creates a stream that answers `n` recorded values in
 * order (copied), then 0.  Returns 0 or FL_ENOMEM. */
int fl_choice_new_replay(const uint64_t *values, size_t n, struct fl_choice **out);

/* fl_choice_reseed restarts a generating stream's generator from `seed`
 * (what is recorded stays).  A property gives its scheduler a sub-stream
 * reseeded at every step from one draw of the trial's stream, so each step
 * costs the trial one value whatever the number of scheduling decisions it
 * makes (deleting a step then shifts no later step's draws).  No effect on
 * a replay stream. */
void fl_choice_reseed(struct fl_choice *c, uint64_t seed);

/* fl_choice_detach makes c a generating stream seeded from `seed`, a
 * replay stream too (what was recorded stays): for a process forked off
 * the run, whose draws the run's trace cannot record.  The run draws the
 * seed before the fork (recorded, so a replay hands the same one), and
 * the process's draws then come out the same in the run and its replay. */
void fl_choice_detach(struct fl_choice *c, uint64_t seed);

/* fl_choice_free frees the stream; NULL is accepted. */
void fl_choice_free(struct fl_choice *c);

/* fl_choice_draw returns a value in [0, bound) (bound 0: any 64-bit value)
 * and records it.  0 is always the simplest answer. */
uint64_t fl_choice_draw(struct fl_choice *c, uint64_t bound);

/* fl_choice_range returns a value in [lo, hi] (lo when the draw is 0). */
int64_t fl_choice_range(struct fl_choice *c, int64_t lo, int64_t hi);

/* fl_choice_weighted returns true with probability num/den; a 0 draw is
 * false, so shrinking turns events off.  num 0 or den 0: false, and
 * num >= den: true, both without drawing (certain outcomes are not
 * decisions). */
bool fl_choice_weighted(struct fl_choice *c, uint32_t num, uint32_t den);

/* Span markers.  Spans nest; a span with no draws is not recorded. */
void fl_choice_span_begin(struct fl_choice *c, const char *label);
void fl_choice_span_end(struct fl_choice *c);

/* The recorded draws and spans, valid until the next draw or free. */
size_t fl_choice_count(const struct fl_choice *c);
const uint64_t *fl_choice_values(const struct fl_choice *c);
size_t fl_choice_span_count(const struct fl_choice *c);
const struct fl_choice_span *fl_choice_spans(const struct fl_choice *c);

/* fl_choice_exhausted is true when a replayed stream has run out (and some
 * draw answered the 0 fill). */
bool fl_choice_exhausted(const struct fl_choice *c);

/* fl_choice_hash is a 64-bit FNV-1a hash of the recorded values: two runs
 * that made the same decisions have the same hash. */
uint64_t fl_choice_hash(const struct fl_choice *c);

#ifdef __cplusplus
}
#endif
#endif
