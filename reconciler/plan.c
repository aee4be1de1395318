/*
 * plan: desired + actual -> ordered operations (see plan.h, docs/reconciler.md). No I/O.
 *
 * Phases, each over the nodes in provider order (the root, then every node after its
 * provider, file order among equals):
 *   1. install / upgrade pgq_set (dead nodes too, so that they can be fenced)
 *   1b. fence reachable nodes marked dead
 *   2. renames (before anything that names the new name)
 *   3. member rows for every topology node, on every node
 *   4. create the root
 *   5. create branches and leaves
 *   6. settings of created nodes (parallel_copies)
 *   7. switchover (the root moves to a live branch) or failover (from a dead root)
 *   8. topology changes of created nodes: change provider, pause, resume
 *   9. stale subscriptions: a provider forgets a subscriber that pulls from elsewhere
 *  10. drop nodes that are no longer in the topology (their subscribers moved in 8)
 *  11. remove tables, in reverse provider order (every node before its provider)
 *  12. add tables
 *  13. listed sequences (sequences:) registered or forgotten on every created node
 * A phase's operations on a node may rely on every earlier phase having run on every node.
 *
 * This file holds the driver (plan_build: the order of nodes and phases) and the plan's
 * lists; the planners of each kind of operation and the failure gates are in their own files
 * (plan_internal.h lists them).
 */
#include "plan_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct plan_op *plan_ctx_op_add(struct plan_ctx *ctx, enum plan_phase phase, enum plan_op_kind kind,
                                enum plan_action action, const char *node)
{
	struct op_list *l = &ctx->phase[phase];
	struct plan_op *op;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->ops = sky_realloc(l->ops, l->cap * sizeof(*l->ops));
	}
	op = &l->ops[l->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->action = action;
	op->node = sky_strdup(node);
	return op;
}

void plan_ctx_problem_add(struct plan_ctx *ctx, const char *node, const char *fmt, ...)
{
	struct plan *plan = ctx->plan;
	struct plan_problem *p;
	struct sky_buf b;
	va_list ap;

	if (plan->n_problems == ctx->problems_cap) {
		ctx->problems_cap = ctx->problems_cap ? ctx->problems_cap * 2 : 4;
		plan->problems =
		    sky_realloc(plan->problems, ctx->problems_cap * sizeof(*plan->problems));
	}
	p = &plan->problems[plan->n_problems++];
	p->node = plan_strdup_or_null(node);
	sky_buf_init(&b);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	p->message = sky_buf_detach(&b);
}

static bool is_decimal(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

int plan_version_cmp(const char *a, const char *b)
{
	if (is_decimal(a) && is_decimal(b)) {
		size_t la, lb;

		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		la = strlen(a);
		lb = strlen(b);
		if (la != lb)
			return la < lb ? -1 : 1;
	}
	return strcmp(a, b);
}

static size_t topo_index(const struct topology *topo, const char *name)
{
	for (size_t i = 0; i < topo->n_nodes; i++) {
		if (strcmp(topo->nodes[i].name, name) == 0)
			return i;
	}
	return (size_t)-1;
}

/*
 * Fill ctx->order with the live nodes in provider order: the root, then repeated passes in
 * file order adding every node whose provider is already placed. The topology's rules (one
 * live root, providers that exist, are not leaves or dead, no cycles) are checked once, by
 * topology_check.c when the file is read; a topology that breaks them here was not checked and is
 * refused as unusable input (-1, err set), not reported as a user's problem.
 */
static int order_nodes(struct plan_ctx *ctx, struct sky_error *err)
{
	const struct topology *topo = ctx->topo;
	bool *placed = sky_calloc(topo->n_nodes + 1, sizeof(*placed));
	const struct topo_node *root = topology_root(topo);
	bool progress = true;
	int ret = -1;

	ctx->order = sky_calloc(topo->n_nodes + 1, sizeof(*ctx->order));
	if (!root) {
		sky_error_set(err, "plan: the topology has no live root (it was not checked)");
		goto out;
	}
	placed[root - topo->nodes] = true;
	ctx->order[ctx->n_order++] = (size_t)(root - topo->nodes);
	while (progress) {
		progress = false;
		for (size_t i = 0; i < topo->n_nodes; i++) {
			const struct topo_node *tn = &topo->nodes[i];
			size_t p;

			if (placed[i] || tn->role == SKY_ROLE_ROOT || !tn->provider || tn->dead)
				continue;
			p = topo_index(topo, tn->provider);
			if (p == (size_t)-1 || !placed[p] || topo->nodes[p].role == SKY_ROLE_LEAF)
				continue;
			placed[i] = true;
			ctx->order[ctx->n_order++] = i;
			progress = true;
		}
	}
	for (size_t i = 0; i < topo->n_nodes; i++) {
		if (!placed[i] && !topo->nodes[i].dead) {
			sky_error_set(
			    err,
			    "plan: node \"%s\" does not hang off the root \"%s\" (the topology "
			    "was not checked)",
			    topo->nodes[i].name, root->name);
			goto out;
		}
	}
	ret = 0;
out:
	free(placed);
	return ret;
}

/* The topology node a name stored in a catalog means: the node of that name, or the node
 * renamed from it (renamed_from). NULL when the topology has neither. */
const struct topo_node *plan_node_by_stored(const struct topology *topo, const char *stored)
{
	const struct topo_node *n;

	if (!stored)
		return NULL;
	n = topology_node(topo, stored);
	if (n)
		return n;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		if (topo->nodes[i].renamed_from && strcmp(topo->nodes[i].renamed_from, stored) == 0)
			return &topo->nodes[i];
	}
	return NULL;
}

/* True when the stored name `stored` means topology node `name` (same, or renamed from). */
bool plan_stored_is(const struct topology *topo, const char *stored, const char *name)
{
	const struct topo_node *n = plan_node_by_stored(topo, stored);

	return n && name && strcmp(n->name, name) == 0;
}

static void plan_count(struct plan *plan)
{
	for (size_t i = 0; i < plan->n_ops; i++) {
		switch (plan->ops[i].action) {
		case PLAN_ACTION_ADD:
			plan->n_add++;
			break;
		case PLAN_ACTION_CHANGE:
			plan->n_change++;
			break;
		case PLAN_ACTION_REMOVE:
			plan->n_remove++;
			break;
		}
	}
}

static void op_clear(struct plan_op *op)
{
	free(op->node);
	free(op->subject);
	free(op->provider);
	free(op->from);
	free(op->to);
	free(op->location);
	free(op->survivors);
}

int plan_build(struct plan **out, const struct topology *topo, const struct actual_state *actual,
               const struct plan_options *opts, struct sky_error *err)
{
	struct plan_ctx ctx;
	struct node_view *views = NULL;
	int ret = -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.topo = topo;
	ctx.actual = actual;
	ctx.opts = opts;
	ctx.plan = sky_calloc(1, sizeof(*ctx.plan));
	ctx.plan->cascade = sky_strdup(topo->cascade);
	if (!opts || !opts->sql_version) {
		sky_error_set(err, "plan: the pgq_set version to install is unknown");
		goto out;
	}

	if (order_nodes(&ctx, err) < 0)
		goto out;
	views = sky_calloc(topo->n_nodes + 1, sizeof(*views));
	for (size_t k = 0; k < ctx.n_order; k++) {
		struct node_view *v = &views[k];

		v->want = &topo->nodes[ctx.order[k]];
		v->have = actual_state_node(actual, v->want->name);
		if (!v->have) {
			sky_error_set(err, "plan: no actual state for node \"%s\"", v->want->name);
			goto out;
		}
		v->usable = v->have->reachable;
		if (!v->usable)
			plan_ctx_problem_add(&ctx, v->want->name, "unreachable: %s",
			                     v->have->error ? v->have->error : "unknown error");
	}

	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_install(&ctx, &views[k]);
	}
	plan_renames(&ctx, views, ctx.n_order);
	plan_dead_nodes(&ctx);
	plan_switchover(&ctx, views, ctx.n_order);
	plan_failover(&ctx, views, ctx.n_order);
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_check_identity(&ctx, &views[k]);
	}
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_unregisters(&ctx, &views[k]);
	}
	plan_drops(&ctx, views, ctx.n_order);
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_members(&ctx, &views[k]);
	}
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_create(&ctx, &views[k]);
	}
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_settings(&ctx, &views[k]);
	}
	for (size_t k = ctx.n_order; k-- > 0;) {
		if (views[k].usable)
			plan_table_removes(&ctx, &views[k]);
	}
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_table_adds(&ctx, &views[k]);
	}
	for (size_t k = 0; k < ctx.n_order; k++)
		plan_sequences(&ctx, &views[k]);

	for (int p = 0; p < PHASE_COUNT; p++)
		ctx.plan->n_ops += ctx.phase[p].n;
	ctx.plan->ops = sky_calloc(ctx.plan->n_ops + 1, sizeof(*ctx.plan->ops));
	{
		size_t at = 0;

		for (int p = 0; p < PHASE_COUNT; p++) {
			if (ctx.phase[p].n)
				memcpy(&ctx.plan->ops[at], ctx.phase[p].ops,
				       ctx.phase[p].n * sizeof(*ctx.plan->ops));
			at += ctx.phase[p].n;
			free(ctx.phase[p].ops);
			ctx.phase[p].ops = NULL;
			ctx.phase[p].n = 0;
		}
	}
	plan_count(ctx.plan);
	*out = ctx.plan;
	ctx.plan = NULL;
	ret = 0;
out:
	for (int p = 0; p < PHASE_COUNT; p++) {
		for (size_t i = 0; i < ctx.phase[p].n; i++)
			op_clear(&ctx.phase[p].ops[i]);
		free(ctx.phase[p].ops);
	}
	free(ctx.order);
	free(ctx.refused);
	free(views);
	plan_free(ctx.plan);
	return ret;
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n_ops; i++)
		op_clear(&plan->ops[i]);
	free(plan->ops);
	for (size_t i = 0; i < plan->n_problems; i++) {
		free(plan->problems[i].node);
		free(plan->problems[i].message);
	}
	free(plan->problems);
	free(plan->cascade);
	free(plan);
}

bool plan_is_empty(const struct plan *plan)
{
	return plan->n_ops == 0 && plan->n_problems == 0;
}
