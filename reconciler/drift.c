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
 * The registered tables of the cascade that exist here but lack one of our triggers: the four
 * capture triggers on the root, the write-deny trigger elsewhere (names from
 * pgq_set.trigger_name, as add_table gives them).
 */
static const char SQL_MISSING[] =
    "select ti.table_name"
    "  from pgq_set.table_info ti"
    "  join pg_namespace n on n.nspname = ti.schema_name"
    "  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name"
    " where ti.cascade = $1"
    "   and exists (select 1"
    "                 from unnest(case when $2::boolean"
    "                                  then array['capture', 'capture_upd', 'capture_key',"
    "                                             'capture_trunc']"
    "                                  else array['deny'] end) k"
    "                where not exists (select 1 from pg_trigger tg"
    "                                   where tg.tgrelid = c.oid"
    "                                     and tg.tgname = pgq_set.trigger_name($1, k)))"
    " order by ti.table_name";

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

static bool node_has_trigger_name(PGconn *conn)
{
	PGresult *res = NULL;
	struct sky_error err;
	bool ret = false;

	sky_error_clear(&err);
	if (sky_pg_exec(&res, conn, &err,
	                "select to_regprocedure('pgq_set.trigger_name(text,text)') is not null", 0,
	                NULL) == 0)
		ret = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ret;
}

size_t drift_plan_add(struct plan *plan, PGconn **conns, const struct topology *topo,
                      const struct actual_state *actual)
{
	size_t added = 0;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct actual_node *an = &actual->nodes[i];
		const char *params[2];
		PGresult *res = NULL;
		struct sky_error err;

		if (!conns[i] || !an->reachable || !an->created || an->self.fenced ||
		    topo->nodes[i].dead || !node_has_trigger_name(conns[i]))
			continue;
		params[0] = topo->cascade;
		params[1] = an->self.role == SKY_ROLE_ROOT ? "true" : "false";
		sky_error_clear(&err);
		if (sky_pg_exec(&res, conns[i], &err, SQL_MISSING, 2, params) < 0) {
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
