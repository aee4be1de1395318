/*
 * apply_print: text and JSON output of a plan and of an apply (see apply_print.h).
 */
#include "apply_print.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "progress.h"
#include "sky_mem.h"

void apply_print_observe(void *ctx, const struct plan *plan, size_t i, enum apply_event ev,
                         const struct apply_result *r)
{
	const bool json = ctx && *(const bool *)ctx;
	const struct plan_op *op = &plan->ops[i];
	struct sky_buf line;
	struct sky_buf dep;

	sky_buf_init(&line);
	sky_buf_init(&dep);
	switch (ev) {
	case APPLY_EVENT_START:
		if (!json) {
			plan_op_describe(&line, op);
			printf("%c %s ... ", plan_action_sign(op->action), line.data);
		}
		break;
	case APPLY_EVENT_DONE:
		if (!json)
			printf("done\n");
		break;
	case APPLY_EVENT_FAILED:
		if (!json)
			printf("failed\n");
		fflush(stdout);
		fprintf(stderr, "error: %s\n", r->errors[i]);
		break;
	case APPLY_EVENT_SKIPPED:
		if (!json) {
			plan_op_describe(&line, op);
			plan_op_describe(&dep, &plan->ops[r->blockers[i]]);
			printf("%c %s ... skipped: \"%s\" did not succeed\n",
			       plan_action_sign(op->action), line.data, dep.data);
		}
		break;
	}
	fflush(stdout);
	sky_buf_release(&line);
	sky_buf_release(&dep);
}

void apply_print_revision(const struct source_revision *rev)
{
	if (rev && rev->id[0])
		printf("Revision: %s %s\n\n", rev->short_id, rev->subject ? rev->subject : "");
}

json_t *apply_revision_json(const struct source_revision *rev)
{
	if (!rev || !rev->id[0])
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "id", rev->id, "short", rev->short_id, "subject",
	                 rev->subject ? rev->subject : "");
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

void apply_print_plan_text(const struct plan *plan, const struct actual_state *state)
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

/* plan_to_json with "revision" right after "cascade". */
static json_t *plan_doc(const struct plan *plan, const struct source_revision *rev)
{
	json_t *doc = plan_to_json(plan);
	json_t *r = apply_revision_json(rev);

	if (r) {
		/* rebuild to keep the key order readable: cascade, revision, the rest */
		json_t *ordered = json_object();
		const char *key;
		json_t *value;

		json_object_set(ordered, "cascade", json_object_get(doc, "cascade"));
		json_object_set_new(ordered, "revision", r);
		json_object_foreach(doc, key, value)
		{
			if (!json_object_get(ordered, key))
				json_object_set(ordered, key, value);
		}
		json_decref(doc);
		doc = ordered;
	}
	return doc;
}

void apply_print_plan_json(const struct plan *plan, const struct source_revision *rev,
                           const struct actual_state *state)
{
	json_t *doc = plan_doc(plan, rev);

	json_object_set_new(doc, "nodes", progress_to_json(state));
	print_json(doc);
	json_decref(doc);
}

void apply_print_result_text(const struct apply_result *r, const struct actual_state *after)
{
	if (r->n_failed == 0 && !r->stopped) {
		printf("\nApply complete: %zu added, %zu changed, %zu removed.\n",
		       r->n_done[PLAN_ACTION_ADD], r->n_done[PLAN_ACTION_CHANGE],
		       r->n_done[PLAN_ACTION_REMOVE]);
	} else {
		printf("\nApply %s: %zu added, %zu changed, %zu removed, %zu failed",
		       r->n_failed ? "failed" : "stopped", r->n_done[PLAN_ACTION_ADD],
		       r->n_done[PLAN_ACTION_CHANGE], r->n_done[PLAN_ACTION_REMOVE], r->n_failed);
		if (r->n_skipped)
			printf(", %zu skipped", r->n_skipped);
		if (r->n_not_run)
			printf(", %zu not run", r->n_not_run);
		printf(".\n");
	}
	print_status_text(after);
	fflush(stdout);
}

/*
 * Every op gets "status" (done / failed / skipped / not run), a failed one its "error", a
 * skipped one the text of the op it "depends_on"; the document gets "result" (applied /
 * failed / stopped), "applied" (counts), "error" (the first failure) and "errors" (all), and
 * "nodes" (table states after the apply).
 */
void apply_print_result_json(const struct plan *plan, const struct source_revision *rev,
                             const struct apply_result *r, const struct actual_state *after)
{
	json_t *doc = plan_doc(plan, rev);
	json_t *ops = json_object_get(doc, "ops");
	json_t *errors = json_array();
	json_t *applied = json_object();

	for (size_t i = 0; i < plan->n_ops; i++) {
		json_t *op = json_array_get(ops, i);

		json_object_set_new(op, "status", json_string(apply_step_name(r->steps[i])));
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
	json_object_set_new(doc, "result",
	                    json_string(r->n_failed  ? "failed"
	                                : r->stopped ? "stopped"
	                                             : "applied"));
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
