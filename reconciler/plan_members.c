/*
 * plan_members: the operations that say which nodes make the cascade, on every node's catalog
 * (plan_internal.h): install or upgrade pgq_set, fence nodes marked dead, renames, member rows,
 * stale subscriptions unregistered, nodes no longer in the topology dropped.
 */
#include "plan_internal.h"

#include <stdlib.h>
#include <string.h>

void plan_install(struct plan_ctx *ctx, struct node_view *v)
{
	const struct actual_node *an = v->have;
	const char *want = ctx->opts->sql_version;
	struct plan_op *op;

	if (!an->has_pgq || !an->has_pgq_set || !an->version) {
		op = plan_ctx_op_add(ctx, PHASE_INSTALL, PLAN_OP_INSTALL, PLAN_ACTION_ADD,
		                     v->want->name);
		op->to = sky_strdup(want);
		v->fresh = !an->has_pgq_set;
		return;
	}
	if (plan_version_cmp(an->version, want) == 0) {
		/* same catalog; the functions may still differ: re-run the installer */
		const char *digest = ctx->opts->sql_digest;
		bool same = digest && an->installer && strcmp(an->installer, digest) == 0;

		/* the same script: run again only when the capture body's library was found or
		 * went since */
		if (!digest || (same && !an->capture_stale))
			return;
		op = plan_ctx_op_add(ctx, PHASE_INSTALL, PLAN_OP_UPGRADE, PLAN_ACTION_CHANGE,
		                     v->want->name);
		op->from = same ? sky_asprintf("%s (%s)", an->version, an->capture_stale)
		                : sky_asprintf("%s (installer %s)", an->version,
		                               an->installer ? an->installer : "unknown");
		op->to = sky_asprintf("%s (installer %s)", want, digest);
		return;
	}
	if (plan_version_cmp(an->version, want) > 0) {
		plan_ctx_problem_add(
		    ctx, v->want->name,
		    "pgq_set %s is newer than the version this skyreconcile installs (%s)",
		    an->version, want);
		return;
	}
	op =
	    plan_ctx_op_add(ctx, PHASE_INSTALL, PLAN_OP_UPGRADE, PLAN_ACTION_CHANGE, v->want->name);
	op->from = sky_strdup(an->version);
	op->to = sky_strdup(want);
}

/*
 * Nodes marked dead: a reachable one is fenced first thing (after installing pgq_set there if
 * needed); an unreachable one is expected and no problem (it is fenced when it comes back).
 */
void plan_dead_nodes(struct plan_ctx *ctx)
{
	for (size_t i = 0; i < ctx->topo->n_nodes; i++) {
		const struct topo_node *tn = &ctx->topo->nodes[i];
		const struct actual_node *an = actual_state_node(ctx->actual, tn->name);
		struct node_view v = {.want = tn, .have = an, .usable = an && an->reachable};

		if (!tn->dead || !v.usable || !an->has_pgq_set || !an->created)
			continue;
		plan_install(ctx, &v);
		if (an->self.fenced)
			continue;
		plan_ctx_op_add(ctx, PHASE_FENCE, PLAN_OP_FENCE, PLAN_ACTION_CHANGE, tn->name);
	}
}

/* True when the node's catalog stores `name` anywhere a rename must change it. */
static bool view_stores_name(const struct node_view *v, const char *name)
{
	const struct actual_node *an = v->have;

	if (!v->usable || v->fresh)
		return false;
	if (an->created && (strcmp(an->self.name, name) == 0 ||
	                    (an->self.provider && strcmp(an->self.provider, name) == 0)))
		return true;
	return actual_node_member(an, name) || actual_node_subscriber(an, name);
}

/* A rename is planned while any reachable node still stores the old name. */
void plan_renames(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
{
	for (size_t i = 0; i < ctx->topo->n_nodes; i++) {
		const struct topo_node *tn = &ctx->topo->nodes[i];
		struct plan_op *op;

		if (!tn->renamed_from)
			continue;
		for (size_t k = 0; k < n_views; k++) {
			if (!view_stores_name(&views[k], tn->renamed_from))
				continue;
			op = plan_ctx_op_add(ctx, PHASE_RENAME, PLAN_OP_RENAME, PLAN_ACTION_CHANGE,
			                     tn->name);
			op->subject = sky_strdup(tn->renamed_from);
			break;
		}
	}
}

static void plan_member(struct plan_ctx *ctx, const struct node_view *v, const struct topo_node *m)
{
	const struct actual_member *am = v->fresh ? NULL : actual_node_member(v->have, m->name);
	bool same_location;
	struct plan_op *op;

	/* a fenced node's own row stays dead until its rejoin re-creates it */
	if (plan_view_fenced(v) && m == v->want)
		return;
	/* a renamed member keeps its row: the rename phase gives it the new name */
	if (!am && !v->fresh && m->renamed_from)
		am = actual_node_member(v->have, m->renamed_from);
	same_location = am && am->location && strcmp(am->location, m->dsn) == 0;
	if (same_location && am->dead == m->dead)
		return;
	op = plan_ctx_op_add(ctx, PHASE_MEMBERS, am ? PLAN_OP_UPDATE_MEMBER : PLAN_OP_ADD_MEMBER,
	                     am ? PLAN_ACTION_CHANGE : PLAN_ACTION_ADD, v->want->name);
	op->subject = sky_strdup(m->name);
	op->location = sky_strdup(m->dsn);
	op->dead = m->dead; /* dead: true in the file (failover), false again at a rejoin */
	if (am && !same_location)
		op->to = sky_strdup(am->dead != m->dead
		                        ? (m->dead ? "location, dead" : "location, alive")
		                        : "location");
	else if (am)
		op->to = sky_strdup(m->dead ? "dead" : "alive");
}

/* Every node of the topology is a member of every live node's catalog, dead ones marked. */
void plan_members(struct plan_ctx *ctx, const struct node_view *v)
{
	for (size_t k = 0; k < ctx->n_order; k++)
		plan_member(ctx, v, &ctx->topo->nodes[ctx->order[k]]);
	for (size_t i = 0; i < ctx->topo->n_nodes; i++) {
		if (ctx->topo->nodes[i].dead)
			plan_member(ctx, v, &ctx->topo->nodes[i]);
	}
}

/*
 * Subscribers a provider still pins that pull from elsewhere: left behind by a provider
 * change that was interrupted after the switch, or made by hand. A subscriber that still
 * pulls from here is left to its change-provider operation (which unregisters it last).
 */
void plan_unregisters(struct plan_ctx *ctx, const struct node_view *v)
{
	if (!plan_view_created(v) || plan_view_fenced(v))
		return;
	for (size_t i = 0; i < v->have->n_subscribers; i++) {
		const struct actual_subscriber *sub = &v->have->subscribers[i];
		const struct topo_node *ts = plan_node_by_stored(ctx->topo, sub->name);
		const struct actual_node *sa;
		struct plan_op *op;

		if (!ts)
			continue; /* not in the topology: dropped (plan_drops) */
		if (ts->dead) {
			/* fenced: it must not pin retention here any more */
			op = plan_ctx_op_add(ctx, PHASE_UNREGISTER, PLAN_OP_UNREGISTER,
			                     PLAN_ACTION_REMOVE, v->want->name);
			op->subject = sky_strdup(sub->name);
			continue;
		}
		if (ts->role != SKY_ROLE_ROOT && ts->provider &&
		    strcmp(ts->provider, v->want->name) == 0)
			continue;
		sa = actual_state_node(ctx->actual, ts->name);
		if (!sa || !sa->reachable)
			continue; /* reported as unreachable */
		if (sa->created && plan_stored_is(ctx->topo, sa->self.provider, v->want->name))
			continue;
		op = plan_ctx_op_add(ctx, PHASE_UNREGISTER, PLAN_OP_UNREGISTER, PLAN_ACTION_REMOVE,
		                     v->want->name);
		op->subject = sky_strdup(sub->name);
	}
}

/* Nodes the catalogs know (members, subscribers) that the topology no longer has. */
void plan_drops(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
{
	char **seen = NULL;
	size_t n_seen = 0;

	for (size_t k = 0; k < n_views; k++) {
		const struct actual_node *an = views[k].have;
		size_t n_names;

		if (!views[k].usable || views[k].fresh)
			continue;
		n_names = an->n_members + an->n_subscribers;
		for (size_t i = 0; i < n_names; i++) {
			const char *name = i < an->n_members
			                       ? an->members[i].name
			                       : an->subscribers[i - an->n_members].name;
			bool dup = false;
			struct plan_op *op;

			if (!name || plan_node_by_stored(ctx->topo, name))
				continue;
			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = strcmp(seen[j], name) == 0;
			if (dup)
				continue;
			seen = sky_realloc(seen, (n_seen + 1) * sizeof(*seen));
			seen[n_seen++] = (char *)name;
			op = plan_ctx_op_add(ctx, PHASE_DROP, PLAN_OP_DROP_NODE, PLAN_ACTION_REMOVE,
			                     name);
			(void)op;
		}
	}
	free(seen);
}
