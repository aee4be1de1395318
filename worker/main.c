/*
 * skyworker [options] [DSN]: the pull-apply worker of one node. Parses options, installs the
 * signal handlers and runs the loop (loop.c). The DSN comes from the argument or, without one,
 * from the environment variable SKYWORKER_DSN (a service keeps it out of ps that way).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sky_log.h"
#include "sky_version.h"
#include "worker.h"

/* where the DSN comes from when no DSN argument is given */
#define DSN_ENV "SKYWORKER_DSN"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: skyworker [options] [DSN]\n"
	    "\n"
	    "Pull batches from the node's provider and apply them to the node whose database is "
	    "DSN.\n"
	    "Cascade, node name, role and provider are read from pgq_set on that database.\n"
	    "Without a DSN argument the DSN is read from the environment variable " DSN_ENV "\n"
	    "(keeps a password out of the command line that ps shows).\n"
	    "\n"
	    "options:\n"
	    "  --cascade NAME          the cascade to work on (needed when the node has several)\n"
	    "  --poll-interval SECONDS longest sleep when no batch is ready (default 0.2;\n"
	    "                          0.05 s while batches keep coming)\n"
	    "  --fetch-size N          events per cursor fetch (default 10000)\n"
	    "  --leaf-batch-events N   on a leaf, take the ticks waiting as one batch of up to\n"
	    "                          about N events (default 20000; 0: one tick per batch)\n"
	    "  --once                  exit 0 as soon as no batch is pending\n"
	    "  --metrics ADDR:PORT     serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	    "                          (e.g. 127.0.0.1:9187; [::1]:9187 for IPv6)\n"
	    "  -v, --verbose           debug log: one line per batch\n"
	    "  -V, --version           print the version, the pgq_set catalog version and the\n"
	    "                          build's git describe\n"
	    "  -h, --help              show this help\n");
}

static void on_stop(int sig)
{
	(void)sig;
	sky_worker_stop_requested = 1;
}

static void on_child(int sig)
{
	(void)sig;
	sky_worker_child_exited = 1;
}

static int parse_seconds(double *out, const char *s)
{
	int ret = -1;
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 3600)
		goto out;
	*out = v;
	ret = 0;
out:
	return ret;
}

static int parse_count(int *out, const char *s, long min)
{
	int ret = -1;
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > 10000000)
		goto out;
	*out = (int)v;
	ret = 0;
out:
	return ret;
}

int main(int argc, char **argv)
{
	enum { OPT_CASCADE = 256, OPT_POLL, OPT_FETCH, OPT_LEAF_BATCH, OPT_ONCE, OPT_METRICS };
	const char *env_dsn;
	static const struct option longopts[] = {
	    {"cascade", required_argument, NULL, OPT_CASCADE},
	    {"poll-interval", required_argument, NULL, OPT_POLL},
	    {"fetch-size", required_argument, NULL, OPT_FETCH},
	    {"leaf-batch-events", required_argument, NULL, OPT_LEAF_BATCH},
	    {"once", no_argument, NULL, OPT_ONCE},
	    {"metrics", required_argument, NULL, OPT_METRICS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct sky_worker_options opt = {
	    .dsn = NULL,
	    .cascade = NULL,
	    .poll_interval = 0.2,
	    .once = false,
	    .fetch_size = 10000,
	    .leaf_batch_events = 20000,
	    .metrics = NULL,
	};
	const char *metrics_listen = NULL;
	struct sky_error err;
	struct sigaction sa;
	int ret = 2;
	int c;

	sky_log_set_program("skyworker");
	/*
	 * A connection attempt to a stopped server (SIGSTOP, a hung host) would wait forever and
	 * hold the loop (and its heartbeat, the witness of the failover policy) with it; a DSN's
	 * own connect_timeout or the environment's still win.
	 */
	setenv("PGCONNECT_TIMEOUT", "3", 0);
	while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CASCADE:
			opt.cascade = optarg;
			break;
		case OPT_POLL:
			if (parse_seconds(&opt.poll_interval, optarg) < 0) {
				fprintf(stderr,
				        "skyworker: invalid --poll-interval \"%s\": expected "
				        "seconds, e.g. 0.5\n",
				        optarg);
				goto out;
			}
			break;
		case OPT_FETCH:
			if (parse_count(&opt.fetch_size, optarg, 1) < 0) {
				fprintf(stderr,
				        "skyworker: invalid --fetch-size \"%s\": expected a count "
				        "from 1 to 10000000\n",
				        optarg);
				goto out;
			}
			break;
		case OPT_LEAF_BATCH:
			if (parse_count(&opt.leaf_batch_events, optarg, 0) < 0) {
				fprintf(stderr,
				        "skyworker: invalid --leaf-batch-events \"%s\": expected a "
				        "count from 0 to 10000000\n",
				        optarg);
				goto out;
			}
			break;
		case OPT_ONCE:
			opt.once = true;
			break;
		case OPT_METRICS:
			metrics_listen = optarg;
			break;
		case 'v':
			sky_log_set_level(SKY_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		case 'V':
			printf("skyworker %s (pgq_set %s, git %s)\n", SKY_VERSION, SKY_SQL_VERSION,
			       SKY_GIT_DESCRIBE);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	env_dsn = getenv(DSN_ENV);
	if (optind == argc - 1) {
		opt.dsn = argv[optind];
	} else if (optind == argc && env_dsn && env_dsn[0]) {
		opt.dsn = env_dsn;
	} else if (optind == argc) {
		fprintf(stderr, "skyworker: no DSN: give it as the argument or in " DSN_ENV "\n");
		usage(stderr);
		goto out;
	} else {
		usage(stderr);
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: sleeps wake up */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* a finished copy frees a slot: the idle sleep ends so that the next one starts now */
	sa.sa_handler = on_child;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * After the handlers: the HTTP thread starts with every signal blocked (metrics.c), so
	 * SIGTERM and SIGCHLD keep reaching the loop's thread.
	 */
	if (metrics_listen) {
		opt.metrics = sky_metrics_new();
		if (sky_metrics_serve(opt.metrics, metrics_listen, &err) < 0) {
			fprintf(stderr, "skyworker: %s\n", err.message);
			ret = 1;
			goto out;
		}
	}

	ret = sky_worker_run(&opt);
out:
	sky_metrics_free(opt.metrics);
	return ret;
}
