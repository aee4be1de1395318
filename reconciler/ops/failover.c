/*
 * failover (DESIGN invariant 9) and fencing.
 *
 * fence: a node the file marks dead, whenever it is reachable, first thing: its replicated
 * tables refuse application writes, its queue takes no more ticks or events, its worker is
 * paused and refuses to run (pgq_set.fence). Between its return and the next reconcile it is
 * not fenced: the reconciler has to see it (docs/reconciler.md says what that window means).
 *
 * failover from the dead root D to the branch N (the file's new root):
 *   1. when a sibling M holds a more advanced position than N (its last tick T is the highest
 *      of the branches D served): N pulls from M at its own tick until it reached T
 *   2. pause N and wait until its worker is between batches
 *   3. promote N: its queue copy becomes the queue; sequences owned by replicated columns are
 *      moved past the highest key plus a safety margin (D's last values died with it)
 *   4. M stops pinning N; resume N as the file says
 * The other survivors re-attach at their own ticks by the change-provider operations that the
 * plan puts after this one (their old provider, D, is skipped when they unregister).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "sky_log.h"
#include "sky_mem.h"

/* keys used on the dead root after the last surviving tick are not known: stay this far above */
#define FAILOVER_SEQUENCE_MARGIN "1000"

int ops_fence_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};

	if (admin_node_exec(NULL, s, op->node, "select pgq_set.fence($1)", 1, params, err) < 0)
		return -1;
	admin_step_done(op->node, "fenced");
	return 0;
}

static long long node_last_tick(const struct admin_session *s, const char *node,
                                struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};
	PGresult *res = NULL;
	long long tick = -1;

	if (admin_node_exec(&res, s, node, "select last_tick from pgq_set.get_node($1)", 1, params,
	                    err) < 0)
		return -1;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		tick = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		sky_error_set(err, "node \"%s\": no position in cascade \"%s\"", node,
		              s->topo->cascade);
	PQclear(res);
	return tick;
}

/* Step 1: N pulls from M at its own tick until it has T. */
static int catch_up(const struct admin_session *s, const char *node, const char *source,
                    long long target, struct sky_error *err)
{
	const char *cascade = s->topo->cascade;
	long long have = node_last_tick(s, node, err);
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	bool moved;
	int waited = 0;

	if (have < 0)
		return -1;
	/* a re-run finds it pulling from the source already: its registration stays as it is */
	if (admin_node_exec(&res, s, node, "select provider_node from pgq_set.get_node($1)", 1,
	                    params, err) < 0)
		return -1;
	moved = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	        strcmp(PQgetvalue(res, 0, 0), source) == 0;
	PQclear(res);
	if (have < target && !moved) {
		char *tick = sky_asprintf("%lld", have);
		const char *pparams[2] = {cascade, source};
		int rc;

		rc = ops_register_at(s, source, node, tick, err);
		free(tick);
		if (rc < 0)
			return -1;
		admin_step_done(source, "new root registered for its catch-up");
		if (admin_node_exec(NULL, s, node, "select pgq_set.set_provider($1, $2)", 2,
		                    pparams, err) < 0 ||
		    ops_node_set_paused(s, node, false, err) < 0)
			return -1;
		admin_step_done(node, "catching up from the most advanced survivor");
	}
	while (have < target) {
		if (waited >= s->wait_ms)
			return sky_error_set(
			    err,
			    "node \"%s\": at tick %lld, short of tick %lld of \"%s\" "
			    "after %d s (is its worker running?)",
			    node, have, target, source, s->wait_ms / 1000);
		ops_sleep_ms(100);
		waited += 100;
		have = node_last_tick(s, node, err);
		if (have < 0)
			return -1;
	}
	return 0;
}

int ops_failover_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	const char *cascade = s->topo->cascade;
	const char *node = op->node;
	const char *pparams[3] = {cascade, "{}", FAILOVER_SEQUENCE_MARGIN};

	if (op->subject && catch_up(s, node, op->subject, strtoll(op->to, NULL, 10), err) < 0)
		return -1;
	if (ops_node_quiesce(s, node, err) < 0)
		return -1;
	if (admin_node_exec(NULL, s, node, "select pgq_set.promote_root($1, $2::jsonb, $3)", 3,
	                    pparams, err) < 0)
		return -1;
	sky_info("%s: promoted to root at tick %s (failover from \"%s\")", node, op->to, op->from);
	admin_step_done(node, "promoted to root");
	if (op->subject) {
		const char *uparams[2] = {cascade, node};

		if (admin_node_exec(NULL, s, op->subject,
		                    "select pgq_set.unregister_subscriber($1, $2)", 2, uparams,
		                    err) < 0)
			return -1;
		admin_step_done(op->subject, "new root unregistered");
	}
	if (ops_node_set_paused(s, node, op->paused, err) < 0)
		return -1;
	admin_step_done(node, op->paused ? "stays paused" : "resumed");
	return 0;
}
