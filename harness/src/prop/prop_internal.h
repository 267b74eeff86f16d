/*
 * Module-private to the property engine: the trial context.
 */
#ifndef FAULTLINE_PROP_INTERNAL_H
#define FAULTLINE_PROP_INTERNAL_H

#include "faultline/prop.h"

#define FL_PROP_MSG_MAX 1024
#define FL_PROP_LOG_MAX (64 * 1024)

struct fl_prop_ctx {
	struct fl_choice *choice;
	const struct fl_prop_def *def;
	bool replaying;
	bool failed;
	char msg[FL_PROP_MSG_MAX];
	char *log; /* FL_PROP_LOG_MAX bytes, NUL-terminated */
	size_t loglen;
};

#endif
