/*
 * cmd_watch: `skyreconcile watch` keeps the cascade at the committed topology
 * (docs/reconciler.md, "watch").
 *
 * Edge- and level-triggered: a change of the file or of the repository's refs (watch_inotify.c)
 * reconciles within about a second when the revision moved; every --interval seconds it
 * reconciles anyway, which repairs drift (the plan is made from the catalogs, so a node paused
 * by hand, a provider or a table changed by hand is planned back). Each reconcile is the flow
 * of `skyreconcile` (reconcile.c, the one apply loop apply.c) and logs one line on stderr:
 * revision, changes, outcome. An invalid revision is not applied; its error is recorded as the
 * last attempted revision on the nodes of the last valid one. Failures back off exponentially
 * (1 s doubling to 60 s, reset by a success). SIGTERM/SIGINT end it between operations.
 * With --pull REMOTE (watch_pull.c) the followed branch is fetched from REMOTE every
 * --pull-interval seconds and fast-forwarded: a commit pushed elsewhere is reconciled like a
 * local one. The fetch runs in a child in the background: watch_wait polls its pipe with the
 * inotify descriptor and looks at it at each turn, so a remote that hangs holds nothing; a
 * fetch still running when watch ends is killed (by its pid) and reaped.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "autofail.h"
#include "apply_print.h"
#include "cmd.h"
#include "gitwrite.h"
#include "reconcile.h"
#include "revision.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"
#include "watch_inotify.h"
#include "watch_metrics.h"
#include "watch_pull.h"
#include "sky_time.h"

enum { WATCH_BACKOFF_MIN_MS = 1000, WATCH_BACKOFF_MAX_MS = 60000, WATCH_SETTLE_MS = 100 };

struct watch_opts {
	struct source_opts source;
	int interval_s;     /* --interval: level-triggered reconcile */
	int wait_s;         /* --wait-timeout */
	int lock_timeout_s; /* --lock-timeout */
	bool verbose;
	char *author_name; /* --identity "Name <email>" (default skyreconcile@HOST) */
	char *author_email;
	const char *push;    /* --push REMOTE (or --remote) */
	const char *pull;    /* --pull REMOTE (or --remote) */
	int pull_interval_s; /* --pull-interval */
	int pull_timeout_s;  /* --pull-timeout: bound of a fetch, and of the policy's push */
	const char *metrics; /* --metrics ADDR:PORT; NULL: not served */
};

/* What the loop remembers between reconciles. */
struct watch_state {
	char last_id[SOURCE_REVISION_ID_LEN]; /* the revision last attempted */
	bool last_ok;                         /* and whether it succeeded */
	struct topology *last_valid;          /* the last topology that parsed (for recording) */
	int backoff_ms;                       /* the next wait after a failure */
};

static volatile sig_atomic_t watch_stop;

static void watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* No SA_RESTART: poll() returns at once with EINTR. */
static void watch_signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

void cmd_watch_usage(FILE *out)
{
	fputs("usage: skyreconcile watch (-f FILE | --repo DIR [--ref REF] [--path PATH])\n"
	      "                          [--interval SECONDS] [--wait-timeout SECONDS]\n"
	      "                          [--lock-timeout SECONDS] [--metrics ADDR:PORT]\n"
	      "                          [--identity \"NAME <EMAIL>\"] [--push REMOTE]\n"
	      "                          [--pull REMOTE [--pull-interval SECONDS]]\n"
	      "                          [--pull-timeout SECONDS]\n"
	      "                          [--remote REMOTE] [-v]\n"
	      "\n"
	      "Keep the cascade at its topology: reconcile when the file or the repository's\n"
	      "refs change (a new commit is applied within about a second), and every\n"
	      "--interval seconds to repair drift. One line per reconcile on stderr.\n"
	      "SIGTERM or SIGINT end it between operations (exit 0).\n"
	      "\n"
	      "  -f, --file FILE   follow FILE (default topology.yaml)\n"
	      "      --repo DIR    follow commits of the git repository DIR\n"
	      "      --ref REF     the commit to follow (default HEAD)\n"
	      "      --path PATH   the file inside the repository (default topology.yaml)\n"
	      "      --interval SECONDS\n"
	      "                    reconcile at least this often (default 30)\n"
	      "      --wait-timeout SECONDS\n"
	      "                    how long a step waits for a worker or a node (default 60)\n"
	      "      --lock-timeout SECONDS\n"
	      "                    how long to wait for another skyreconcile (default 30)\n"
	      "      --identity \"NAME <EMAIL>\"\n"
	      "                    author of the failover policy's commits (default\n"
	      "                    \"skyreconcile <skyreconcile@HOSTNAME>\")\n"
	      "      --push REMOTE push those commits to REMOTE (never forced)\n"
	      "      --pull REMOTE fetch the followed branch from REMOTE and fast-forward it\n"
	      "                    (never a merge or a reset: a branch with commits REMOTE\n"
	      "                    lacks is reported and left as it is)\n"
	      "      --pull-interval SECONDS\n"
	      "                    how often to fetch (default 5)\n"
	      "      --pull-timeout SECONDS\n"
	      "                    give up a fetch, or a push, that takes longer (default 20,\n"
	      "                    at most --interval)\n"
	      "      --remote REMOTE\n"
	      "                    --push REMOTE --pull REMOTE\n"
	      "      --metrics ADDR:PORT\n"
	      "                    serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	      "  -v, --verbose     debug diagnostics on stderr\n",
	      out);
}

/* 0 and *out filled, 1 for --help, -1 on a usage error. */
static int watch_opts_parse(struct watch_opts *out, int argc, char **argv)
{
	enum {
		OPT_FIRST_OWN_ = CMD_OPT_OWN - 1,
		OPT_INTERVAL,
		OPT_WAIT,
		OPT_LOCK,
		OPT_METRICS,
		OPT_IDENTITY,
		OPT_PUSH,
		OPT_PULL,
		OPT_PULL_INTERVAL,
		OPT_PULL_TIMEOUT,
		OPT_REMOTE
	};
	static const struct option longopts[] = {
	    CMD_SOURCE_LONGOPTS,
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"wait-timeout", required_argument, NULL, OPT_WAIT},
	    {"lock-timeout", required_argument, NULL, OPT_LOCK},
	    {"identity", required_argument, NULL, OPT_IDENTITY},
	    {"push", required_argument, NULL, OPT_PUSH},
	    {"pull", required_argument, NULL, OPT_PULL},
	    {"pull-interval", required_argument, NULL, OPT_PULL_INTERVAL},
	    {"pull-timeout", required_argument, NULL, OPT_PULL_TIMEOUT},
	    {"remote", required_argument, NULL, OPT_REMOTE},
	    {"metrics", required_argument, NULL, OPT_METRICS},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct watch_opts o;
	const char *remote = NULL;
	int c;

	memset(&o, 0, sizeof(o));
	o.interval_s = 30;
	o.wait_s = 60;
	o.lock_timeout_s = 30;
	o.pull_interval_s = 5;
	o.pull_timeout_s = -1; /* not given: the default, within --interval */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INTERVAL:
			if (cmd_seconds_parse(&o.interval_s, "--interval", optarg, 1) < 0)
				return -1;
			break;
		case OPT_WAIT:
			if (cmd_seconds_parse(&o.wait_s, "--wait-timeout", optarg, 1) < 0)
				return -1;
			break;
		case OPT_LOCK:
			if (cmd_seconds_parse(&o.lock_timeout_s, "--lock-timeout", optarg, 0) < 0)
				return -1;
			break;
		case OPT_IDENTITY:
			if (cmd_identity_parse(&o.author_name, &o.author_email, optarg) < 0)
				return -1;
			break;
		case OPT_PUSH:
			o.push = optarg;
			break;
		case OPT_PULL:
			o.pull = optarg;
			break;
		case OPT_PULL_INTERVAL:
			if (cmd_seconds_parse(&o.pull_interval_s, "--pull-interval", optarg, 1) < 0)
				return -1;
			break;
		case OPT_PULL_TIMEOUT:
			if (cmd_seconds_parse(&o.pull_timeout_s, "--pull-timeout", optarg, 1) < 0)
				return -1;
			break;
		case OPT_REMOTE:
			remote = optarg;
			break;
		case OPT_METRICS:
			o.metrics = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			cmd_watch_usage(stdout);
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
	if (remote) {
		if ((o.push && strcmp(o.push, remote) != 0) ||
		    (o.pull && strcmp(o.pull, remote) != 0)) {
			fprintf(stderr, "error: --remote is --push and --pull at once (expected "
			                "no other --push or --pull, or the same remote)\n");
			return -1;
		}
		o.push = o.pull = remote;
	}
	/*
	 * The periodic fetch runs in the background, but the failover policy's push (and the
	 * fetch after a rejected one) and the first fetch at start hold the loop until they end or
	 * are given up: never longer than the period at which watch promises a reconcile (drift
	 * repair, the failover policy's looks at the root wait behind them).
	 */
	if (o.pull_timeout_s < 0) {
		o.pull_timeout_s = GITWRITE_TIMEOUT_DEFAULT_MS / 1000;
		if (o.pull_timeout_s > o.interval_s)
			o.pull_timeout_s = o.interval_s;
	} else if (o.pull_timeout_s > o.interval_s) {
		fprintf(stderr,
		        "error: --pull-timeout %d is longer than --interval %d (expected at most "
		        "the interval: a push holds the loop until it is given up)\n",
		        o.pull_timeout_s, o.interval_s);
		return -1;
	}
	if (o.pull && !o.source.repo) {
		fprintf(stderr, "error: --pull needs --repo (expected the git repository to "
		                "fetch into)\n");
		return -1;
	}
	if (!o.author_name)
		cmd_identity_default(&o.author_name, &o.author_email);
	*out = o;
	return 0;
}

/* The one log line of a reconcile. */
static void watch_log(const struct source_revision *rev, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void watch_log(const struct source_revision *rev, const char *why, const char *fmt, ...)
{
	struct sky_buf b;
	va_list ap;

	sky_buf_init(&b);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sky_info("reconcile (%s): revision %s%s%s%s: %s", why,
	         rev && rev->short_id[0] ? rev->short_id : "unknown",
	         rev && rev->subject ? " \"" : "", rev && rev->subject ? rev->subject : "",
	         rev && rev->subject ? "\"" : "", b.data);
	sky_buf_release(&b);
}

/*
 * One reconcile: load, lock, plan, apply, record. 0 when the cascade matches the revision
 * afterwards, -1 otherwise (the line logged says why).
 */
static int watch_reconcile(struct watch_state *st, const struct watch_opts *opts, const char *why)
{
	struct source_revision rev;
	struct topology *topo = NULL;
	struct reconcile rc;
	struct apply_result result;
	struct sky_error err;
	bool json = false;
	int ret = -1, rc_plan;
	/* for --metrics (watch_metrics.h) */
	enum watch_outcome outcome = WATCH_OUTCOME_FAILED;
	long long started = sky_now_ms();
	bool drift = false;

	memset(&rev, 0, sizeof(rev));
	memset(&result, 0, sizeof(result));
	sky_error_clear(&err);
	reconcile_init(&rc);
	if (source_load(&topo, &rev, &opts->source, &err) < 0) {
		/* not applied: the previous state stays; the error is the attempt's */
		if (rev.id[0] && st->last_valid &&
		    (strcmp(st->last_id, rev.id) != 0 || st->last_ok))
			revision_record(NULL, st->last_valid, &rev, false, err.message);
		watch_log(&rev, why, "invalid, not applied: %s", err.message);
		outcome = WATCH_OUTCOME_INVALID;
		snprintf(st->last_id, sizeof(st->last_id), "%s", rev.id);
		goto out;
	}
	drift = st->last_ok && strcmp(st->last_id, rev.id) == 0; /* changes now are drift */
	snprintf(st->last_id, sizeof(st->last_id), "%s", rev.id);
	watch_metrics_set_cascade(topo->cascade);
	topology_free(st->last_valid);
	st->last_valid = topo;
	rc_plan = reconcile_plan(&rc, topo, &rev, opts->lock_timeout_s * 1000, opts->wait_s * 1000,
	                         &watch_stop, &err);
	if (rc.lock_waited_ms > 0)
		watch_metrics_lock_wait((double)rc.lock_waited_ms / 1000.0);
	if (rc_plan < 0) {
		watch_log(&rc.rev, why, "failed: %s", err.message);
		goto out;
	}
	if (rc.plan->n_problems > 0) {
		struct sky_buf b;

		sky_buf_init(&b);
		apply_print_plan_text(rc.plan, rc.actual);
		fflush(stdout);
		sky_buf_addf(&b, "%zu problem%s in the plan: ", rc.plan->n_problems,
		             rc.plan->n_problems == 1 ? "" : "s");
		plan_problem_describe(&b, &rc.plan->problems[0]);
		reconcile_record(&rc, false, b.data);
		watch_log(&rc.rev, why, "%zu changes, failed: %s", rc.plan->n_ops, b.data);
		sky_buf_release(&b);
		goto out;
	}
	if (rc.plan->n_ops == 0) {
		reconcile_record(&rc, true, NULL);
		watch_log(&rc.rev, why, "no changes, ok");
		outcome = WATCH_OUTCOME_NO_CHANGES;
		ret = 0;
		goto out;
	}
	apply_print_revision(&rc.rev);
	reconcile_apply(&rc, &result, apply_print_observe, &json, &watch_stop);
	fflush(stdout);
	watch_metrics_apply(rc.plan, &result, drift);
	if (result.n_failed) {
		reconcile_record(&rc, false, result.first_error);
		watch_log(&rc.rev, why, "%zu changes, %zu applied, %zu failed: %s", rc.plan->n_ops,
		          apply_result_n_done(&result), result.n_failed, result.first_error);
	} else if (result.stopped) {
		reconcile_record(&rc, false, "stopped by a signal before the plan was applied");
		watch_log(&rc.rev, why, "%zu changes, %zu applied, stopped by a signal",
		          rc.plan->n_ops, apply_result_n_done(&result));
		outcome = WATCH_OUTCOME_STOPPED;
	} else {
		reconcile_record(&rc, true, NULL);
		watch_log(&rc.rev, why, "%zu changes, applied", rc.plan->n_ops);
		outcome = WATCH_OUTCOME_APPLIED;
		ret = 0;
	}
out:
	watch_metrics_reconcile(outcome, (double)(sky_now_ms() - started) / 1000.0, sky_epoch_s(),
	                        rev.id[0] ? rev.id : rc.rev.id);
	st->last_ok = ret == 0;
	apply_result_release(&result);
	reconcile_release(&rc);
	source_revision_release(&rev);
	return ret;
}

/*
 * Wait until something is due: an inotify change that moved the revision ("commit" / "file"),
 * a pull that moved the ref ("pull"; pull is NULL without --pull, and a pull that moves
 * nothing is done here and waiting goes on), or the deadline ("interval" after a success, the
 * backoff after a failure). Returns the reason, or NULL when stopped.
 */
static const char *watch_wait(struct watch_inotify *w, const struct watch_state *st,
                              const struct watch_opts *opts, long long due, long long probe,
                              struct watch_pull *pull)
{
	struct pollfd pfd[2] = {{.fd = watch_inotify_fd(w), .events = POLLIN},
	                        {.fd = -1, .events = POLLIN}};

	while (!watch_stop) {
		long long left = due - sky_now_ms();
		struct sky_error err;
		int rc;

		if (left <= 0)
			return st->last_ok ? "interval" : "retry";
		/* the failover policy's next look at the root (0: none) */
		if (probe > 0 && probe - sky_now_ms() <= 0)
			return "probe";
		if (probe > 0 && probe - sky_now_ms() < left)
			left = probe - sky_now_ms();
		if (pull) {
			/*
			 * Start a fetch that is due, or look at the one in flight (never waits for
			 * it: its pipe is polled below with the inotify descriptor). A permanent
			 * failure is logged (once) and tried again all the same.
			 */
			sky_error_clear(&err);
			rc = watch_pull_step(pull, &err);
			if (rc > 0)
				return "pull";
			if (rc < 0 && pull->failures == 1)
				sky_errorlog(
				    "pull: %s (trying again every %d s, logged once until it "
				    "works)",
				    err.message, pull->interval_ms / 1000);
			if (watch_pull_next_ms(pull) - sky_now_ms() < left)
				left = watch_pull_next_ms(pull) - sky_now_ms();
			if (left < 0)
				left = 0;
			pfd[1].fd = watch_pull_fd(pull);
		}
		rc = poll(pfd, 2, left > 1000000 ? 1000000 : (int)left);
		if (rc < 0 && errno != EINTR) {
			sky_errorlog("poll: %s", strerror(errno));
			return "retry";
		}
		if (rc <= 0 || !(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)))
			continue; /* the fetch's pipe (or nothing): the next turn looks at it */
		sky_error_clear(&err);
		rc = watch_inotify_drain(w, &err);
		if (rc < 0) {
			sky_errorlog("%s", err.message);
			return "retry";
		}
		if (rc == 0)
			continue;
		{
			/* a burst of events (git writes a ref, then the reflog ...): let it settle
			 */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = WATCH_SETTLE_MS * 1000000L};
			struct source_revision rev;
			bool moved;

			nanosleep(&ts, NULL);
			watch_inotify_drain(w, &err);
			memset(&rev, 0, sizeof(rev));
			sky_error_clear(&err);
			if (source_revision_read(&rev, &opts->source, &err) < 0) {
				/* e.g. the file is gone for a moment: the next event or the timer
				 * tells */
				sky_debug("change seen, revision not readable: %s", err.message);
				source_revision_release(&rev);
				continue;
			}
			moved = strcmp(rev.id, st->last_id) != 0;
			source_revision_release(&rev);
			if (moved)
				return opts->source.repo ? "commit" : "file";
		}
	}
	return NULL;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts opts;
	struct watch_state st;
	struct watch_inotify *w = NULL;
	struct autofail af;
	struct autofail_opts af_opts;
	struct watch_pull pull;
	struct sky_error err;
	const char *why = "start";
	long long due = 0;
	int ret = 1;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&opts, 0, sizeof(opts));
	memset(&pull, 0, sizeof(pull));
	autofail_init(&af);
	sky_error_clear(&err);
	rc = watch_opts_parse(&opts, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "try \"skyreconcile watch --help\"\n");
		return rc > 0 ? 0 : 1;
	}
	if (opts.verbose)
		sky_log_set_level(SKY_LOG_DEBUG);
	setenv("PGCONNECT_TIMEOUT", "10", 0);
	setenv("PGAPPNAME", "skyreconcile", 0);
	watch_signals_setup();
	/* after the handlers: the HTTP thread starts with every signal blocked (sky_http.h) */
	if (opts.metrics && watch_metrics_serve(opts.metrics, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	if (watch_inotify_open(&w, &opts.source, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	sky_info("watching %s \"%s\", reconciling at least every %d s",
	         opts.source.repo ? "repository" : "file",
	         opts.source.repo ? opts.source.repo
	                          : (opts.source.file ? opts.source.file : SOURCE_DEFAULT_FILE),
	         opts.interval_s);
	if (opts.pull) {
		/*
		 * The first pull before the first reconcile, waited for (at most --pull-timeout):
		 * a clone that was behind applies the remote's commit, not an older one first; a
		 * ref that is no branch stops here. Later pulls run in the background.
		 */
		watch_pull_init(&pull, opts.source.repo, opts.source.ref, opts.pull,
		                opts.pull_interval_s, opts.pull_timeout_s);
		sky_info("pulling from \"%s\" every %d s (a fetch is given up after %d s)",
		         pull.shown, opts.pull_interval_s, opts.pull_timeout_s);
		if (watch_pull_run(&pull, &watch_stop, &err) < 0) {
			fprintf(stderr, "error: --pull: %s\n", err.message);
			goto out;
		}
	}
	af_opts.source = &opts.source;
	af_opts.author_name = opts.author_name;
	af_opts.author_email = opts.author_email;
	af_opts.push_remote = opts.push;
	af_opts.push_timeout_ms = opts.pull_timeout_s * 1000;
	af_opts.lock_timeout_ms = opts.lock_timeout_s * 1000;
	st.backoff_ms = WATCH_BACKOFF_MIN_MS;
	while (!watch_stop) {
		bool timer = strcmp(why, "interval") == 0 || strcmp(why, "retry") == 0;
		bool looked = false;
		enum autofail_outcome outcome = AUTOFAIL_IDLE;
		long long probe = 0;

		/*
		 * failover.mode automatic (autofail.c): before a timer reconcile, look at the root:
		 * while it does not answer, a timer reconcile cannot succeed and would hold up the
		 * detection (each attempt to reach a stalled root waits for the connect timeout). A
		 * new commit is still reconciled at once; a look alone ("probe") never reconciles.
		 */
		if (timer && st.last_valid && st.last_valid->failover.automatic) {
			outcome = autofail_check(&af, st.last_valid, &af_opts, &watch_stop);
			looked = true;
			if (outcome == AUTOFAIL_COMMITTED || outcome == AUTOFAIL_MOVED) {
				why = "failover";
				looked = false;
			}
		}
		if (strcmp(why, "probe") != 0 && !(looked && outcome == AUTOFAIL_SUSPECT)) {
			if (watch_reconcile(&st, &opts, why) == 0) {
				st.backoff_ms = WATCH_BACKOFF_MIN_MS;
				due = sky_now_ms() + (long long)opts.interval_s * 1000;
			} else {
				due = sky_now_ms() + st.backoff_ms;
				sky_info("next attempt in %d s", st.backoff_ms / 1000);
				st.backoff_ms *= 2;
				if (st.backoff_ms > WATCH_BACKOFF_MAX_MS)
					st.backoff_ms = WATCH_BACKOFF_MAX_MS;
			}
		}
		if (!looked)
			outcome = autofail_check(&af, st.last_valid, &af_opts, &watch_stop);
		switch (outcome) {
		case AUTOFAIL_IDLE:
			if (st.last_valid && st.last_valid->failover.automatic)
				probe = sky_now_ms() + AUTOFAIL_PROBE_MS;
			break;
		case AUTOFAIL_SUSPECT:
			probe = sky_now_ms() + AUTOFAIL_SUSPECT_PROBE_MS;
			break;
		case AUTOFAIL_COMMITTED:
		case AUTOFAIL_MOVED:
			/* the new commit is applied now, like any commit */
			st.backoff_ms = WATCH_BACKOFF_MIN_MS;
			why = "failover";
			continue;
		}
		why = watch_wait(w, &st, &opts, due, probe, opts.pull ? &pull : NULL);
		if (!why)
			break;
	}
	sky_info("stopped by a signal");
	ret = 0;
out:
	autofail_release(&af);
	watch_pull_release(&pull);
	watch_metrics_stop();
	watch_inotify_free(w);
	topology_free(st.last_valid);
	free(opts.author_name);
	free(opts.author_email);
	return ret;
}
