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

#endif
