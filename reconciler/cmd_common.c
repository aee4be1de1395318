/*
 * cmd_common: option helpers shared by the subcommands (see cmd.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

int cmd_seconds_parse(int *out, const char *name, const char *value, int min)
{
	char *end;
	long v = strtol(value, &end, 10);

	if (*end || end == value || v < min || v > 86400) {
		fprintf(stderr, "error: %s needs a number of seconds (%d to 86400), got \"%s\"\n",
		        name, min, value);
		return -1;
	}
	*out = (int)v;
	return 0;
}
