/*
 * plan_render: a plan as text and JSON (see plan.h): the operation lines of --dry-run and
 * apply, the problems, the JSON document. No I/O, and never a DSN (member operations carry one
 * in `location`, which nothing here prints).
 */
#include "plan.h"

#include <string.h>

char plan_action_sign(enum plan_action action)
{
	switch (action) {
	case PLAN_ACTION_ADD:
		return '+';
	case PLAN_ACTION_CHANGE:
		return '~';
	case PLAN_ACTION_REMOVE:
		return '-';
	}
	return '?';
}

const char *plan_op_kind_name(enum plan_op_kind kind)
{
	static const char *const names[PLAN_OP_KIND_COUNT] = {
	    [PLAN_OP_INSTALL] = "install",
	    [PLAN_OP_UPGRADE] = "upgrade",
	    [PLAN_OP_ADD_MEMBER] = "add_member",
	    [PLAN_OP_UPDATE_MEMBER] = "update_member",
	    [PLAN_OP_CREATE_ROOT] = "create_root",
	    [PLAN_OP_CREATE_BRANCH] = "create_branch",
	    [PLAN_OP_CREATE_LEAF] = "create_leaf",
	    [PLAN_OP_ADD_TABLE] = "add_table",
	    [PLAN_OP_SET_PARALLEL_COPIES] = "set_parallel_copies",
	    [PLAN_OP_SET_TICKER] = "set_ticker",
	    [PLAN_OP_REMOVE_TABLE] = "remove_table",
	    [PLAN_OP_RENAME] = "rename",
	    [PLAN_OP_SWITCHOVER] = "switchover",
	    [PLAN_OP_FENCE] = "fence",
	    [PLAN_OP_FAILOVER] = "failover",
	    [PLAN_OP_REJOIN] = "rejoin",
	    [PLAN_OP_ADD_SEQUENCE] = "add_sequence",
	    [PLAN_OP_REMOVE_SEQUENCE] = "remove_sequence",
	    [PLAN_OP_PAUSE] = "pause",
	    [PLAN_OP_RESUME] = "resume",
	    [PLAN_OP_CHANGE_PROVIDER] = "change_provider",
	    [PLAN_OP_UNREGISTER] = "unregister_subscriber",
	    [PLAN_OP_DROP_NODE] = "drop_node",
	};

	if ((int)kind < 0 || kind >= PLAN_OP_KIND_COUNT || !names[kind])
		return "unknown";
	return names[kind];
}

void plan_op_describe(struct sky_buf *out, const struct plan_op *op)
{
	sky_buf_addf(out, "%s: ", op->node);
	switch (op->kind) {
	case PLAN_OP_INSTALL:
		sky_buf_addf(out, "install pgq_set %s", op->to);
		break;
	case PLAN_OP_UPGRADE:
		sky_buf_addf(out, "upgrade pgq_set %s -> %s", op->from, op->to);
		break;
	case PLAN_OP_ADD_MEMBER:
		sky_buf_addf(out, "add member \"%s\"", op->subject);
		break;
	case PLAN_OP_UPDATE_MEMBER:
		if (op->to && strcmp(op->to, "location") != 0 &&
		    strncmp(op->to, "location", 8) != 0)
			sky_buf_addf(out, "mark member \"%s\" %s", op->subject, op->to);
		else if (op->to && strcmp(op->to, "location") != 0)
			sky_buf_addf(out, "update member \"%s\" location, mark it %s", op->subject,
			             op->to + strlen("location, "));
		else
			sky_buf_addf(out, "update member \"%s\" location", op->subject);
		break;
	case PLAN_OP_CREATE_ROOT:
		sky_buf_addf(out, "create root of cascade \"%s\"", op->subject);
		break;
	case PLAN_OP_CREATE_BRANCH:
		sky_buf_addf(out, "create branch (provider %s)", op->provider);
		break;
	case PLAN_OP_CREATE_LEAF:
		sky_buf_addf(out, "create leaf (provider %s)", op->provider);
		break;
	case PLAN_OP_ADD_TABLE:
		sky_buf_addf(out, "add table %s", op->subject);
		break;
	case PLAN_OP_SET_PARALLEL_COPIES:
		sky_buf_addf(out, "set parallel_copies %s -> %s", op->from, op->to);
		break;
	case PLAN_OP_SET_TICKER:
		sky_buf_addf(out, "set %s %s -> %s", op->subject, op->from, op->to);
		break;
	case PLAN_OP_REMOVE_TABLE:
		sky_buf_addf(out, "remove table %s", op->subject);
		break;
	case PLAN_OP_RENAME:
		sky_buf_addf(out, "rename %s -> %s: pause it, rename it on every node, resume",
		             op->subject, op->node);
		break;
	case PLAN_OP_SWITCHOVER:
		sky_buf_addf(out,
		             "switchover %s -> %s: lock writers on %s, final tick, wait for %s, "
		             "promote %s, attach %s under %s%s",
		             op->from, op->node, op->from, op->node, op->node, op->from,
		             op->provider,
		             op->subject && strcmp(op->subject, "leaf") == 0 ? " as a leaf" : "");
		break;
	case PLAN_OP_FENCE:
		sky_buf_adds(out, "fence (dead): refuse writes, stop its ticks, stop its worker");
		break;
	case PLAN_OP_ADD_SEQUENCE:
		sky_buf_addf(out, "add sequence %s (it follows the root)", op->subject);
		break;
	case PLAN_OP_REMOVE_SEQUENCE:
		sky_buf_addf(out, "remove sequence %s", op->subject);
		break;
	case PLAN_OP_REJOIN:
		sky_buf_addf(out,
		             "rejoin under %s: write its lost transactions to %s, re-create it, "
		             "copy its tables from %s",
		             op->provider, op->to, op->provider);
		break;
	case PLAN_OP_FAILOVER:
		sky_buf_addf(out, "failover from %s (dead): survivors' last ticks: %s; ", op->from,
		             op->survivors ? op->survivors : "none");
		if (op->subject)
			sky_buf_addf(out, "catch up %s from %s to tick %s, ", op->node, op->subject,
			             op->to);
		sky_buf_addf(
		    out,
		    "promote %s; lost: whatever %s committed after tick %s (exact count at "
		    "its rejoin)",
		    op->node, op->from, op->to);
		break;
	case PLAN_OP_PAUSE:
		sky_buf_adds(out, "pause: the worker stops between batches and acknowledges");
		break;
	case PLAN_OP_RESUME:
		sky_buf_adds(out, "resume");
		break;
	case PLAN_OP_CHANGE_PROVIDER:
		sky_buf_addf(out,
		             "change provider %s -> %s: pause, register on %s at its own tick, "
		             "switch, %s, unregister from %s",
		             op->from, op->provider, op->provider,
		             op->paused ? "stay paused" : "resume", op->from);
		break;
	case PLAN_OP_UNREGISTER:
		sky_buf_addf(out, "unregister subscriber \"%s\" (it pulls from another provider)",
		             op->subject);
		break;
	case PLAN_OP_DROP_NODE:
		sky_buf_adds(out, "drop node: unregister it from its provider, remove its member "
		                  "rows everywhere");
		break;
	case PLAN_OP_KIND_COUNT:
		sky_buf_adds(out, "unknown operation");
		break;
	}
}

void plan_problem_describe(struct sky_buf *out, const struct plan_problem *problem)
{
	if (problem->node)
		sky_buf_addf(out, "%s: ", problem->node);
	sky_buf_adds(out, problem->message);
}

json_t *plan_op_to_json(const struct plan_op *op)
{
	json_t *o = json_object();
	char sign[2] = {plan_action_sign(op->action), '\0'};
	struct sky_buf text;

	json_object_set_new(o, "action", json_string(sign));
	json_object_set_new(o, "op", json_string(plan_op_kind_name(op->kind)));
	json_object_set_new(o, "node", json_string(op->node));
	switch (op->kind) {
	case PLAN_OP_ADD_MEMBER:
	case PLAN_OP_UPDATE_MEMBER:
		json_object_set_new(o, "member", json_string(op->subject));
		json_object_set_new(o, "dead", json_boolean(op->dead));
		break;
	case PLAN_OP_ADD_TABLE:
		json_object_set_new(o, "table", json_string(op->subject));
		json_object_set_new(o, "create", json_boolean(op->create));
		break;
	case PLAN_OP_REMOVE_TABLE:
		json_object_set_new(o, "table", json_string(op->subject));
		break;
	case PLAN_OP_RENAME:
		json_object_set_new(o, "old_name", json_string(op->subject));
		break;
	case PLAN_OP_UNREGISTER:
		json_object_set_new(o, "subscriber", json_string(op->subject));
		break;
	case PLAN_OP_CHANGE_PROVIDER:
		json_object_set_new(o, "paused", json_boolean(op->paused));
		break;
	case PLAN_OP_SWITCHOVER:
		json_object_set_new(o, "old_root", json_string(op->from));
		break;
	case PLAN_OP_REJOIN:
		json_object_set_new(o, "lost_file", json_string(op->to));
		break;
	case PLAN_OP_ADD_SEQUENCE:
	case PLAN_OP_REMOVE_SEQUENCE:
		json_object_set_new(o, "sequence", json_string(op->subject));
		break;
	case PLAN_OP_SET_TICKER:
		json_object_set_new(o, "setting", json_string(op->subject));
		break;
	case PLAN_OP_FAILOVER:
		json_object_set_new(o, "dead_root", json_string(op->from));
		json_object_set_new(o, "source",
		                    op->subject ? json_string(op->subject) : json_null());
		json_object_set_new(o, "last_surviving_tick", json_string(op->to));
		json_object_set_new(o, "survivors",
		                    json_string(op->survivors ? op->survivors : ""));
		break;
	default:
		break;
	}
	if (op->provider)
		json_object_set_new(o, "provider", json_string(op->provider));
	if (op->from)
		json_object_set_new(o, "from", json_string(op->from));
	if (op->to)
		json_object_set_new(o, "to", json_string(op->to));
	sky_buf_init(&text);
	plan_op_describe(&text, op);
	json_object_set_new(o, "text", json_string(text.data));
	sky_buf_release(&text);
	return o;
}

json_t *plan_to_json(const struct plan *plan)
{
	json_t *root = json_object();
	json_t *ops = json_array();
	json_t *problems = json_array();
	json_t *summary = json_object();

	json_object_set_new(root, "cascade", json_string(plan->cascade));
	json_object_set_new(root, "changes", json_boolean(plan->n_ops > 0));
	for (size_t i = 0; i < plan->n_ops; i++)
		json_array_append_new(ops, plan_op_to_json(&plan->ops[i]));
	for (size_t i = 0; i < plan->n_problems; i++) {
		json_t *p = json_object();

		json_object_set_new(p, "node",
		                    plan->problems[i].node ? json_string(plan->problems[i].node)
		                                           : json_null());
		json_object_set_new(p, "message", json_string(plan->problems[i].message));
		json_array_append_new(problems, p);
	}
	json_object_set_new(root, "ops", ops);
	json_object_set_new(root, "problems", problems);
	json_object_set_new(summary, "add", json_integer((json_int_t)plan->n_add));
	json_object_set_new(summary, "change", json_integer((json_int_t)plan->n_change));
	json_object_set_new(summary, "remove", json_integer((json_int_t)plan->n_remove));
	json_object_set_new(root, "summary", summary);
	return root;
}
