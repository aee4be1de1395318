/*
 * cmd_common: option helpers shared by the subcommands (see cmd.h).
 */
#include <getopt.h>
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

int cmd_source_opt(struct source_opts *s, int c, const char *arg)
{
	switch (c) {
	case 'f':
		s->file = arg;
		return 1;
	case CMD_OPT_REPO:
		s->repo = arg;
		return 1;
	case CMD_OPT_REF:
		s->ref = arg;
		return 1;
	case CMD_OPT_PATH:
		s->path = arg;
		return 1;
	default:
		return 0;
	}
}

int cmd_source_check(const struct source_opts *s)
{
	if (s->file && s->repo) {
		fprintf(stderr, "error: -f and --repo cannot be used together\n");
		return -1;
	}
	if ((s->ref || s->path) && !s->repo) {
		fprintf(stderr, "error: --ref and --path need --repo\n");
		return -1;
	}
	return 0;
}

int cmd_getopt_error(int c, char **argv)
{
	if (c == ':')
		fprintf(stderr, "error: option \"%s\" needs a value\n", argv[optind - 1]);
	else
		fprintf(stderr, "error: unknown option \"%s\"\n", argv[optind - 1]);
	return -1;
}
