/*
 * cmd_common: option helpers shared by the subcommands (see cmd.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "sky_mem.h"

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

int cmd_identity_parse(char **name, char **email, const char *arg)
{
	const char *lt = strchr(arg, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	size_t nlen = lt ? (size_t)(lt - arg) : 0;

	while (nlen > 0 && arg[nlen - 1] == ' ')
		nlen--;
	if (!lt || !gt || gt[1] != '\0' || nlen == 0 || gt == lt + 1) {
		fprintf(stderr, "error: --identity: expected \"Name <email>\", got \"%s\"\n", arg);
		return -1;
	}
	free(*name);
	free(*email);
	*name = sky_asprintf("%.*s", (int)nlen, arg);
	*email = sky_asprintf("%.*s", (int)(gt - lt - 1), lt + 1);
	return 0;
}

void cmd_identity_default(char **name, char **email)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	*name = sky_strdup("skyreconcile");
	*email = sky_asprintf("skyreconcile@%s", host[0] ? host : "localhost");
}
