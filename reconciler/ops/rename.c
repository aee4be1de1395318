/*
 * rename (DESIGN invariant 10): the node's name changes wherever it is stored, on every node
 * (pgq_set.rename_node: the node row, member rows, providers, subscriber rows and the PgQ
 * consumer), without moving data; the node keeps its position. The node's worker is paused
 * meanwhile, so it never asks its provider for a batch under a name the provider does not
 * know yet.
 */
#include "ops.h"
#include "sky_log.h"

int ops_rename_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	const struct topo_node *tn = topology_node(s->topo, op->node);
	const char *params[3] = {s->topo->cascade, op->subject, op->node};

	if (!tn)
		return sky_error_set(err, "node \"%s\": not a node of the topology", op->node);
	if (tn->role != SKY_ROLE_ROOT && ops_node_quiesce(s, op->node, err) < 0)
		return -1;
	for (size_t i = 0; i < s->topo->n_nodes; i++) {
		const char *name = s->topo->nodes[i].name;

		if (admin_node_exec(NULL, s, name, "select pgq_set.rename_node($1, $2, $3)", 3,
		                    params, err) < 0)
			return -1;
		admin_step_done(name, "renamed");
	}
	if (tn->role != SKY_ROLE_ROOT && ops_node_set_paused(s, op->node, tn->paused, err) < 0)
		return -1;
	return 0;
}
