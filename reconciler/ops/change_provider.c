/*
 * change provider (DESIGN invariants 5, 6): the node re-attaches to another provider at its
 * own position.
 *
 *   1. pause the node and wait until its worker is between batches
 *   2. register it on the new provider at its completed tick (waiting while the new provider
 *      has not reached that tick yet); global retention keeps the tick there otherwise
 *   3. switch the node's provider in its catalog (the worker reconnects on its next loop)
 *   4. resume it (unless the topology keeps it paused)
 *   5. unregister it on the old provider, which stops pinning it
 *
 * Re-running: once step 3 is done the plan no longer shows a provider change; a registration
 * left on the old provider is then planned as "unregister subscriber" (plan.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "sky_log.h"
#include "sky_mem.h"

/* The node's stored provider and completed tick. *provider is a new string (caller frees). */
static int node_position(char **provider, char **tick, const struct admin_session *s,
                         const char *node, struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};
	PGresult *res = NULL;
	int ret = -1;

	if (admin_node_exec(&res, s, node,
	                    "select provider_node, last_tick from pgq_set.get_node($1)", 1, params,
	                    err) < 0)
		goto out;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		sky_error_set(err, "node \"%s\": no position in cascade \"%s\"", node,
		              s->topo->cascade);
		goto out;
	}
	*provider = PQgetisnull(res, 0, 0) ? NULL : sky_strdup(PQgetvalue(res, 0, 0));
	*tick = sky_strdup(PQgetvalue(res, 0, 1));
	ret = 0;
out:
	PQclear(res);
	return ret;
}

int ops_change_provider_run(const struct admin_session *s, const struct plan_op *op,
                            struct sky_error *err)
{
	const char *node = op->node;
	char *stored = NULL, *tick = NULL;
	int ret = -1;

	if (node_position(&stored, &tick, s, node, err) < 0)
		goto out;
	if (!stored || strcmp(stored, op->provider) != 0) {
		const char *params[2] = {s->topo->cascade, op->provider};

		if (ops_node_quiesce(s, node, err) < 0)
			goto out;
		free(stored);
		free(tick);
		stored = tick = NULL;
		/* the position cannot move any more: read it again */
		if (node_position(&stored, &tick, s, node, err) < 0)
			goto out;
		if (ops_register_at(s, op->provider, node, tick, err) < 0)
			goto out;
		admin_step_done(op->provider, "subscriber registered at its own tick");
		if (admin_node_exec(NULL, s, node, "select pgq_set.set_provider($1, $2)", 2, params,
		                    err) < 0)
			goto out;
		admin_step_done(node, "provider switched");
	}
	if (ops_node_set_paused(s, node, op->paused, err) < 0)
		goto out;
	admin_step_done(node, op->paused ? "stays paused" : "resumed");
	/* a dead old provider (failover) is fenced and pins nothing that matters any more */
	if (op->from && topology_node(s->topo, op->from) &&
	    !topology_node(s->topo, op->from)->dead) {
		const char *params[2] = {s->topo->cascade, node};

		if (admin_node_exec(NULL, s, op->from,
		                    "select pgq_set.unregister_subscriber($1, $2)", 2, params,
		                    err) < 0)
			goto out;
		admin_step_done(op->from, "old registration removed");
	}
	ret = 0;
out:
	free(stored);
	free(tick);
	return ret;
}
