/*
 * rejoin: a fenced node (it was marked dead, a failover happened without it) comes back as a
 * branch or leaf under a live provider P, as the file now says.
 *
 *   1. find where its history forked: the newest tick of its queue that P holds too, the same
 *      tick (id and time); ticks after it were made only here
 *   2. write every committed event it queued after that tick to a JSON file (the lost
 *      transactions, for the operator: pgq_set.lost_events)
 *   3. reset it (pgq_set.reset_node): triggers, table states, queue and node row go; its data
 *      stays until the copies replace it
 *   4. create it under P (a fresh registration at P's newest tick), set its parallel copies,
 *      add its tables (pending: its worker copies each from P), pause it if the file says so
 *
 * After step 3 the node is simply not created: a re-run plans its creation as for a new node.
 * Its worker stopped when it was fenced; start it again (systemd restarts it).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "sky_log.h"
#include "sky_mem.h"

/* Step 1: the fork tick as a new string, or NULL with *found false when there is no queue. */
static int fork_tick(char **out, const struct admin_session *s, const char *node,
                     const char *provider, struct sky_error *err)
{
	const char *params[1] = {s->topo->cascade};
	PGresult *mine = NULL, *theirs = NULL;
	int ret = -1;

	*out = NULL;
	if (admin_node_exec(&mine, s, node,
	                    "select array_agg(t.tick_id order by t.tick_id)::text,"
	                    " array_agg(t.tick_time order by t.tick_id)::text"
	                    " from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue"
	                    " where q.queue_name = $1",
	                    1, params, err) < 0)
		goto out;
	if (PQgetisnull(mine, 0, 0)) {
		ret = 0; /* no queue here (a leaf): nothing can be lost */
		goto out;
	}
	{
		const char *p2[3] = {s->topo->cascade, PQgetvalue(mine, 0, 0),
		                     PQgetvalue(mine, 0, 1)};

		if (admin_node_exec(&theirs, s, provider,
		                    "select max(t.tick_id) from pgq.tick t"
		                    " join pgq.queue q on q.queue_id = t.tick_queue"
		                    " join unnest($2::bigint[], $3::timestamptz[]) as d(id, at)"
		                    " on d.id = t.tick_id and d.at = t.tick_time"
		                    " where q.queue_name = $1",
		                    3, p2, err) < 0)
			goto out;
	}
	if (PQgetisnull(theirs, 0, 0)) {
		sky_error_set(err,
		              "node \"%s\": none of its ticks is on \"%s\" any more, so the events "
		              "it alone holds cannot be told apart: remove it from the file, "
		              "drop its pgq_set schema by hand and add it again as a new node",
		              node, provider);
		goto out;
	}
	*out = sky_strdup(PQgetvalue(theirs, 0, 0));
	ret = 0;
out:
	PQclear(mine);
	PQclear(theirs);
	return ret;
}

/* Write doc to path, or to path.N when path holds something else already. */
static int write_json(char **written, const char *path, json_t *doc, struct sky_error *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *name = sky_strdup(path);
	int ret = -1;

	for (int n = 1; n < 1000; n++) {
		FILE *f = fopen(name, "r");

		if (!f)
			break;
		{
			struct sky_buf old;
			char chunk[4096];
			size_t got;
			bool same;

			sky_buf_init(&old);
			while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
				sky_buf_add(&old, chunk, got);
			fclose(f);
			same =
			    old.len == strlen(text) + 1 && memcmp(old.data, text, old.len - 1) == 0;
			sky_buf_release(&old);
			if (same) {
				*written = name; /* a re-run: the same events, written before */
				name = NULL;
				ret = 0;
				goto out;
			}
		}
		free(name);
		name = sky_asprintf("%s.%d", path, n);
	}
	{
		FILE *f = fopen(name, "w");

		if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
			sky_error_set(err, "could not write %s: %s", name, strerror(errno));
			goto out;
		}
	}
	*written = name;
	name = NULL;
	ret = 0;
out:
	free(name);
	free(text);
	return ret;
}

/* Step 2: the lost events as JSON. */
static int save_lost(const struct admin_session *s, const struct plan_op *op, const char *fork,
                     struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, fork};
	PGresult *res = NULL;
	json_t *doc = json_object(), *events = json_array();
	char *written = NULL;
	long long txns = 0;
	const char *last_txid = "";
	int ret = -1;

	if (admin_node_exec(&res, s, op->node,
	                    "select ev_id, ev_time, ev_txid, ev_type, ev_data, ev_table"
	                    " from pgq_set.lost_events($1, $2) order by ev_txid, ev_id",
	                    2, params, err) < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *e = json_object();

		if (strcmp(PQgetvalue(res, i, 2), last_txid) != 0)
			txns++;
		last_txid = PQgetvalue(res, i, 2);
		json_object_set_new(e, "ev_id",
		                    json_integer(strtoll(PQgetvalue(res, i, 0), NULL, 10)));
		json_object_set_new(e, "time", json_string(PQgetvalue(res, i, 1)));
		json_object_set_new(e, "txid",
		                    json_integer(strtoll(PQgetvalue(res, i, 2), NULL, 10)));
		json_object_set_new(e, "type", json_string(PQgetvalue(res, i, 3)));
		json_object_set_new(e, "table",
		                    PQgetisnull(res, i, 5) ? json_null()
		                                           : json_string(PQgetvalue(res, i, 5)));
		json_object_set_new(e, "data",
		                    PQgetisnull(res, i, 4) ? json_null()
		                                           : json_string(PQgetvalue(res, i, 4)));
		json_array_append_new(events, e);
	}
	json_object_set_new(doc, "cascade", json_string(s->topo->cascade));
	json_object_set_new(doc, "node", json_string(op->node));
	json_object_set_new(doc, "fork_tick", json_integer(strtoll(fork, NULL, 10)));
	json_object_set_new(doc, "transactions", json_integer(txns));
	json_object_set_new(doc, "event_count", json_integer(PQntuples(res)));
	json_object_set_new(doc, "events", events);
	events = NULL;
	if (write_json(&written, op->to, doc, err) < 0)
		goto out;
	sky_info("%s: %lld lost transactions (%d events after tick %s) written to %s", op->node,
	         txns, PQntuples(res), fork, written);
	admin_step_done(op->node, "lost transactions saved");
	ret = 0;
out:
	free(written);
	json_decref(events);
	json_decref(doc);
	PQclear(res);
	return ret;
}

int ops_rejoin_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	const struct topo_node *tn = topology_node(s->topo, op->node);
	const char *params[2] = {s->topo->cascade, op->node};
	struct plan_op sub;
	char *fork = NULL;
	int ret = -1;

	if (!tn || !op->provider) {
		sky_error_set(err, "rejoin of \"%s\": not in the topology as planned", op->node);
		goto out;
	}
	if (fork_tick(&fork, s, op->node, op->provider, err) < 0)
		goto out;
	if (fork && save_lost(s, op, fork, err) < 0)
		goto out;
	if (admin_node_exec(NULL, s, op->node, "select pgq_set.reset_node($1)", 1, params, err) < 0)
		goto out;
	admin_step_done(op->node, "reset");
	/* a registration left on the provider from an earlier life would keep an old position */
	if (admin_node_exec(NULL, s, op->provider, "select pgq_set.unregister_subscriber($1, $2)",
	                    2, params, err) < 0)
		goto out;
	memset(&sub, 0, sizeof(sub));
	sub.kind = tn->role == SKY_ROLE_LEAF ? PLAN_OP_CREATE_LEAF : PLAN_OP_CREATE_BRANCH;
	sub.node = op->node;
	sub.provider = op->provider;
	if (admin_op_run(s, &sub, err) < 0)
		goto out;
	admin_step_done(op->node, "created again");
	{
		char *n = sky_asprintf("%d", topology_parallel_copies(s->topo, tn));
		const char *pp[2] = {s->topo->cascade, n};
		int rc = admin_node_exec(NULL, s, op->node,
		                         "select pgq_set.set_parallel_copies($1, $2)", 2, pp, err);

		free(n);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < s->topo->n_tables; i++) {
		const struct topo_table *tt = &s->topo->tables[i];

		if (!topology_table_on_node(tt, op->node))
			continue;
		memset(&sub, 0, sizeof(sub));
		sub.kind = PLAN_OP_ADD_TABLE;
		sub.node = op->node;
		sub.subject = tt->name;
		sub.provider = op->provider;
		sub.create = tt->create;
		if (admin_op_run(s, &sub, err) < 0)
			goto out;
	}
	if (ops_node_set_paused(s, op->node, op->paused, err) < 0)
		goto out;
	admin_step_done(op->node, "tables added: its worker copies them");
	ret = 0;
out:
	free(fork);
	return ret;
}
