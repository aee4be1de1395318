/*
 * cmd: the subcommands of skyreconcile, one file each; main.c only dispatches.
 * Each takes main's argc/argv (argv[0] is the program) and returns the process exit code.
 */
#ifndef SKY_CMD_H
#define SKY_CMD_H

#include <getopt.h>
#include <stdio.h>

#include "source.h"

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
 * The options every subcommand takes to name the desired state (-f FILE | --repo DIR [--ref
 * REF] [--path PATH]), shared by their getopt_long tables: CMD_SOURCE_LONGOPTS in the table,
 * the subcommand's own long-only options numbered from CMD_OPT_OWN, and in the switch's
 * default branch cmd_source_opt (1: it was one of these, stored) then cmd_getopt_error.
 */
enum { CMD_OPT_REPO = 256, CMD_OPT_REF, CMD_OPT_PATH, CMD_OPT_OWN };
#define CMD_SOURCE_LONGOPTS                                                                        \
	{"file", required_argument, NULL, 'f'}, {"repo", required_argument, NULL, CMD_OPT_REPO},   \
	    {"ref", required_argument, NULL, CMD_OPT_REF},                                         \
	{                                                                                          \
		"path", required_argument, NULL, CMD_OPT_PATH                                      \
	}
int cmd_source_opt(struct source_opts *s, int c, const char *arg);
/* -f with --repo, or --ref/--path without --repo: print the error and return -1; else 0. */
int cmd_source_check(const struct source_opts *s);
/* getopt_long returned ':' (a value missing) or an unknown option: print it, return -1. */
int cmd_getopt_error(int c, char **argv);

/*
 * Parse a number of seconds for option `name` (min to 86400) into *out; on a bad value print
 * the error to stderr and return -1 (cmd_common.c).
 */
int cmd_seconds_parse(int *out, const char *name, const char *value, int min);
/*
 * --identity "Name <email>" (both parts non-empty) into *name and *email (replaced; the
 * caller frees both); on a bad value print the error and return -1. The default identity is
 * "skyreconcile <skyreconcile@HOSTNAME>" (cmd_identity_default).
 */
int cmd_identity_parse(char **name, char **email, const char *arg);
void cmd_identity_default(char **name, char **email);

/* skyreconcile failover --to NODE --force: the operator's override (cmd_failover.c). */
int cmd_failover(int argc, char **argv);
void cmd_failover_usage(FILE *out);

/* Show the cascade as a tree (cmd_status.c): 0 every live node fine, 1 a problem or error. */
int cmd_status(int argc, char **argv);
void cmd_status_usage(FILE *out);

#endif
