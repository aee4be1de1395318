/*
 * skyreconcile: make the cascade look like topology.yaml (docs/reconciler.md).
 * This file only dispatches to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "sky_log.h"

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	sky_log_set_program("skyreconcile");
	if (!sub || sub[0] == '-')
		return cmd_apply(argc, argv);
	if (strcmp(sub, "help") == 0) {
		cmd_apply_usage(stdout);
		return 0;
	}
	if (strcmp(sub, "watch") == 0 || strcmp(sub, "status") == 0) {
		fprintf(stderr, "error: skyreconcile %s: not implemented yet\n", sub);
		return 1;
	}
	fprintf(stderr, "error: unknown command \"%s\"\n", sub);
	cmd_apply_usage(stderr);
	return 1;
}
