/*
 * apply: run a plan step by step (see apply.h, docs/reconciler.md "What still runs after a
 * failure"). No I/O: the runner does the work, the observer does the printing.
 */
#include "apply.h"

#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"

const char *apply_step_name(enum plan_step step)
{
	switch (step) {
	case PLAN_STEP_DONE:
		return "done";
	case PLAN_STEP_FAILED:
		return "failed";
	case PLAN_STEP_SKIPPED:
		return "skipped";
	case PLAN_STEP_NOT_RUN:
		break;
	}
	return "not run";
}

static void apply_observe(const struct apply_runner *runner, const struct plan *plan, size_t i,
                          enum apply_event ev, const struct apply_result *r)
{
	if (runner->observe)
		runner->observe(runner->observe_ctx, plan, i, ev, r);
}

int apply_plan(struct apply_result *out, const struct plan *plan, const struct apply_runner *runner)
{
	struct apply_result *r = out;
	enum plan_scope scope = PLAN_SCOPE_ALL;

	memset(r, 0, sizeof(*r));
	r->n_ops = plan->n_ops;
	r->steps = sky_calloc(plan->n_ops + 1, sizeof(*r->steps));
	r->errors = sky_calloc(plan->n_ops + 1, sizeof(*r->errors));
	r->sqlstates = sky_calloc(plan->n_ops + 1, sizeof(*r->sqlstates));
	r->blockers = sky_calloc(plan->n_ops + 1, sizeof(*r->blockers));

	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		struct sky_error err;
		enum plan_gate gate;
		enum plan_scope s;

		if (runner->stop && *runner->stop) {
			r->stopped = true;
			r->n_not_run += plan->n_ops - i;
			break;
		}
		gate = plan_step_gate(plan, i, r->steps, scope, &r->blockers[i]);
		if (gate == PLAN_GATE_HOLD) {
			r->n_not_run++;
			continue;
		}
		if (gate == PLAN_GATE_SKIP) {
			r->steps[i] = PLAN_STEP_SKIPPED;
			r->n_skipped++;
			apply_observe(runner, plan, i, APPLY_EVENT_SKIPPED, r);
			continue;
		}
		apply_observe(runner, plan, i, APPLY_EVENT_START, r);
		sky_error_clear(&err);
		if (runner->run(runner->ctx, op, &err) < 0) {
			r->steps[i] = PLAN_STEP_FAILED;
			r->errors[i] = sky_strdup(err.message[0] ? err.message : "unknown error");
			memcpy(r->sqlstates[i], err.sqlstate, sizeof(r->sqlstates[i]));
			r->sqlstates[i][5] = '\0';
			if (!r->first_error)
				r->first_error = r->errors[i];
			r->n_failed++;
			s = plan_failure_scope(op, err.sqlstate);
			if (s < scope)
				scope = s;
			apply_observe(runner, plan, i, APPLY_EVENT_FAILED, r);
			continue;
		}
		r->steps[i] = PLAN_STEP_DONE;
		r->n_done[op->action]++;
		apply_observe(runner, plan, i, APPLY_EVENT_DONE, r);
	}
	return r->n_failed || r->stopped || r->n_not_run || r->n_skipped ? -1 : 0;
}

size_t apply_result_n_done(const struct apply_result *r)
{
	return r->n_done[PLAN_ACTION_ADD] + r->n_done[PLAN_ACTION_CHANGE] +
	       r->n_done[PLAN_ACTION_REMOVE];
}

void apply_result_release(struct apply_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_ops; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->sqlstates);
	free(r->steps);
	free(r->blockers);
	memset(r, 0, sizeof(*r));
}
