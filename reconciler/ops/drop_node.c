/*
 * drop node: a node removed from the topology is unregistered on every node that serves it
 * (so it stops pinning retention and the global watermark) and its member rows go. Its own
 * database is left alone: the topology no longer names it, and its data stays. The plan
 * moves its subscribers to other providers before (plan.c phases), and pgq_set.drop_member
 * refuses while a node still pulls from it.
 */
#include "ops.h"

int ops_unregister_run(const struct admin_session *s, const struct plan_op *op,
                       struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, op->subject};

	if (admin_node_exec(NULL, s, op->node, "select pgq_set.unregister_subscriber($1, $2)", 2,
	                    params, err) < 0)
		return -1;
	admin_step_done(op->node, "subscriber unregistered");
	return 0;
}

int ops_drop_node_run(const struct admin_session *s, const struct plan_op *op,
                      struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, op->node};

	for (size_t i = 0; i < s->topo->n_nodes; i++) {
		const char *name = s->topo->nodes[i].name;

		if (admin_node_exec(NULL, s, name, "select pgq_set.unregister_subscriber($1, $2)",
		                    2, params, err) < 0)
			return -1;
	}
	admin_step_done(op->node, "unregistered everywhere");
	for (size_t i = 0; i < s->topo->n_nodes; i++) {
		const char *name = s->topo->nodes[i].name;

		if (admin_node_exec(NULL, s, name, "select pgq_set.drop_member($1, $2)", 2, params,
		                    err) < 0)
			return -1;
	}
	admin_step_done(op->node, "member rows removed");
	return 0;
}
