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
void cmd_apply_usage(FILE *out);

/* Show the cascade as a tree (cmd_status.c): 0 every live node fine, 1 a problem or error. */
int cmd_status(int argc, char **argv);
void cmd_status_usage(FILE *out);

#endif
