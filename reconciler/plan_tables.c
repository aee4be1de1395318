/*
 * plan_tables: what is replicated (plan_internal.h): tables removed (in reverse provider order)
 * and added, with the root's plan-time checks of a table, and the listed sequences.
 */
#include "plan_internal.h"

#include <stdlib.h>
#include <string.h>

static const struct topo_table *topo_table_find(const struct topology *topo, const char *name)
{
	for (size_t t = 0; t < topo->n_tables; t++) {
		if (strcmp(topo->tables[t].name, name) == 0)
			return &topo->tables[t];
	}
	return NULL;
}

/* True when some node of the topology wants table `name`. */
static bool table_wanted_anywhere(const struct topology *topo, const char *name)
{
	const struct topo_table *tt = topo_table_find(topo, name);

	if (!tt)
		return false;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		if (topology_table_on_node(tt, topo->nodes[i].name))
			return true;
	}
	return false;
}

/*
 * Tables registered on a node that the topology no longer wants there. The root keeps
 * capturing a table as long as any node wants it (its subscribers get their changes from
 * its queue); it stops only when the table is wanted nowhere. remove_table keeps the table
 * and its rows.
 */
void plan_table_removes(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;

	if (!plan_view_created(v) || plan_view_fenced(v))
		return;
	for (size_t i = 0; i < v->have->n_tables; i++) {
		const struct actual_table *at = &v->have->tables[i];
		const struct topo_table *tt;
		struct plan_op *op;

		if (!at->name)
			continue;
		tt = topo_table_find(ctx->topo, at->name);
		if (tt && topology_table_on_node(tt, tn->name))
			continue;
		if (tn->role == SKY_ROLE_ROOT && table_wanted_anywhere(ctx->topo, at->name))
			continue;
		op = plan_ctx_op_add(ctx, PHASE_TABLE_REMOVE, PLAN_OP_REMOVE_TABLE,
		                     PLAN_ACTION_REMOVE, tn->name);
		op->subject = sky_strdup(at->name);
		op->provider = plan_strdup_or_null(tn->provider);
	}
}

/*
 * Plan-time checks of a table about to be added on the root, from its system catalogs: what
 * add_table would refuse is a problem now, named, instead of a "+" line that fails at apply.
 * Returns true when the table may be added.
 */
static bool root_table_ok(struct plan_ctx *ctx, const struct node_view *v,
                          const struct topo_table *tt)
{
	const struct actual_check *k = NULL;

	for (size_t i = 0; i < v->have->n_checks && !k; i++)
		if (strcmp(v->have->checks[i].name, tt->name) == 0)
			k = &v->have->checks[i];
	if (!k)
		return true; /* not read: add_table decides */
	if (!k->exists)
		plan_ctx_problem_add(
		    ctx, v->want->name,
		    "table \"%s\" does not exist on the root (create it there first: the root "
		    "captures it and every other node copies it)",
		    tt->name);
	else if (k->partitioned)
		plan_ctx_problem_add(
		    ctx, v->want->name,
		    "table \"%s\" is partitioned: list its partitions in tables: instead",
		    tt->name);
	else if (!k->has_pk)
		plan_ctx_problem_add(
		    ctx, v->want->name,
		    "table \"%s\" has no primary key: only tables with a primary key can be "
		    "replicated",
		    tt->name);
	else if (k->pk_deferrable)
		plan_ctx_problem_add(
		    ctx, v->want->name,
		    "table \"%s\" has a deferrable primary key: only a primary key checked "
		    "immediately can be replicated",
		    tt->name);
	else if (k->pk_include)
		plan_ctx_problem_add(ctx, v->want->name,
		                     "table \"%s\" has a primary key with INCLUDE columns: only a "
		                     "primary key of key columns alone can be replicated",
		                     tt->name);
	else
		return true;
	return false;
}

/* Tables the topology wants on a node that its catalog does not list (yet). */
void plan_table_adds(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	bool created = plan_view_created(v);

	if (plan_view_fenced(v))
		return; /* the rejoin re-creates it and adds its tables */
	for (size_t t = 0; t < ctx->topo->n_tables; t++) {
		const struct topo_table *tt = &ctx->topo->tables[t];
		struct plan_op *op;

		if (!topology_table_on_node(tt, tn->name))
			continue;
		if (created && actual_node_table(v->have, tt->name))
			continue;
		{
			bool refused = false;

			for (size_t r = 0; r < ctx->n_refused && !refused; r++)
				refused = ctx->refused[r] == tt;
			if (refused)
				continue; /* reported on the root; nobody could copy it */
		}
		if (tn->role == SKY_ROLE_ROOT && !root_table_ok(ctx, v, tt)) {
			ctx->refused =
			    sky_realloc(ctx->refused, (ctx->n_refused + 1) * sizeof(*ctx->refused));
			ctx->refused[ctx->n_refused++] = tt;
			continue;
		}
		op = plan_ctx_op_add(ctx, PHASE_TABLE_ADD, PLAN_OP_ADD_TABLE, PLAN_ACTION_ADD,
		                     tn->name);
		op->subject = sky_strdup(tt->name);
		op->provider = plan_strdup_or_null(tn->provider);
		op->create = tt->create;
	}
}

/*
 * The listed sequences, on every created node (any branch may become the root). A node whose
 * pgq_set predates them gets them after its upgrade (the plan upgrades it first).
 */
void plan_sequences(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct actual_node *an = v->have;
	bool known = plan_view_created(v) && an->has_sequences;

	if (!v->usable || plan_view_fenced(v))
		return;
	for (size_t i = 0; i < ctx->topo->n_sequences; i++) {
		const char *name = ctx->topo->sequences[i];
		bool have = false;
		struct plan_op *op;

		for (size_t k = 0; known && k < an->n_sequences && !have; k++)
			have = strcmp(an->sequences[k], name) == 0;
		if (have)
			continue;
		op = plan_ctx_op_add(ctx, PHASE_SEQUENCES, PLAN_OP_ADD_SEQUENCE, PLAN_ACTION_ADD,
		                     v->want->name);
		op->subject = sky_strdup(name);
	}
	for (size_t k = 0; known && k < an->n_sequences; k++) {
		bool want = false;
		struct plan_op *op;

		for (size_t i = 0; i < ctx->topo->n_sequences && !want; i++)
			want = strcmp(an->sequences[k], ctx->topo->sequences[i]) == 0;
		if (want)
			continue;
		op = plan_ctx_op_add(ctx, PHASE_SEQUENCES, PLAN_OP_REMOVE_SEQUENCE,
		                     PLAN_ACTION_REMOVE, v->want->name);
		op->subject = sky_strdup(an->sequences[k]);
	}
}
