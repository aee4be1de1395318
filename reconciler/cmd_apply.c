/*
 * cmd_apply: reconcile once. Read the desired state (source.c) and the actual state
 * (catalog.c), compute the plan (plan.c), then print it (--dry-run) or run it step by step
 * (admin.c). Exit codes follow terraform's -detailed-exitcode: 0 nothing to do or applied,
 * 2 dry-run found changes, 1 error. Results go to stdout, diagnostics to stderr.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "admin.h"
#include "cmd.h"
#include "plan.h"
#include "progress.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "source.h"

/* The pgq_set install script, generated from sql/install.sql (cmake/embed_sql.cmake). */
extern const char sky_sql_install[];

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_CHANGES = 2 };

struct apply_opts {
	struct source_opts source;
	bool dry_run;
	bool json;
	bool verbose;
	int wait_s; /* --wait-timeout */
};

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
	      "      --wait-timeout SECONDS\n"
	      "                    how long a step waits for a worker to pause or a provider\n"
	      "                    to reach a tick (default 60)\n"
	      "  -v, --verbose     debug diagnostics on stderr\n"
	      "\n"
	      "Exit status: 0 nothing to do or applied, 2 --dry-run found changes, 1 error.\n"
	      "skyreconcile --version prints the version, the pgq_set version it installs and\n"
	      "the build's git describe.\n"
	      "skyreconcile status shows the cascade (skyreconcile status --help).\n"
	      "Not implemented yet: skyreconcile watch.\n",
	      out);
}

/* 0 and *out filled, 1 when the caller should exit 0 (--help), -1 on a usage error. */
static int apply_opts_parse(struct apply_opts *out, int argc, char **argv)
{
	enum { OPT_REPO = 256, OPT_REF, OPT_PATH, OPT_JSON, OPT_WAIT };
	static const struct option longopts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"repo", required_argument, NULL, OPT_REPO},
	    {"ref", required_argument, NULL, OPT_REF},
	    {"path", required_argument, NULL, OPT_PATH},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"wait-timeout", required_argument, NULL, OPT_WAIT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct apply_opts o;
	int c;

	memset(&o, 0, sizeof(o));
	o.wait_s = 60;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.source.file = optarg;
			break;
		case OPT_REPO:
			o.source.repo = optarg;
			break;
		case OPT_REF:
			o.source.ref = optarg;
			break;
		case OPT_PATH:
			o.source.path = optarg;
			break;
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
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			cmd_apply_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "error: option \"%s\" needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "error: unknown option \"%s\"\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o.source.file && o.source.repo) {
		fprintf(stderr, "error: -f and --repo cannot be used together\n");
		return -1;
	}
	if ((o.source.ref || o.source.path) && !o.source.repo) {
		fprintf(stderr, "error: --ref and --path need --repo\n");
		return -1;
	}
	*out = o;
	return 0;
}

static void print_op_line(const struct plan_op *op)
{
	struct sky_buf b;

	sky_buf_init(&b);
	plan_op_describe(&b, op);
	printf("%c %s\n", plan_action_sign(op->action), b.data);
	sky_buf_release(&b);
}

static void print_problem_line(const struct plan_problem *p)
{
	struct sky_buf b;

	sky_buf_init(&b);
	plan_problem_describe(&b, p);
	printf("! %s\n", b.data);
	sky_buf_release(&b);
}

/*
 * The status section: tables not in sync yet and workers' errors, as the catalogs say
 * (progress.c). Not changes: it never counts in a summary or an exit status.
 */
static void print_status_text(const struct actual_state *state)
{
	struct sky_buf b;

	sky_buf_init(&b);
	if (progress_lines(&b, state) > 0)
		printf("\nStatus:\n%s", b.data);
	sky_buf_release(&b);
}

static void print_plan_text(const struct plan *plan, const struct actual_state *state)
{
	if (plan_is_empty(plan)) {
		printf("No changes. The cascade matches topology.yaml.\n");
	} else {
		for (size_t i = 0; i < plan->n_ops; i++)
			print_op_line(&plan->ops[i]);
		for (size_t i = 0; i < plan->n_problems; i++)
			print_problem_line(&plan->problems[i]);
		printf("\nPlan: %zu to add, %zu to change, %zu to remove.\n", plan->n_add,
		       plan->n_change, plan->n_remove);
	}
	print_status_text(state);
}

static void print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

/* The plan as JSON, with the nodes' table states ("nodes"). */
static void print_plan_json(const struct plan *plan, const struct actual_state *state)
{
	json_t *doc = plan_to_json(plan);

	json_object_set_new(doc, "nodes", progress_to_json(state));
	print_json(doc);
	json_decref(doc);
}

/* What an apply did, step by step. */
struct apply_result {
	enum plan_step *steps; /* one per plan op */
	char **errors;         /* errors[i]: why op i failed (NULL unless it failed) */
	size_t *blockers;      /* blockers[i]: the op a skipped op i depends on */
	size_t n_done[3];      /* indexed by enum plan_action */
	size_t n_failed;
	size_t n_skipped;
	size_t n_not_run;
	const char *first_error; /* borrowed from errors[] */
};

static void apply_result_init(struct apply_result *r, size_t n_ops)
{
	memset(r, 0, sizeof(*r));
	r->steps = sky_calloc(n_ops + 1, sizeof(*r->steps));
	r->errors = sky_calloc(n_ops + 1, sizeof(*r->errors));
	r->blockers = sky_calloc(n_ops + 1, sizeof(*r->blockers));
}

static void apply_result_release(struct apply_result *r, size_t n_ops)
{
	for (size_t i = 0; i < n_ops; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->steps);
	free(r->blockers);
}

/*
 * The plan and what happened to each step, for --json without --dry-run: every op gets
 * "status" (done / failed / skipped / not run), a failed one its "error", a skipped one the
 * text of the op it "depends_on"; the document gets "result" (applied / failed), "applied"
 * (counts), "error" (the first failure) and "errors" (all), and "nodes" (table states after
 * the apply).
 */
static void print_apply_json(const struct plan *plan, const struct apply_result *r,
                             const struct actual_state *after)
{
	static const char *const names[] = {
	    [PLAN_STEP_NOT_RUN] = "not run",
	    [PLAN_STEP_DONE] = "done",
	    [PLAN_STEP_FAILED] = "failed",
	    [PLAN_STEP_SKIPPED] = "skipped",
	};
	json_t *doc = plan_to_json(plan);
	json_t *ops = json_object_get(doc, "ops");
	json_t *errors = json_array();
	json_t *applied = json_object();

	for (size_t i = 0; i < plan->n_ops; i++) {
		json_t *op = json_array_get(ops, i);

		json_object_set_new(op, "status", json_string(names[r->steps[i]]));
		if (r->steps[i] == PLAN_STEP_FAILED) {
			json_object_set_new(op, "error", json_string(r->errors[i]));
			json_array_append_new(errors, json_string(r->errors[i]));
		} else if (r->steps[i] == PLAN_STEP_SKIPPED) {
			struct sky_buf b;

			sky_buf_init(&b);
			plan_op_describe(&b, &plan->ops[r->blockers[i]]);
			json_object_set_new(op, "depends_on", json_string(b.data));
			sky_buf_release(&b);
		}
	}
	json_object_set_new(doc, "result", json_string(r->n_failed ? "failed" : "applied"));
	json_object_set_new(applied, "add", json_integer((json_int_t)r->n_done[PLAN_ACTION_ADD]));
	json_object_set_new(applied, "change",
	                    json_integer((json_int_t)r->n_done[PLAN_ACTION_CHANGE]));
	json_object_set_new(applied, "remove",
	                    json_integer((json_int_t)r->n_done[PLAN_ACTION_REMOVE]));
	json_object_set_new(applied, "failed", json_integer((json_int_t)r->n_failed));
	json_object_set_new(applied, "skipped", json_integer((json_int_t)r->n_skipped));
	json_object_set_new(applied, "not_run", json_integer((json_int_t)r->n_not_run));
	json_object_set_new(doc, "applied", applied);
	if (r->first_error)
		json_object_set_new(doc, "error", json_string(r->first_error));
	json_object_set_new(doc, "errors", errors);
	json_object_set_new(doc, "nodes", progress_to_json(after));
	print_json(doc);
	json_decref(doc);
}

/*
 * Run the plan's operations in order. A failure stops what depends on it and what its
 * scope rules out (plan_step_gate, docs/reconciler.md): a missing table is reported and
 * the rest goes on. Each failure goes to stderr when it happens.
 */
static void apply_steps(struct apply_result *r, const struct plan *plan,
                        const struct admin_session *session, const struct apply_opts *opts)
{
	enum plan_scope scope = PLAN_SCOPE_ALL;

	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		struct sky_error err;
		struct sky_buf line;
		enum plan_gate gate;
		enum plan_scope s;

		gate = plan_step_gate(plan, i, r->steps, scope, &r->blockers[i]);
		if (gate == PLAN_GATE_HOLD) {
			r->n_not_run++;
			continue;
		}
		sky_buf_init(&line);
		plan_op_describe(&line, op);
		if (gate == PLAN_GATE_SKIP) {
			r->steps[i] = PLAN_STEP_SKIPPED;
			r->n_skipped++;
			if (!opts->json) {
				struct sky_buf dep;

				sky_buf_init(&dep);
				plan_op_describe(&dep, &plan->ops[r->blockers[i]]);
				printf("%c %s ... skipped: \"%s\" did not succeed\n",
				       plan_action_sign(op->action), line.data, dep.data);
				sky_buf_release(&dep);
			}
			sky_debug("step %zu/%zu skipped: %s", i + 1, plan->n_ops, line.data);
			sky_buf_release(&line);
			continue;
		}
		if (!opts->json) {
			printf("%c %s ... ", plan_action_sign(op->action), line.data);
			fflush(stdout);
		}
		sky_debug("step %zu/%zu: %s", i + 1, plan->n_ops, line.data);
		sky_buf_release(&line);
		sky_error_clear(&err);
		if (admin_op_run(session, op, &err) < 0) {
			r->steps[i] = PLAN_STEP_FAILED;
			r->errors[i] = sky_strdup(err.message);
			if (!r->first_error)
				r->first_error = r->errors[i];
			r->n_failed++;
			if (!opts->json)
				printf("failed\n");
			fflush(stdout);
			fprintf(stderr, "error: %s\n", err.message);
			s = plan_failure_scope(op, err.sqlstate);
			if (s < scope)
				scope = s;
			continue;
		}
		r->steps[i] = PLAN_STEP_DONE;
		r->n_done[op->action]++;
		if (!opts->json) {
			printf("done\n");
			fflush(stdout);
		}
	}
}

/*
 * Apply the plan, then read the catalogs again for the status section (what was just added
 * is pending now, what was removed is gone). Returns the exit code.
 */
static int apply_run(const struct plan *plan, const struct admin_session *session,
                     const struct apply_opts *opts)
{
	struct apply_result r;
	struct actual_state *after = NULL;
	struct sky_error err;

	apply_result_init(&r, plan->n_ops);
	apply_steps(&r, plan, session, opts);
	sky_error_clear(&err);
	if (catalog_state_read(&after, session->conns, session->topo, &err) < 0)
		sky_debug("could not read the catalogs after applying: %s", err.message);
	if (opts->json) {
		print_apply_json(plan, &r, after);
	} else {
		if (r.n_failed == 0) {
			printf("\nApply complete: %zu added, %zu changed, %zu removed.\n",
			       r.n_done[PLAN_ACTION_ADD], r.n_done[PLAN_ACTION_CHANGE],
			       r.n_done[PLAN_ACTION_REMOVE]);
		} else {
			printf("\nApply failed: %zu added, %zu changed, %zu removed, %zu failed",
			       r.n_done[PLAN_ACTION_ADD], r.n_done[PLAN_ACTION_CHANGE],
			       r.n_done[PLAN_ACTION_REMOVE], r.n_failed);
			if (r.n_skipped)
				printf(", %zu skipped", r.n_skipped);
			if (r.n_not_run)
				printf(", %zu not run", r.n_not_run);
			printf(".\n");
		}
		print_status_text(after);
	}
	fflush(stdout);
	if (r.n_failed)
		fprintf(stderr, "error: %zu of %zu operations failed\n", r.n_failed, plan->n_ops);
	actual_state_free(after);
	apply_result_release(&r, plan->n_ops);
	return r.n_failed ? EXIT_ERROR : EXIT_OK;
}

int cmd_apply(int argc, char **argv)
{
	struct apply_opts opts;
	struct topology *topo = NULL;
	struct actual_state *actual = NULL;
	struct plan *plan = NULL;
	struct plan_options popts;
	PGconn **conns = NULL;
	char *sql_version = NULL;
	char *sql_digest = NULL;
	struct sky_error err;
	int ret = EXIT_ERROR;
	int rc;

	sky_error_clear(&err);
	rc = apply_opts_parse(&opts, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "try \"skyreconcile --help\"\n");
		return rc > 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (opts.verbose)
		sky_log_set_level(SKY_LOG_DEBUG);
	/* defaults a DSN can override: do not hang on a dead host, say who we are */
	setenv("PGCONNECT_TIMEOUT", "10", 0);
	setenv("PGAPPNAME", "skyreconcile", 0);

	if (source_topology_load(&topo, &opts.source, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	if (admin_sql_version(&sql_version, sky_sql_install, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	sql_digest = admin_sql_digest(sky_sql_install);
	conns = sky_calloc(topo->n_nodes + 1, sizeof(*conns));
	if (catalog_state_read(&actual, conns, topo, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}
	memset(&popts, 0, sizeof(popts));
	popts.sql_version = sql_version;
	popts.sql_digest = sql_digest;
	if (plan_build(&plan, topo, actual, &popts, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		goto out;
	}

	if (plan->n_problems > 0 || opts.dry_run || plan->n_ops == 0) {
		if (opts.json)
			print_plan_json(plan, actual);
		else
			print_plan_text(plan, actual);
		fflush(stdout);
		if (plan->n_problems > 0) {
			fprintf(stderr, "error: %zu problem%s in the plan%s\n", plan->n_problems,
			        plan->n_problems == 1 ? "" : "s",
			        opts.dry_run ? "" : "; nothing was applied");
			ret = EXIT_ERROR;
		} else {
			ret = plan->n_ops > 0 ? EXIT_CHANGES : EXIT_OK;
		}
		goto out;
	}

	{
		struct admin_session session = {
		    .topo = topo,
		    .conns = conns,
		    .install_sql = sky_sql_install,
		    .sql_version = sql_version,
		    .sql_digest = sql_digest,
		    .wait_ms = opts.wait_s * 1000,
		};

		ret = apply_run(plan, &session, &opts);
	}
out:
	plan_free(plan);
	actual_state_free(actual);
	if (topo)
		catalog_conns_close(conns, topo->n_nodes);
	free(conns);
	free(sql_version);
	free(sql_digest);
	topology_free(topo);
	return ret;
}
