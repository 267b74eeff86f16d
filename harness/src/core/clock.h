/*
 * The real monotonic clock (CLOCK_MONOTONIC, never the sim's virtual
 * time fl_clock_now_ns may give), for deadlines and measures of the
 * harness's own wall time: in nanoseconds, milliseconds and seconds.
 */
#ifndef FL_HARNESS_CLOCK_H
#define FL_HARNESS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
fli_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
fli_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline double
fli_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
