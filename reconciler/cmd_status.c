/*
 * cmd_status: `skyreconcile status`. Load the topology (source.c), read every node at once
 * within the deadline (status_read.c), print the tree or its JSON (status.c). Exit 0 when
 * every live node is fine, 1 when one is unreachable or has a worker error, a worker down or
 * a copy error, and on any error before the nodes are read. Results go to stdout,
 * diagnostics to stderr.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"
#include "status.h"
#include "status_read.h"

#define STATUS_DEFAULT_TIMEOUT_MS 5000

struct status_opts {
	struct source_opts source;
	bool json;
	bool verbose;
	int timeout_ms;
};

void cmd_status_usage(FILE *out)
{
	fputs("usage: skyreconcile status [-f FILE | --repo DIR [--ref REF] [--path PATH]]\n"
	      "                           [--json] [--timeout SECONDS] [-v]\n"
	      "\n"
	      "Show the cascade as a tree, as the nodes' catalogs report it: role, provider,\n"
	      "last tick and lag, pause, fencing, the worker's heartbeat and error, tables.\n"
	      "Every node is read at once, each within the timeout.\n"
	      "\n"
	      "  -f, --file FILE     read the topology from FILE (default topology.yaml)\n"
	      "      --repo DIR      read it from a commit of the git repository DIR\n"
	      "      --ref REF       the commit (default HEAD)\n"
	      "      --path PATH     the file inside the repository (default topology.yaml)\n"
	      "      --json          print the status as one JSON document\n"
	      "      --timeout SECONDS\n"
	      "                      how long a node may take to answer (default 5, fractions\n"
	      "                      allowed); a node that does not is shown unreachable\n"
	      "  -v, --verbose       debug diagnostics on stderr\n"
	      "\n"
	      "Exit status: 0 every live node fine, 1 a live node unreachable, a worker error,\n"
	      "a worker down or a copy error (or any error reading the topology).\n",
	      out);
}

/* 0 and *out filled, 1 when the caller should exit 0 (--help), -1 on a usage error. */
static int status_opts_parse(struct status_opts *out, int argc, char **argv)
{
	enum { OPT_FIRST_OWN_ = CMD_OPT_OWN - 1, OPT_JSON, OPT_TIMEOUT };
	static const struct option longopts[] = {
	    CMD_SOURCE_LONGOPTS,
	    {"json", no_argument, NULL, OPT_JSON},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct status_opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = STATUS_DEFAULT_TIMEOUT_MS;
	opterr = 0;
	optind = 2; /* argv[1] is "status" */
	while ((c = getopt_long(argc, argv, ":f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_TIMEOUT: {
			char *end;
			double v = strtod(optarg, &end);

			if (*end || end == optarg || !(v >= 0.1 && v <= 3600)) {
				fprintf(stderr,
				        "error: --timeout needs a number of seconds (0.1 to 3600), "
				        "got \"%s\"\n",
				        optarg);
				return -1;
			}
			o.timeout_ms = (int)(v * 1000 + 0.5);
			break;
		}
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			cmd_status_usage(stdout);
			return 1;
		default:
			if (cmd_source_opt(&o.source, c, optarg))
				break;
			return cmd_getopt_error(c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (cmd_source_check(&o.source) < 0)
		return -1;
	*out = o;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts opts;
	struct topology *topo = NULL;
	struct status_report *report = NULL;
	struct sky_error err;
	int ret = 1;
	int rc;

	sky_error_clear(&err);
	rc = status_opts_parse(&opts, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "try \"skyreconcile status --help\"\n");
		return rc > 0 ? 0 : 1;
	}
	if (opts.verbose)
		sky_log_set_level(SKY_LOG_DEBUG);
	if (source_topology_load(&topo, &opts.source, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	report = status_report_new(topo);
	if (status_read(report, topo, opts.timeout_ms, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	status_read_failover(report, topo, opts.timeout_ms);
	if (opts.json) {
		json_t *doc = status_render_json(report);
		char *s =
		    json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));

		if (s) {
			fputs(s, stdout);
			fputc('\n', stdout);
			free(s);
		}
		json_decref(doc);
	} else {
		struct sky_buf b;

		sky_buf_init(&b);
		status_render_text(&b, report);
		fputs(b.data, stdout);
		sky_buf_release(&b);
	}
	fflush(stdout);
	ret = status_problems(NULL, report) > 0 ? 1 : 0;
out:
	status_report_free(report);
	topology_free(topo);
	return ret;
}
