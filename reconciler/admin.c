/*
 * admin: execute plan operations (see admin.h). Values travel as parameters; the only SQL
 * text sent without parameters is the embedded install script.
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>

#include "ops/ops.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"

void admin_step_done(const char *node, const char *what)
{
	static long done;
	const char *kill_after = getenv("SKY_RECONCILE_KILL_AFTER_STEP");

	done++;
	sky_debug("%s: step %ld done: %s", node, done, what);
	if (kill_after && strtol(kill_after, NULL, 10) == done) {
		fflush(stdout);
		fprintf(stderr, "test hook: killed after step %ld (%s: %s)\n", done, node, what);
		raise(SIGKILL);
	}
}

PGconn *admin_node_conn(const struct admin_session *s, const char *node, struct sky_error *err)
{
	for (size_t i = 0; i < s->topo->n_nodes; i++) {
		if (strcmp(s->topo->nodes[i].name, node) != 0)
			continue;
		if (!s->conns[i] || PQstatus(s->conns[i]) != CONNECTION_OK) {
			sky_error_set(err, "node \"%s\": not connected", node);
			return NULL;
		}
		return s->conns[i];
	}
	sky_error_set(err, "node \"%s\": not a node of the topology", node);
	return NULL;
}

int admin_node_exec(PGresult **out, const struct admin_session *s, const char *node,
                    const char *sql, int nparams, const char *const *params, struct sky_error *err)
{
	PGconn *conn = admin_node_conn(s, node, err);

	if (!conn)
		return -1;
	if (sky_pg_exec(out, conn, err, sql, nparams, params) < 0)
		return sky_error_prefix(err, "node \"%s\"", node);
	return 0;
}

/*
 * Install or upgrade: the script is one transaction (it creates extension pgq itself) and
 * idempotent. Afterwards the node must report the version the script installs.
 */
static int op_install(const struct admin_session *s, const struct plan_op *op,
                      struct sky_error *err)
{
	PGresult *res = NULL;
	int ret = -1;

	if (admin_node_exec(NULL, s, op->node, s->install_sql, 0, NULL, err) < 0)
		goto out;
	if (admin_node_exec(&res, s, op->node, "select pgq_set.version()", 0, NULL, err) < 0)
		goto out;
	if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), s->sql_version) != 0) {
		sky_error_set(err, "node \"%s\": after install pgq_set reports version %s, not %s",
		              op->node, PQgetisnull(res, 0, 0) ? "(none)" : PQgetvalue(res, 0, 0),
		              s->sql_version);
		goto out;
	}
	if (s->sql_digest) {
		/* which script ran: a build with other functions runs its own (plan_install) */
		char *sql = sky_asprintf("comment on schema pgq_set is 'skycascade installer %s'",
		                         s->sql_digest);
		int rc = admin_node_exec(NULL, s, op->node, sql, 0, NULL, err);

		free(sql);
		if (rc < 0)
			goto out;
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int op_member(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	const char *params[4] = {s->topo->cascade, op->subject, op->location,
	                         op->dead ? "true" : "false"};

	return admin_node_exec(NULL, s, op->node, "select pgq_set.add_member($1, $2, $3, $4)", 4,
	                       params, err);
}

static int op_create_root(const struct admin_session *s, const struct plan_op *op,
                          struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, op->node};

	return admin_node_exec(NULL, s, op->node, "select pgq_set.create_root($1, $2)", 2, params,
	                       err);
}

/*
 * Register the node on its provider (pins its position there; re-running returns the same
 * position), then create it on its own database at that tick. The tick time crosses as
 * text: every session runs with DateStyle ISO (catalog.c), which reads back exactly.
 */
static int op_create_sub(const struct admin_session *s, const struct plan_op *op,
                         struct sky_error *err)
{
	const char *reg_params[2] = {s->topo->cascade, op->node};
	PGresult *reg = NULL;
	int ret = -1;

	if (admin_node_exec(&reg, s, op->provider,
	                    "select tick_id, tick_time, tick_event_seq"
	                    " from pgq_set.register_subscriber($1, $2)",
	                    2, reg_params, err) < 0)
		goto out;
	if (PQntuples(reg) != 1 || PQgetisnull(reg, 0, 0)) {
		sky_error_set(err,
		              "node \"%s\": register_subscriber returned no position for \"%s\"",
		              op->provider, op->node);
		goto out;
	}
	sky_debug("node \"%s\": subscriber \"%s\" registered at tick %s", op->provider, op->node,
	          PQgetvalue(reg, 0, 0));
	if (op->kind == PLAN_OP_CREATE_BRANCH) {
		const char *params[6] = {
		    s->topo->cascade,
		    op->node,
		    op->provider,
		    PQgetvalue(reg, 0, 0),
		    PQgetisnull(reg, 0, 1) ? NULL : PQgetvalue(reg, 0, 1),
		    PQgetisnull(reg, 0, 2) ? NULL : PQgetvalue(reg, 0, 2),
		};

		if (admin_node_exec(NULL, s, op->node,
		                    "select pgq_set.create_branch($1, $2, $3, $4, $5, $6)", 6,
		                    params, err) < 0)
			goto out;
	} else {
		const char *params[4] = {s->topo->cascade, op->node, op->provider,
		                         PQgetvalue(reg, 0, 0)};

		if (admin_node_exec(NULL, s, op->node, "select pgq_set.create_leaf($1, $2, $3, $4)",
		                    4, params, err) < 0)
			goto out;
	}
	ret = 0;
out:
	PQclear(reg);
	return ret;
}

/*
 * Register the table. On a branch or leaf it starts pending and the node's worker copies it
 * from its provider; with create, a missing table's structure is created by the worker
 * first. A missing table without create fails with SQLSTATE 42P01 (undefined_table).
 */
static int op_add_table(const struct admin_session *s, const struct plan_op *op,
                        struct sky_error *err)
{
	const char *params[3] = {s->topo->cascade, op->subject, op->create ? "true" : "false"};

	return admin_node_exec(NULL, s, op->node, "select pgq_set.add_table($1, $2, $3)", 3, params,
	                       err);
}

/* Stop replicating the table on the node; the table and its rows stay. */
static int op_remove_table(const struct admin_session *s, const struct plan_op *op,
                           struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, op->subject};

	return admin_node_exec(NULL, s, op->node, "select pgq_set.remove_table($1, $2)", 2, params,
	                       err);
}

static int op_set_parallel_copies(const struct admin_session *s, const struct plan_op *op,
                                  struct sky_error *err)
{
	const char *params[2] = {s->topo->cascade, op->to};

	return admin_node_exec(NULL, s, op->node, "select pgq_set.set_parallel_copies($1, $2)", 2,
	                       params, err);
}

/* One ticker threshold of the root's queue (pgq_set.set_ticker; NULL keeps the others). */
static int op_set_ticker(const struct admin_session *s, const struct plan_op *op,
                         struct sky_error *err)
{
	const char *params[4] = {s->topo->cascade, NULL, NULL, NULL};

	if (strcmp(op->subject, "ticker_max_count") == 0)
		params[1] = op->to;
	else if (strcmp(op->subject, "ticker_max_lag") == 0)
		params[2] = op->to;
	else
		params[3] = op->to;
	return admin_node_exec(NULL, s, op->node,
	                       "select pgq_set.set_ticker($1, $2::integer,"
	                       " ($3::numeric * interval '1 s'), ($4::numeric * interval '1 s'))",
	                       4, params, err);
}

int admin_op_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err)
{
	switch (op->kind) {
	case PLAN_OP_INSTALL:
	case PLAN_OP_UPGRADE:
		return op_install(s, op, err);
	case PLAN_OP_ADD_MEMBER:
	case PLAN_OP_UPDATE_MEMBER:
		return op_member(s, op, err);
	case PLAN_OP_CREATE_ROOT:
		return op_create_root(s, op, err);
	case PLAN_OP_CREATE_BRANCH:
	case PLAN_OP_CREATE_LEAF:
		return op_create_sub(s, op, err);
	case PLAN_OP_ADD_TABLE:
		return op_add_table(s, op, err);
	case PLAN_OP_REMOVE_TABLE:
		return op_remove_table(s, op, err);
	case PLAN_OP_SET_PARALLEL_COPIES:
		return op_set_parallel_copies(s, op, err);
	case PLAN_OP_SET_TICKER:
		return op_set_ticker(s, op, err);
	case PLAN_OP_RENAME:
		return ops_rename_run(s, op, err);
	case PLAN_OP_SWITCHOVER:
		return ops_switchover_run(s, op, err);
	case PLAN_OP_FENCE:
		return ops_fence_run(s, op, err);
	case PLAN_OP_FAILOVER:
		return ops_failover_run(s, op, err);
	case PLAN_OP_REJOIN:
		return ops_rejoin_run(s, op, err);
	case PLAN_OP_ADD_SEQUENCE:
	case PLAN_OP_REMOVE_SEQUENCE: {
		const char *params[2] = {s->topo->cascade, op->subject};

		return admin_node_exec(NULL, s, op->node,
		                       op->kind == PLAN_OP_ADD_SEQUENCE
		                           ? "select pgq_set.add_sequence($1, $2)"
		                           : "select pgq_set.remove_sequence($1, $2)",
		                       2, params, err);
	}
	case PLAN_OP_PAUSE:
		return ops_pause_run(s, op, err);
	case PLAN_OP_RESUME:
		return ops_resume_run(s, op, err);
	case PLAN_OP_CHANGE_PROVIDER:
		return ops_change_provider_run(s, op, err);
	case PLAN_OP_UNREGISTER:
		return ops_unregister_run(s, op, err);
	case PLAN_OP_DROP_NODE:
		return ops_drop_node_run(s, op, err);
	case PLAN_OP_KIND_COUNT:
		break;
	}
	return sky_error_set(err, "node \"%s\": operation %s is not implemented", op->node,
	                     plan_op_kind_name(op->kind));
}
