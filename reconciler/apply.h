/*
 * apply: the one apply loop. Runs a plan's operations in order against a runner, asking the
 * plan engine (plan_step_gate, plan_failure_scope) what may still run after a failure, and
 * records what happened to every operation. `skyreconcile` (cmd_apply.c), `skyreconcile watch`
 * (cmd_watch.c) and the unit tests (tests/unit/test_apply.c, with a fake runner) all call
 * apply_plan: there is no second copy of the gating.
 *
 * No I/O here: operations run through apply_runner.run (admin_op_run for real), and the
 * caller sees each step through apply_runner.observe (to print it), never through stdout.
 */
#ifndef SKY_APPLY_H
#define SKY_APPLY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "plan.h"
#include "sky_error.h"

/* What the observer is told about operation i. */
enum apply_event {
	APPLY_EVENT_START = 0, /* it is about to run */
	APPLY_EVENT_DONE,      /* it ran and succeeded */
	APPLY_EVENT_FAILED,    /* it ran and failed: result->errors[i] says why */
	APPLY_EVENT_SKIPPED,   /* not run: depends on result->blockers[i], which did not succeed */
};

/* What an apply did, step by step. Owned by the caller: apply_result_release. */
struct apply_result {
	size_t n_ops;
	enum plan_step *steps; /* one per plan op */
	char **errors;         /* errors[i]: why op i failed (NULL unless it failed) */
	char (*sqlstates)[6];  /* sqlstates[i]: the failure's SQLSTATE ("" when none) */
	size_t *blockers;      /* blockers[i]: the op a skipped op i depends on */
	size_t n_done[3];      /* indexed by enum plan_action */
	size_t n_failed;
	size_t n_skipped;
	size_t n_not_run;
	bool stopped;            /* *stop was set: the ops after the last one run are not run */
	const char *first_error; /* borrowed from errors[] (NULL when nothing failed) */
};

struct apply_runner {
	/* Run one operation: 0, or -1 with err set (err->sqlstate drives the failure scope). */
	int (*run)(void *ctx, const struct plan_op *op, struct sky_error *err);
	void *ctx;
	/* Optional: told about every operation run or skipped (i indexes plan->ops). */
	void (*observe)(void *ctx, const struct plan *plan, size_t i, enum apply_event ev,
	                const struct apply_result *result);
	void *observe_ctx;
	/* Optional: checked before each operation; when set, nothing more starts. */
	const volatile sig_atomic_t *stop;
};

/*
 * Run plan against runner. Fills *out (the caller releases it with apply_result_release,
 * also when this fails). Returns 0 when every operation ran and succeeded, -1 otherwise
 * (out->n_failed, out->stopped say which).
 */
int apply_plan(struct apply_result *out, const struct plan *plan,
               const struct apply_runner *runner);
void apply_result_release(struct apply_result *r);

/* Static name of a step for JSON and logs: "done", "failed", "skipped", "not run". */
const char *apply_step_name(enum plan_step step);

/* Number of operations that ran and succeeded. */
size_t apply_result_n_done(const struct apply_result *r);

#endif
