/*
 * The faultline CLI's commands that live outside main.c.
 */
#ifndef FL_HARNESS_CLI_H
#define FL_HARNESS_CLI_H

/* Exit status of a usage error, or of a batch whose verdict cannot be
 * trusted (see main.c). */
#define FL_CLI_EXIT_USAGE 2

/* faultline merge REPORT.json... [--json OUT] [--junit OUT]: argv[0] is
 * "merge".  Returns the exit status (merge.c). */
int cmd_merge(int argc, char **argv);

/* faultline check-history FILE... [--model M] [--timeout S] [--json F]:
 * argv[0] is "check-history".  Returns the exit status (history.c). */
int cmd_check_history(int argc, char **argv);

/* html.c: a run's timeline (docs/timeline.md). */
#include <stdint.h>
#include <stdio.h>
struct fl_scenario;
struct fli_runner_outcome;
#define RUN_LANES 96 /* lanes a page draws at most: actors, nodes, the driver */
struct fli_html_run {
	const struct fl_scenario *s;
	const struct fli_runner_outcome *out; /* its timeline kept (opts.timeline) */
	uint64_t seed;
	const char *trace; /* the run's trace file, or NULL */
	const char *note;  /* a warning for the page's header, or NULL */
};
/* The page (fli_html_timeline) or its lines (fli_text_timeline) to f:
 * 0, or -1 when the outcome has no timeline or f failed. */
int fli_html_timeline(FILE *f, const struct fli_html_run *hr);
int fli_text_timeline(FILE *f, const struct fli_html_run *hr);
/* HTML helpers: text escaped, a JSON string (safe in <script>), and a
 * page's head: the Content-Security-Policy that forbids every request,
 * the shared style and `css`, up to <body>. */
void fli_html_text(FILE *f, const char *s);
void fli_html_json_str(FILE *f, const char *s);
void fli_html_head(FILE *f, const char *title, const char *css);
/* A history's page, Porcupine's view: each client's operations as
 * intervals on the history's event order, the longest linearizable order
 * the search found and the operation it could not place: 0 or -1. */
struct fl_history;
struct fl_history_result;
int fli_html_history(FILE *f, const struct fl_history *h, const struct fl_history_result *res);

#endif
