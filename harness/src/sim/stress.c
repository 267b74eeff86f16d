/*
 * stress: the baseline the controlled modes are measured against.  The same
 * actor functions as a sim run, each on its own pthread, free-running with
 * the default platform operations (real time, no scheduler).  See
 * faultline/sim.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "faultline/error.h"
#include "faultline/sim.h"
#include "core/clock.h"

/* The start gate: every actor waits until all exist, then all go at once
 * so they overlap as much as they can (or none runs, if one failed to
 * start). */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 0 wait, 1 go, -1 abort */
};

struct stress_thread {
	const struct fl_stress_actor *actor;
	struct gate *gate;
};

static void *
stress_main(void *arg)
{
	struct stress_thread *t = arg;
	int state;

	pthread_mutex_lock(&t->gate->mu);
	while (t->gate->state == 0)
		pthread_cond_wait(&t->gate->cv, &t->gate->mu);
	state = t->gate->state;
	pthread_mutex_unlock(&t->gate->mu);
	if (state > 0)
		t->actor->fn(t->actor->arg);
	return NULL;
}

static void
open_gate(struct gate *g, int state)
{
	pthread_mutex_lock(&g->mu);
	g->state = state;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

int
fl_stress_run(const struct fl_stress_actor *actors, size_t n, struct fl_stress_result *res)
{
	pthread_t tids[FL_SIM_MAX_ACTORS];
	struct stress_thread th[FL_SIM_MAX_ACTORS];
	struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	size_t started;
	uint64_t t0;

	if (n == 0 || n > FL_SIM_MAX_ACTORS || actors == NULL)
		return FL_EINVAL;
	for (started = 0; started < n; started++) {
		th[started] = (struct stress_thread){ .actor = &actors[started], .gate = &gate };
		if (pthread_create(&tids[started], NULL, stress_main, &th[started]) != 0)
			goto fail;
	}
	t0 = fli_mono_ns();
	open_gate(&gate, 1);
	for (size_t i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	if (res != NULL)
		res->wall_ns = fli_mono_ns() - t0;
	pthread_cond_destroy(&gate.cv);
	pthread_mutex_destroy(&gate.mu);
	return 0;
fail:
	open_gate(&gate, -1);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_cond_destroy(&gate.cv);
	pthread_mutex_destroy(&gate.mu);
	return FL_EIO;
}
