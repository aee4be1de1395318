/*
 * pause / resume (DESIGN invariant 6): the flag is set in the node's catalog; the worker
 * finishes the batch in flight, acknowledges (paused_ack) and idles until it is cleared.
 * The reconciler waits for the acknowledgement, so that what follows a pause (a provider
 * change, a rename) happens between batches.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "sky_log.h"
#include "sky_time.h"

void ops_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

int ops_node_set_paused(const struct admin_session *s, const char *node, bool paused,
                        struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, paused ? "true" : "false"};

	return admin_node_exec(NULL, s, node, "select pgq_set.set_paused($1, $2)", 2, params, err);
}

int ops_node_quiesce(const struct admin_session *s, const char *node, struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};
	long long deadline;
	PGresult *res = NULL;
	int ret = -1;

	if (ops_node_set_paused(s, node, true, err) < 0)
		goto out;
	deadline = sky_now_ms() + s->wait_ms;
	for (;;) {
		bool ack, running;

		PQclear(res);
		res = NULL;
		if (admin_node_exec(&res, s, node,
		                    "select n.paused_ack, pgq_set.worker_running($1)"
		                    " from pgq_set.node n where n.cascade = $1",
		                    1, params, err) < 0)
			goto out;
		if (PQntuples(res) != 1) {
			sky_error_set(err, "node \"%s\": not a node of cascade \"%s\"", node,
			              s->topo->cascade);
			goto out;
		}
		ack = PQgetvalue(res, 0, 0)[0] == 't';
		running = PQgetvalue(res, 0, 1)[0] == 't';
		if (ack || !running) {
			sky_debug("%s: quiescent (%s)", node,
			          ack ? "the worker acknowledged the pause" : "no worker running");
			break;
		}
		if (sky_now_ms() >= deadline) {
			sky_error_set(
			    err,
			    "node \"%s\": the worker did not acknowledge the pause within "
			    "%d s (it stays paused; run again to wait more)",
			    node, s->wait_ms / 1000);
			goto out;
		}
		ops_sleep_ms(100);
	}
	admin_step_done(node, "paused, worker quiescent");
	ret = 0;
out:
	PQclear(res);
	return ret;
}

int ops_pause_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	return ops_node_quiesce(s, op->node, err);
}

int ops_resume_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	if (ops_node_set_paused(s, op->node, false, err) < 0)
		return -1;
	admin_step_done(op->node, "resumed");
	return 0;
}

int ops_register_at(const struct admin_session *s, const char *provider, const char *node,
                    const char *tick, struct sky_error *err)
{
	const char *params[3] = {s->topo->cascade, node, tick};
	int waited = 0;

	for (;;) {
		if (admin_node_exec(NULL, s, provider,
		                    "select pgq_set.register_subscriber_at($1, $2, $3)", 3, params,
		                    err) == 0)
			return 0;
		if (strcmp(err->sqlstate, SKY_SQLSTATE_NO_TICK) != 0 || waited >= s->wait_ms)
			return -1;
		sky_debug("%s: waiting for tick %s: %s", provider, tick, err->message);
		ops_sleep_ms(100);
		waited += 100;
	}
}
