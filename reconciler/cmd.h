/*
 * cmd: the subcommands of skyreconcile, one file each; main.c only dispatches.
 * Each takes main's argc/argv (argv[0] is the program) and returns the process exit code.
 */
#ifndef SKY_CMD_H
#define SKY_CMD_H

#include <stdio.h>

/* Reconcile once (cmd_apply.c): 0 nothing to do or applied, 2 dry-run found changes,
 * 1 error. */
int cmd_apply(int argc, char **argv);
/* skyreconcile apply FILE [options]: apply a saved plan (planfile.h). */
int cmd_apply_saved(int argc, char **argv);
void cmd_apply_usage(FILE *out);

/* Follow the topology: reconcile on every change and periodically (cmd_watch.c). */
int cmd_watch(int argc, char **argv);
void cmd_watch_usage(FILE *out);

/* Print the cascade as Graphviz DOT or Mermaid (cmd_graph.c). */
int cmd_graph(int argc, char **argv);
void cmd_graph_usage(FILE *out);

/*
 * Parse a number of seconds for option `name` (min to 86400) into *out; on a bad value print
 * the error to stderr and return -1 (cmd_common.c).
 */
int cmd_seconds_parse(int *out, const char *name, const char *value, int min);
/* Show the cascade as a tree (cmd_status.c): 0 every live node fine, 1 a problem or error. */
int cmd_status(int argc, char **argv);
void cmd_status_usage(FILE *out);

#endif
