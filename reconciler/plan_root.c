/*
 * plan_root: the root moves (plan_internal.h): a switchover to a live branch, or a failover
 * from a root the file marks dead (DESIGN invariants 8 and 9). Both set ctx->switch_from and
 * ctx->switch_to, which plan_check_identity leaves alone.
 */
#include "plan_internal.h"

#include <string.h>

/*
 * The root moves when the file's root is not the only node whose catalog says root: another
 * live node is (or still is, in an interrupted switchover) the root in its catalog and the file
 * gives it another role. An unreachable old root is no switchover: a failover is said with
 * dead: true, never inferred from a connection failure.
 */
void plan_switchover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
{
	const struct topo_node *want = topology_root(ctx->topo);
	const struct node_view *to = NULL, *from = NULL;
	struct plan_op *op;

	if (!want)
		return;
	for (size_t k = 0; k < n_views; k++) {
		const struct node_view *v = &views[k];

		if (v->want == want)
			to = v;
		else if (plan_view_created(v) && !plan_view_fenced(v) &&
		         v->have->self.role == SKY_ROLE_ROOT)
			from = v;
	}
	if (!from || !to || !plan_view_created(to))
		return;
	ctx->switch_from = from->want->name;
	ctx->switch_to = to->want->name;
	if (to->have->self.role == SKY_ROLE_LEAF) {
		plan_ctx_problem_add(ctx, to->want->name,
		                     "a leaf cannot become the root (make it a branch first)");
		return;
	}
	if (from->want->role == SKY_ROLE_ROOT) {
		plan_ctx_problem_add(ctx, from->want->name,
		                     "the old root needs a branch or leaf role");
		return;
	}
	for (size_t i = 0; to->have->self.role != SKY_ROLE_ROOT && i < to->have->n_tables; i++) {
		const struct actual_table *at = &to->have->tables[i];

		if (at->state && strcmp(at->state, "ok") != 0) {
			plan_ctx_problem_add(
			    ctx, to->want->name,
			    "switchover waits until the new root's tables are in sync (table %s "
			    "is %s)",
			    at->name, at->state);
			return;
		}
	}
	op = plan_ctx_op_add(ctx, PHASE_SWITCHOVER, PLAN_OP_SWITCHOVER, PLAN_ACTION_CHANGE,
	                     to->want->name);
	op->subject = sky_strdup(sky_role_name(from->want->role));
	op->from = sky_strdup(from->want->name);
	op->provider = sky_strdup(from->want->provider);
	op->paused = to->want->paused;
}

/*
 * The root is dead (dead: true in the file) and the file's root is a live branch that is not
 * the root yet: a failover (DESIGN invariant 9). The dead root is found by following the new
 * root's provider chain in the catalogs. Its surviving subscribers are the live nodes whose
 * catalog names it as provider; the new root must first reach the most advanced position any
 * of the branches among them holds. A live old root that is only unreachable is no failover:
 * the file must say dead: true (a failover is never inferred from a connection failure).
 */
void plan_failover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
{
	const struct topo_node *want = topology_root(ctx->topo);
	const struct node_view *to = NULL, *src = NULL;
	const char *hop;
	const struct topo_node *dead = NULL;
	struct sky_buf surv;
	struct plan_op *op;

	if (!want || ctx->switch_to)
		return;
	for (size_t k = 0; k < n_views; k++) {
		if (views[k].want == want)
			to = &views[k];
		if (plan_view_created(&views[k]) && !plan_view_fenced(&views[k]) &&
		    views[k].have->self.role == SKY_ROLE_ROOT)
			return; /* a live node is the root in its catalog: no failover */
	}
	if (!to || !plan_view_created(to))
		return;
	/* follow the catalogs' providers up from the new root to a dead or unreachable node */
	hop = to->have->self.provider;
	for (size_t guard = 0; hop && guard <= n_views; guard++) {
		const struct topo_node *hn = plan_node_by_stored(ctx->topo, hop);
		const struct actual_node *ha = hn ? actual_state_node(ctx->actual, hn->name) : NULL;

		if (!hn)
			break;
		if (hn->dead) {
			dead = hn;
			break;
		}
		if (!ha || !ha->reachable) {
			plan_ctx_problem_add(
			    ctx, want->name,
			    "cannot become the root: node \"%s\" above it is unreachable but "
			    "not marked dead (to fail over from it, set \"dead: true\" on it; a "
			    "failover is never inferred from a connection failure)",
			    hn->name);
			return;
		}
		hop = ha->created ? ha->self.provider : NULL;
	}
	if (!dead)
		return;
	ctx->switch_from = dead->name;
	ctx->switch_to = want->name;
	if (to->have->self.role != SKY_ROLE_BRANCH) {
		plan_ctx_problem_add(ctx, want->name,
		                     "a %s cannot become the root (make it a branch first)",
		                     sky_role_name(to->have->self.role));
		return;
	}
	for (size_t i = 0; i < to->have->n_tables; i++) {
		const struct actual_table *at = &to->have->tables[i];

		if (at->state && strcmp(at->state, "ok") != 0) {
			plan_ctx_problem_add(
			    ctx, want->name,
			    "cannot become the root: table %s is %s (it holds only part of the "
			    "table)",
			    at->name, at->state);
			return;
		}
	}
	/* the survivors directly under the dead root, and the most advanced branch among them */
	sky_buf_init(&surv);
	src = to;
	for (size_t k = 0; k < n_views; k++) {
		const struct node_view *v = &views[k];

		if (!plan_view_created(v) ||
		    !plan_stored_is(ctx->topo, v->have->self.provider, dead->name))
			continue;
		sky_buf_addf(&surv, "%s%s %lld", surv.len ? ", " : "", v->want->name,
		             v->have->self.last_tick);
		if (v->have->self.role == SKY_ROLE_BRANCH &&
		    v->have->self.last_tick > src->have->self.last_tick)
			src = v;
	}
	for (size_t k = 0; k < n_views; k++) {
		const struct node_view *v = &views[k];

		if (plan_view_created(v) && v->have->self.role == SKY_ROLE_LEAF &&
		    plan_stored_is(ctx->topo, v->have->self.provider, dead->name) &&
		    v->have->self.last_tick > src->have->self.last_tick) {
			plan_ctx_problem_add(
			    ctx, v->want->name,
			    "leaf at tick %lld is ahead of every surviving branch (%s at %lld): "
			    "it applied events no survivor holds; remove it from the file "
			    "and add it again to copy it afresh",
			    v->have->self.last_tick, src->want->name, src->have->self.last_tick);
			sky_buf_release(&surv);
			return;
		}
	}
	op = plan_ctx_op_add(ctx, PHASE_SWITCHOVER, PLAN_OP_FAILOVER, PLAN_ACTION_CHANGE,
	                     want->name);
	op->from = sky_strdup(dead->name);
	op->subject = src != to ? sky_strdup(src->want->name) : NULL;
	op->to = sky_asprintf("%lld", src->have->self.last_tick);
	op->survivors = sky_buf_detach(&surv);
	op->paused = want->paused;
}
