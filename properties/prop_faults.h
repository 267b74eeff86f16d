/*
 * The faults a property's *_faults variant arms: every named fault point
 * fails at each hit with probability 1/20, drawn from the trial's stream
 * (so shrinking turns the failures off one by one); the variant's setup.
 */
#ifndef PROPERTIES_PROP_FAULTS_H
#define PROPERTIES_PROP_FAULTS_H

#include "faultline/error.h"
#include "faultline/prop.h"
#include "faultline/faults.h"

#include <stddef.h>
#include <string.h>

/* Creates *faults on the trial's stream with one rule a point (a
 * ".../drop" point drops, any other fails its call) and arms it.  Returns
 * FL_PROP_PASS, or fails the trial naming the fault engine's error; *faults
 * is set from the start, so the caller's teardown frees it either way. */
static inline int
prop_faults_arm(struct fl_prop_ctx *ctx, const char *const *points, size_t n,
                struct fl_faults **faults)
{
	int rc = fl_faults_new(fl_prop_choice(ctx), NULL, faults);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t len = strlen(points[i]);
		struct fl_fault_rule rule = { .point = points[i],
			                      .action = FL_FAULT_ERROR,
			                      .when = FL_WHEN_PROB,
			                      .p = 0.05 };
		if (len >= 5 && strcmp(points[i] + len - 5, "/drop") == 0)
			rule.action = FL_FAULT_DROP;
		rc = fl_faults_add(*faults, &rule);
	}
	if (rc == 0)
		rc = fl_faults_arm(*faults);
	return rc ? fl_prop_fail(ctx, "fault engine: %s", fl_errname(rc)) : FL_PROP_PASS;
}

/* The setup of a *_faults variant: base's setup, then the faults at
 * points armed into the real state's struct fl_faults * at faults_at
 * (its offsetof); when arming fails, base's teardown frees what setup
 * made.  Returns FL_PROP_PASS or the failed setup's or arming's verdict. */
static inline int
prop_setup_faults(struct fl_prop_ctx *ctx, void **model, void **real,
                  const struct fl_model_spec *base, size_t faults_at, const char *const *points,
                  size_t n)
{
	int rc = base->setup(ctx, model, real);
	if (rc != FL_PROP_PASS)
		return rc;
	rc = prop_faults_arm(ctx, points, n, (struct fl_faults **)((char *)*real + faults_at));
	if (rc != FL_PROP_PASS)
		base->teardown(*model, *real);
	return rc;
}

#endif
