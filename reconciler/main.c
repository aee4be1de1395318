/*
 * skyreconcile: make the cascade look like topology.yaml (docs/reconciler.md).
 * This file only dispatches to the subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cmd.h"
#include "sky_error.h"
#include "sky_log.h"
#include "sky_version.h"

/* The pgq_set install script, generated from sql/install.sql (cmake/embed_sql.cmake). */
extern const char sky_sql_install[];

/*
 * --version: the project version, the pgq_set version this binary installs (read from the
 * embedded script the way the plan reads it, so it is the version apply installs) and the
 * build's git describe.
 */
static int print_version(void)
{
	struct sky_error err;
	char *sql_version = NULL;

	sky_error_clear(&err);
	if (admin_sql_version(&sql_version, sky_sql_install, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		return 1;
	}
	printf("skyreconcile %s (pgq_set %s, git %s)\n", SKY_VERSION, sql_version,
	       SKY_GIT_DESCRIBE);
	free(sql_version);
	return 0;
}

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	sky_log_set_program("skyreconcile");
	if (sub && (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0))
		return print_version();
	if (!sub || sub[0] == '-')
		return cmd_apply(argc, argv);
	if (strcmp(sub, "help") == 0) {
		cmd_apply_usage(stdout);
		return 0;
	}
	if (strcmp(sub, "watch") == 0)
		return cmd_watch(argc - 1, argv + 1);
	if (strcmp(sub, "failover") == 0)
		return cmd_failover(argc - 1, argv + 1);
	if (strcmp(sub, "graph") == 0)
		return cmd_graph(argc - 1, argv + 1);
	if (strcmp(sub, "apply") == 0)
		return cmd_apply_saved(argc - 1, argv + 1);
	if (strcmp(sub, "status") == 0)
		return cmd_status(argc, argv);
	fprintf(stderr, "error: unknown command \"%s\"\n", sub);
	cmd_apply_usage(stderr);
	return 1;
}
