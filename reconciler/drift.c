/*
 * drift: missing triggers of registered tables (see drift.h).
 */
#include "drift.h"

#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"

/*
 * The registered tables of the cascade that exist here but lack one of our triggers: the
 * capture triggers on the root ($3, the kinds pgq_set.capture_kinds gives: they follow the
 * body of pgq_set.logutriga), the write-deny trigger elsewhere (names from
 * pgq_set.trigger_name, as add_table gives them).
 */
static const char SQL_MISSING[] =
    "select ti.table_name"
    "  from pgq_set.table_info ti"
    "  join pg_namespace n on n.nspname = ti.schema_name"
    "  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name"
    " where ti.cascade = $1"
    "   and exists (select 1"
    "                 from unnest(case when $2::boolean then $3::text[]"
    "                                  else array['deny'] end) k"
    "                where not exists (select 1 from pg_trigger tg"
    "                                   where tg.tgrelid = c.oid"
    "                                     and tg.tgname = pgq_set.trigger_name($1, k)))"
    " order by ti.table_name";

/*
 * Whether the node has pgq_set.trigger_name and, before pgq_set.capture_kinds, the root's kinds:
 * the four triggers of PgQ's body, whatever the body.
 */
static const char SQL_ROOT_KINDS[] =
    "select to_regprocedure('pgq_set.trigger_name(text,text)') is not null,"
    "       case when to_regprocedure('pgq_set.capture_kinds()') is null"
    "            then '{capture,capture_upd,capture_key,capture_trunc}' end";

static bool plan_has_table_op(const struct plan *plan, const char *node, const char *table)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];

		if (plan_op_is_table(op) && strcmp(op->node, node) == 0 && op->subject &&
		    strcmp(op->subject, table) == 0)
			return true;
	}
	return false;
}

/*
 * The capture kinds a root of this version has, as a text[] literal (malloc'd), or NULL when
 * pgq_set is older than pgq_set.trigger_name (then nothing is checked).
 */
static char *node_root_kinds(PGconn *conn)
{
	PGresult *res = NULL;
	struct sky_error err;
	char *ret = NULL;

	sky_error_clear(&err);
	if (sky_pg_exec(&res, conn, &err, SQL_ROOT_KINDS, 0, NULL) < 0 ||
	    PQgetvalue(res, 0, 0)[0] != 't')
		goto out;
	if (!PQgetisnull(res, 0, 1)) {
		ret = sky_strdup(PQgetvalue(res, 0, 1));
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (sky_pg_exec(&res, conn, &err, "select pgq_set.capture_kinds()", 0, NULL) == 0)
		ret = sky_strdup(PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return ret;
}

size_t drift_plan_add(struct plan *plan, PGconn **conns, const struct topology *topo,
                      const struct actual_state *actual)
{
	size_t added = 0;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct actual_node *an = &actual->nodes[i];
		const char *params[3];
		PGresult *res = NULL;
		struct sky_error err;
		char *kinds;
		int rc;

		if (!conns[i] || !an->reachable || !an->created || an->self.fenced ||
		    topo->nodes[i].dead || (kinds = node_root_kinds(conns[i])) == NULL)
			continue;
		params[0] = topo->cascade;
		params[1] = an->self.role == SKY_ROLE_ROOT ? "true" : "false";
		params[2] = kinds;
		sky_error_clear(&err);
		rc = sky_pg_exec(&res, conns[i], &err, SQL_MISSING, 3, params);
		free(kinds);
		if (rc < 0) {
			sky_debug("node \"%s\": could not check the triggers: %s", an->name,
			          err.message);
			PQclear(res);
			continue;
		}
		for (int r = 0; r < PQntuples(res); r++) {
			const char *table = PQgetvalue(res, r, 0);
			struct plan_op *op;

			if (plan_has_table_op(plan, an->name, table))
				continue;
			sky_debug("node \"%s\": table %s misses a trigger of ours", an->name,
			          table);
			plan->ops = sky_realloc(plan->ops, (plan->n_ops + 1) * sizeof(*plan->ops));
			op = &plan->ops[plan->n_ops++];
			memset(op, 0, sizeof(*op));
			op->kind = PLAN_OP_ADD_TABLE;
			op->action = PLAN_ACTION_CHANGE;
			op->node = sky_strdup(an->name);
			op->subject = sky_strdup(table);
			op->provider = an->self.provider ? sky_strdup(an->self.provider) : NULL;
			plan->n_change++;
			added++;
		}
		PQclear(res);
	}
	return added;
}
