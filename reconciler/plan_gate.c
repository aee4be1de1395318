/*
 * plan_gate: which operations of a plan still run after one failed (plan.h, "Applying a
 * plan"; docs/reconciler.md). Pure functions over a built plan: the apply loop asks
 * plan_step_gate before each operation.
 */
#include "plan.h"

#include <string.h>

bool plan_op_is_table(const struct plan_op *op)
{
	return op->kind == PLAN_OP_ADD_TABLE || op->kind == PLAN_OP_REMOVE_TABLE;
}

enum plan_scope plan_failure_scope(const struct plan_op *op, const char *sqlstate)
{
	/* 42P01 undefined_table: the table is not there (and not to be created): the
	 * user's to fix, and nothing else waits for it */
	if (op->kind == PLAN_OP_ADD_TABLE && sqlstate && strcmp(sqlstate, "42P01") == 0)
		return PLAN_SCOPE_ALL;
	if (plan_op_is_table(op))
		return PLAN_SCOPE_TABLES;
	return PLAN_SCOPE_NONE;
}

bool plan_op_depends_on(const struct plan_op *later, const struct plan_op *earlier)
{
	if (later->kind != earlier->kind || !later->subject || !earlier->subject ||
	    strcmp(later->subject, earlier->subject) != 0)
		return false;
	switch (later->kind) {
	case PLAN_OP_ADD_TABLE:
		/* a node copies the table from its provider, which must have it registered */
		return later->provider && strcmp(later->provider, earlier->node) == 0;
	case PLAN_OP_REMOVE_TABLE:
		/* a provider stops replicating the table only after its subscribers did */
		return earlier->provider && strcmp(earlier->provider, later->node) == 0;
	default:
		return false;
	}
}

enum plan_gate plan_step_gate(const struct plan *plan, size_t i, const enum plan_step *steps,
                              enum plan_scope scope, size_t *blocker)
{
	const struct plan_op *op = &plan->ops[i];

	if (scope == PLAN_SCOPE_NONE || (scope == PLAN_SCOPE_TABLES && !plan_op_is_table(op)))
		return PLAN_GATE_HOLD;
	for (size_t j = 0; j < i; j++) {
		if (steps[j] != PLAN_STEP_FAILED && steps[j] != PLAN_STEP_SKIPPED)
			continue;
		if (!plan_op_depends_on(op, &plan->ops[j]))
			continue;
		if (blocker)
			*blocker = j;
		return PLAN_GATE_SKIP;
	}
	return PLAN_GATE_RUN;
}
