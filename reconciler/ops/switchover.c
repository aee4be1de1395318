/*
 * switchover (DESIGN invariant 8): the root moves from the live node `from` (R) to the branch
 * `node` (N) without losing an event.
 *
 *    1. lock writers on R: its replicated tables refuse application writes from now on
 *    2. pause R's worker (a root's worker queues watermark events)
 *    3. final tick F on R, which holds every event R captured; pgqd stops ticking R
 *    4. wait until N has applied F
 *    5. pause N's worker
 *    6. promote N with R's sequence positions: its queue copy becomes the queue (ids continue
 *       above everything copied), capture triggers instead of write-deny
 *    7. register R on its new provider P (the file's provider of R) at F
 *    8. demote R to a branch (or leaf: no queue) under P at F: write-deny instead of capture
 *    9. unregister N on its old provider
 *   10. resume N and R as the file says
 *
 * Every step is safe to re-run and the plan finds an interrupted switchover again (two roots,
 * or the old root with writers locked): a re-run repeats what is done as no-ops and goes on.
 * Writers on R are blocked from step 1 until the application connects to N: steps 2 to 6.
 */
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "sky_log.h"
#include "sky_mem.h"

/* Run a one-value query on node; *out is a new string (NULL for SQL NULL). */
static int node_value(char **out, const struct admin_session *s, const char *node, const char *sql,
                      int nparams, const char *const *params, struct sky_error *err)
{
	PGresult *res = NULL;

	if (admin_node_exec(&res, s, node, sql, nparams, params, err) < 0)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return sky_error_set(err, "node \"%s\": expected one row", node);
	}
	*out = PQgetisnull(res, 0, 0) ? NULL : sky_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* A deadlock with the application's transactions while locking tables is retried. */
static int lock_writers(const struct admin_session *s, const char *root, struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};

	for (int attempt = 1;; attempt++) {
		if (admin_node_exec(NULL, s, root, "select pgq_set.lock_writers($1)", 1, params,
		                    err) == 0)
			return 0;
		if (!sky_sqlstate_is_retryable(err->sqlstate) || attempt >= 5)
			return -1;
		sky_debug("%s: locking writers, attempt %d: %s", root, attempt, err->message);
		ops_sleep_ms(100 * attempt);
	}
}

/* Wait until node's completed tick is at least tick. */
static int wait_for_tick(const struct admin_session *s, const char *node, long long tick,
                         struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};
	int waited = 0;

	for (;;) {
		char *v = NULL;
		long long have;

		if (node_value(&v, s, node, "select last_tick from pgq_set.get_node($1)", 1, params,
		               err) < 0)
			return -1;
		have = v ? strtoll(v, NULL, 10) : -1;
		free(v);
		if (have >= tick)
			return 0;
		if (waited >= s->wait_ms)
			return sky_error_set(err,
			                     "node \"%s\": completed tick %lld, still short of the "
			                     "final tick %lld after %d s (is its worker running?)",
			                     node, have, tick, s->wait_ms / 1000);
		ops_sleep_ms(50);
		waited += 50;
	}
}

int ops_switchover_run(const struct admin_session *s, const struct plan_op *op,
                       struct sky_error *err)
{
	const char *cascade = s->topo->cascade;
	const char *root = op->from, *node = op->node;
	const struct topo_node *old = topology_node(s->topo, root);
	const struct topo_node *new = topology_node(s->topo, node);
	char *role = NULL, *final = NULL, *seqs = NULL, *node_prov = NULL;
	int ret = -1;

	if (!old || !new || !old->provider)
		return sky_error_set(err, "switchover %s -> %s: not in the topology as planned",
		                     root, node);
	{
		const char *params[1] = {cascade};

		if (node_value(&role, s, root, "select node_role from pgq_set.get_node($1)", 1,
		               params, err) < 0)
			goto out;
		if (node_value(&node_prov, s, node,
		               "select provider_node from pgq_set.get_node($1)", 1, params,
		               err) < 0)
			goto out;
	}
	if (role && strcmp(role, "root") == 0) {
		const char *params[1] = {cascade};

		if (lock_writers(s, root, err) < 0)
			goto out;
		admin_step_done(root, "writers locked");
		if (ops_node_quiesce(s, root, err) < 0)
			goto out;
		if (node_value(&final, s, root, "select pgq_set.final_tick($1)", 1, params, err) <
		    0)
			goto out;
		if (!final) {
			sky_error_set(err, "node \"%s\": the queue has no tick", root);
			goto out;
		}
		sky_info("%s: final tick %s", root, final);
		admin_step_done(root, "final tick");
		if (wait_for_tick(s, node, strtoll(final, NULL, 10), err) < 0)
			goto out;
		admin_step_done(node, "final tick applied");
		if (ops_node_quiesce(s, node, err) < 0)
			goto out;
		if (node_value(&seqs, s, root, "select pgq_set.sequence_positions($1)::text", 1,
		               params, err) < 0)
			goto out;
		{
			const char *pparams[2] = {cascade, seqs};

			if (admin_node_exec(NULL, s, node,
			                    "select pgq_set.promote_root($1, $2::jsonb)", 2,
			                    pparams, err) < 0)
				goto out;
		}
		admin_step_done(node, "promoted to root");
		if (ops_register_at(s, old->provider, root, final, err) < 0)
			goto out;
		admin_step_done(old->provider, "old root registered at the final tick");
		{
			const char *dparams[4] = {cascade, old->provider, final,
			                          sky_role_name(old->role)};

			if (admin_node_exec(NULL, s, root,
			                    "select pgq_set.demote_root($1, $2, $3, $4)", 4,
			                    dparams, err) < 0)
				goto out;
		}
		admin_step_done(root, "demoted");
	}
	/* the new root's old provider stops pinning it */
	if (node_prov && topology_node(s->topo, node_prov)) {
		const char *params[2] = {cascade, node};

		if (admin_node_exec(NULL, s, node_prov,
		                    "select pgq_set.unregister_subscriber($1, $2)", 2, params,
		                    err) < 0)
			goto out;
		admin_step_done(node_prov, "new root unregistered");
	}
	if (ops_node_set_paused(s, node, new->paused, err) < 0 ||
	    ops_node_set_paused(s, root, old->paused, err) < 0)
		goto out;
	admin_step_done(node, "workers resumed");
	ret = 0;
out:
	free(role);
	free(final);
	free(seqs);
	free(node_prov);
	return ret;
}
