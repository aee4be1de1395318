/*
 * cmd_apply: reconcile once. Read the desired state (source.c) and the actual state
 * (catalog.c), compute the plan (plan.c), then print it (--dry-run) or run it step by step
 * (admin.c). Exit codes follow terraform's -detailed-exitcode: 0 nothing to do or applied,
 * 2 dry-run found changes, 1 error. Results go to stdout, diagnostics to stderr.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_print.h"
#include "cmd.h"
#include "plan.h"
#include "planfile.h"
#include "policy.h"
#include "reconcile.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_CHANGES = 2 };

struct apply_opts {
	struct source_opts source;
	bool dry_run;
	bool json;
	bool verbose;
	int wait_s;                /* --wait-timeout */
	int lock_timeout_s;        /* --lock-timeout */
	const char *lost_dir;      /* --lost-dir */
	const char *simulate_dead; /* --simulate-dead NODE */
	const char *out_file;      /* --dry-run --out FILE: save the plan */
	const char *plan_file;     /* skyreconcile apply FILE: apply a saved plan */
};

/* Set by cmd_apply_saved: the one argument is a saved plan to apply. */
static bool saved_plan_mode;

void cmd_apply_usage(FILE *out)
{
	fputs("usage: skyreconcile [-f FILE | --repo DIR [--ref REF] [--path PATH]] [--dry-run]\n"
	      "                    [--json] [-v]\n"
	      "\n"
	      "Make the cascade match its topology: read the desired state, read every node's\n"
	      "catalog, compute the plan and apply it (or only print it with --dry-run).\n"
	      "\n"
	      "  -f, --file FILE   read the topology from FILE (default topology.yaml)\n"
	      "      --repo DIR    read it from a commit of the git repository DIR\n"
	      "      --ref REF     the commit (default HEAD)\n"
	      "      --path PATH   the file inside the repository (default topology.yaml)\n"
	      "  -n, --dry-run     print the plan, change nothing\n"
	      "      --json        print the plan (and the outcome) as JSON\n"
	      "      --out FILE    with --dry-run: save the plan to FILE; \"skyreconcile apply\n"
	      "                    FILE\" applies exactly it (refused as stale if the topology\n"
	      "                    or the cascade changed meanwhile)\n"
	      "      --simulate-dead NODE\n"
	      "                    with --dry-run: the failover the policy would make now if\n"
	      "                    NODE (the root) died, and its plan; changes nothing\n"
	      "      --lost-dir DIR\n"
	      "                    where a rejoin writes the node's lost transactions (default .)\n"
	      "      --wait-timeout SECONDS\n"
	      "                    how long a step waits for a worker to pause or a provider\n"
	      "                    to reach a tick (default 60)\n"
	      "      --lock-timeout SECONDS\n"
	      "                    how long to wait while another skyreconcile applies to the\n"
	      "                    cascade (default 30; 0: refuse at once)\n"
	      "  -v, --verbose     debug diagnostics on stderr\n"
	      "\n"
	      "Exit status: 0 nothing to do or applied, 2 --dry-run found changes, 1 error.\n"
	      "skyreconcile --version prints the version, the pgq_set version it installs and\n"
	      "the build's git describe.\n"
	      "skyreconcile watch --help: reconcile on every commit and periodically.\n"
	      "skyreconcile status shows the cascade (skyreconcile status --help).\n"
	      "skyreconcile graph --help: the cascade as a Graphviz DOT (or Mermaid) picture.\n"
	      "skyreconcile failover --help: the operator's override of the failover policy.\n",
	      out);
}

/* 0 and *out filled, 1 when the caller should exit 0 (--help), -1 on a usage error. */
static int apply_opts_parse(struct apply_opts *out, int argc, char **argv)
{
	enum {
		OPT_FIRST_OWN_ = CMD_OPT_OWN - 1,
		OPT_JSON,
		OPT_WAIT,
		OPT_LOCK,
		OPT_LOST_DIR,
		OPT_SIMULATE,
		OPT_OUT
	};
	static const struct option longopts[] = {
	    CMD_SOURCE_LONGOPTS,
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"wait-timeout", required_argument, NULL, OPT_WAIT},
	    {"lock-timeout", required_argument, NULL, OPT_LOCK},
	    {"lost-dir", required_argument, NULL, OPT_LOST_DIR},
	    {"simulate-dead", required_argument, NULL, OPT_SIMULATE},
	    {"out", required_argument, NULL, OPT_OUT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct apply_opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.wait_s = 60;
	o.lock_timeout_s = 30;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.dry_run = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_WAIT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 86400) {
				fprintf(
				    stderr,
				    "error: --wait-timeout needs a number of seconds (1 to 86400), "
				    "got \"%s\"\n",
				    optarg);
				return -1;
			}
			o.wait_s = (int)v;
			break;
		}
		case OPT_LOST_DIR:
			o.lost_dir = optarg;
			break;
		case OPT_SIMULATE:
			o.simulate_dead = optarg;
			break;
		case OPT_OUT:
			o.out_file = optarg;
			break;
		case OPT_LOCK:
			if (cmd_seconds_parse(&o.lock_timeout_s, "--lock-timeout", optarg, 0) < 0)
				return -1;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			cmd_apply_usage(stdout);
			return 1;
		default:
			if (cmd_source_opt(&o.source, c, optarg))
				break;
			return cmd_getopt_error(c, argv);
		}
	}
	if (saved_plan_mode) {
		if (optind != argc - 1) {
			fprintf(stderr, "error: skyreconcile apply needs one saved plan file\n");
			return -1;
		}
		o.plan_file = argv[optind++];
		if (o.source.file || o.source.repo || o.dry_run || o.out_file || o.simulate_dead) {
			fprintf(stderr, "error: a saved plan names its own source; -f, --repo, "
			                "--dry-run, --out and --simulate-dead do not go with it\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o.out_file && !o.dry_run) {
		fprintf(stderr, "error: --out needs --dry-run (apply the file with "
		                "\"skyreconcile apply FILE\")\n");
		return -1;
	}
	if (cmd_source_check(&o.source) < 0)
		return -1;
	if (o.simulate_dead && !o.dry_run) {
		fprintf(stderr,
		        "error: --simulate-dead needs --dry-run (it only shows a failover)\n");
		return -1;
	}
	*out = o;
	return 0;
}

/* SIGTERM/SIGINT: finish the operation in flight, start no other (apply_plan checks it). */
static volatile sig_atomic_t apply_stop;

static void apply_on_signal(int sig)
{
	(void)sig;
	apply_stop = 1;
}

static void apply_signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = apply_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* The one-line error of a plan with problems, recorded as the attempt's error. */
static char *problems_error(const struct plan *plan)
{
	struct sky_buf b;

	sky_buf_init(&b);
	sky_buf_addf(&b, "%zu problem%s in the plan", plan->n_problems,
	             plan->n_problems == 1 ? "" : "s");
	if (plan->n_problems > 0) {
		sky_buf_adds(&b, ": ");
		plan_problem_describe(&b, &plan->problems[0]);
	}
	return sky_buf_detach(&b);
}

/*
 * --dry-run --simulate-dead NODE: what the failover policy (policy.c) would do now if NODE
 * died: NODE is taken as unreachable, the decision and its evidence are printed, then the plan
 * of the topology it proposes. Nothing is changed. Exit 2 when a failover would happen, 1
 * when no candidate qualifies.
 */
static int simulate_dead(const struct topology *topo, struct reconcile *rc,
                         const struct apply_opts *opts)
{
	struct actual_node *an =
	    (struct actual_node *)actual_state_node(rc->actual, opts->simulate_dead);
	struct policy_decision *d = NULL;
	struct plan *plan = NULL;
	struct plan_options popts;
	struct sky_error err;
	int ret = EXIT_ERROR;

	sky_error_clear(&err);
	if (!an) {
		fprintf(stderr, "error: --simulate-dead: \"%s\" is not a node of the topology\n",
		        opts->simulate_dead);
		return EXIT_ERROR;
	}
	{
		char *name = sky_strdup(an->name);

		actual_node_clear(an);
		an->name = name;
		an->error = sky_strdup("simulated dead (--simulate-dead)");
	}
	if (policy_decide(&d, topo, rc->actual, opts->simulate_dead, &err) < 0) {
		fprintf(stderr, "error: --simulate-dead: %s\n", err.message);
		goto out;
	}
	memset(&popts, 0, sizeof(popts));
	popts.sql_version = rc->sql_version;
	popts.sql_digest = rc->sql_digest;
	popts.lost_dir = opts->lost_dir ? opts->lost_dir : ".";
	if (d->chosen && plan_build(&plan, d->proposed, rc->actual, &popts, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	if (opts->json) {
		json_t *doc = plan ? plan_to_json(plan) : json_object();
		json_t *sim = json_object();
		char *text;

		json_object_set_new(sim, "dead", json_string(d->dead));
		json_object_set_new(sim, "chosen",
		                    d->chosen ? json_string(d->chosen) : json_null());
		json_object_set_new(sim, "reason", json_string(d->reason));
		json_object_set_new(sim, "evidence", json_string(d->evidence));
		json_object_set_new(sim, "last_tick", json_integer(d->last_tick));
		json_object_set_new(doc, "simulation", sim);
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(doc);
	} else {
		printf("Simulated failover: root %s dead (nothing is changed)\n", d->dead);
		for (const char *line = d->evidence; *line;) {
			const char *nl = strchr(line, '\n');
			int len = nl ? (int)(nl - line) : (int)strlen(line);

			printf("  %.*s\n", len, line);
			line += len + (nl ? 1 : 0);
		}
		printf("Decision: %s\n\n", d->reason);
		if (plan)
			apply_print_plan_text(plan, NULL);
	}
	fflush(stdout);
	ret = d->chosen && plan && plan->n_problems == 0 ? EXIT_CHANGES : EXIT_ERROR;
out:
	plan_free(plan);
	policy_decision_free(d);
	return ret;
}

int cmd_apply_saved(int argc, char **argv)
{
	saved_plan_mode = true;
	return cmd_apply(argc, argv);
}

int cmd_apply(int argc, char **argv)
{
	struct apply_opts opts;
	struct reconcile rc;
	struct topology *topo = NULL;
	struct source_revision rev;
	struct apply_result result;
	struct actual_state *after = NULL;
	json_t *saved = NULL;
	struct sky_error err;
	int ret = EXIT_ERROR;
	int rc_opts;

	sky_error_clear(&err);
	reconcile_init(&rc);
	memset(&rev, 0, sizeof(rev));
	memset(&result, 0, sizeof(result));
	rc_opts = apply_opts_parse(&opts, argc, argv);
	if (rc_opts != 0) {
		if (rc_opts < 0)
			fprintf(stderr, "try \"skyreconcile --help\"\n");
		return rc_opts > 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (opts.verbose)
		sky_log_set_level(SKY_LOG_DEBUG);
	/* defaults a DSN can override: do not hang on a dead host, say who we are */
	setenv("PGCONNECT_TIMEOUT", "10", 0);
	setenv("PGAPPNAME", "skyreconcile", 0);
	apply_signals_setup();

	if (opts.plan_file) {
		json_error_t jerr;

		saved = json_load_file(opts.plan_file, 0, &jerr);
		if (!saved) {
			fprintf(stderr, "error: %s:%d:%d: could not read the saved plan: %s\n",
			        opts.plan_file, jerr.line, jerr.column, jerr.text);
			goto out;
		}
		if (planfile_source(&opts.source, saved, &err) < 0) {
			fprintf(stderr, "error: %s: %s\n", opts.plan_file, err.message);
			goto out;
		}
	}
	if (source_load(&topo, &rev, &opts.source, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	rc.lost_dir = opts.lost_dir;
	if (reconcile_plan(&rc, topo, &rev, opts.dry_run ? -1 : opts.lock_timeout_s * 1000,
	                   opts.wait_s * 1000, &apply_stop, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	if (opts.simulate_dead) {
		ret = simulate_dead(topo, &rc, &opts);
		goto out;
	}
	if (saved && planfile_check(saved, rc.plan, &rc.rev, rc.actual, &err) < 0) {
		fprintf(stderr, "error: %s: %s\n", opts.plan_file, err.message);
		goto out;
	}
	if (opts.out_file && rc.plan->n_problems == 0) {
		json_t *doc = planfile_build(rc.plan, &opts.source, &rc.rev, rc.actual);
		int wrc = json_dump_file(doc, opts.out_file, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		json_decref(doc);
		if (wrc < 0) {
			fprintf(stderr, "error: could not write the plan to %s\n", opts.out_file);
			goto out;
		}
	}
	if (rc.plan->n_problems > 0 || opts.dry_run || rc.plan->n_ops == 0) {
		if (opts.json) {
			apply_print_plan_json(rc.plan, &rc.rev, rc.actual);
		} else {
			if (opts.source.repo)
				apply_print_revision(&rc.rev);
			apply_print_plan_text(rc.plan, rc.actual);
		}
		fflush(stdout);
		if (rc.plan->n_problems > 0) {
			fprintf(stderr, "error: %zu problem%s in the plan%s\n", rc.plan->n_problems,
			        rc.plan->n_problems == 1 ? "" : "s",
			        opts.dry_run ? "" : "; nothing was applied");
			if (!opts.dry_run) {
				char *msg = problems_error(rc.plan);

				reconcile_record(&rc, false, msg);
				free(msg);
			}
			ret = EXIT_ERROR;
		} else {
			if (!opts.dry_run)
				reconcile_record(&rc, true, NULL);
			ret = rc.plan->n_ops > 0 ? EXIT_CHANGES : EXIT_OK;
		}
		goto out;
	}

	if (!opts.json && opts.source.repo)
		apply_print_revision(&rc.rev);
	reconcile_apply(&rc, &result, apply_print_observe, &opts.json, &apply_stop);
	/* read again for the status section: what was just added is pending now */
	after = reconcile_read_again(&rc);
	if (opts.json)
		apply_print_result_json(rc.plan, &rc.rev, &result, after);
	else
		apply_print_result_text(&result, after);
	fflush(stdout);
	if (result.n_failed) {
		fprintf(stderr, "error: %zu of %zu operations failed\n", result.n_failed,
		        rc.plan->n_ops);
		reconcile_record(&rc, false, result.first_error);
	} else if (result.stopped) {
		fprintf(stderr, "error: stopped by a signal; %zu of %zu operations not run\n",
		        result.n_not_run, rc.plan->n_ops);
		reconcile_record(&rc, false, "stopped by a signal before the plan was applied");
	} else {
		reconcile_record(&rc, true, NULL);
	}
	ret = result.n_failed || result.stopped ? EXIT_ERROR : EXIT_OK;
out:
	apply_result_release(&result);
	actual_state_free(after);
	source_revision_release(&rev);
	reconcile_release(&rc);
	topology_free(topo);
	return ret;
}
