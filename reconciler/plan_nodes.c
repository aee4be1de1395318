/*
 * plan_nodes: each created node made what the topology says it is (plan_internal.h): create
 * the root, branches and leaves, their settings (parallel_copies, the root queue's ticker
 * thresholds), and the checks of a created node's identity that lead to a rejoin, a provider
 * change, a pause or resume, or a problem.
 */
#include "plan_internal.h"

#include <string.h>

void plan_create(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	struct plan_op *op;

	if (plan_view_created(v))
		return;
	if (tn->role == SKY_ROLE_ROOT) {
		op = plan_ctx_op_add(ctx, PHASE_ROOT, PLAN_OP_CREATE_ROOT, PLAN_ACTION_ADD,
		                     tn->name);
		op->subject = sky_strdup(ctx->topo->cascade);
		return;
	}
	op = plan_ctx_op_add(ctx, PHASE_CREATE,
	                     tn->role == SKY_ROLE_BRANCH ? PLAN_OP_CREATE_BRANCH
	                                                 : PLAN_OP_CREATE_LEAF,
	                     PLAN_ACTION_ADD, tn->name);
	op->provider = sky_strdup(tn->provider);
}

static char *ms_text(int ms)
{
	return sky_asprintf("%g", ms / 1000.0);
}

static void ticker_op(struct plan_ctx *ctx, const char *node, const char *key, char *from, char *to)
{
	struct plan_op *op;

	op = plan_ctx_op_add(ctx, PHASE_SETTINGS, PLAN_OP_SET_TICKER, PLAN_ACTION_CHANGE, node);
	op->subject = sky_strdup(key);
	op->from = from;
	op->to = to;
}

/*
 * settings.ticker_* on the root: one operation per threshold that differs from the queue's.
 * A root about to be created gets create_root's defaults first. A node that is a root only
 * after this plan's switchover or failover gets them from the next plan (its promotion sets
 * the defaults); a root whose thresholds were not read is left alone.
 */
static void plan_ticker(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	int count, lag, idle, h_count = TOPO_TICKER_MAX_COUNT, h_lag = TOPO_TICKER_MAX_LAG_MS,
	                      h_idle = TOPO_TICKER_IDLE_PERIOD_MS;

	if (plan_view_created(v)) {
		if (v->have->self.role != SKY_ROLE_ROOT || v->have->self.ticker_max_count <= 0)
			return;
		h_count = v->have->self.ticker_max_count;
		h_lag = v->have->self.ticker_max_lag_ms;
		h_idle = v->have->self.ticker_idle_period_ms;
	}
	topology_ticker(ctx->topo, &count, &lag, &idle);
	if (count != h_count)
		ticker_op(ctx, tn->name, "ticker_max_count", sky_asprintf("%d", h_count),
		          sky_asprintf("%d", count));
	if (lag != h_lag)
		ticker_op(ctx, tn->name, "ticker_max_lag", ms_text(h_lag), ms_text(lag));
	if (idle != h_idle)
		ticker_op(ctx, tn->name, "ticker_idle_period", ms_text(h_idle), ms_text(idle));
}

/*
 * parallel_copies of a non-root node (the root never copies). A node that is not created
 * yet, or whose pgq_set predates the setting, has (or will have) the catalog default 1.
 * The root: its queue's ticker thresholds (plan_ticker).
 */
void plan_settings(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	int want = topology_parallel_copies(ctx->topo, tn);
	int have = 1;
	struct plan_op *op;

	if (plan_view_fenced(v))
		return;
	if (tn->role == SKY_ROLE_ROOT) {
		plan_ticker(ctx, v);
		return;
	}
	if (plan_view_created(v) && v->have->self.parallel_copies > 0)
		have = v->have->self.parallel_copies;
	if (have == want)
		return;
	op = plan_ctx_op_add(ctx, PHASE_SETTINGS, PLAN_OP_SET_PARALLEL_COPIES, PLAN_ACTION_CHANGE,
	                     tn->name);
	op->from = sky_asprintf("%d", have);
	op->to = sky_asprintf("%d", want);
}

/*
 * A provider change needs the node's tables in sync: a table still copying or catching up
 * holds a position (a snapshot or a tick) that only means something on the old provider.
 */
static void plan_change_provider(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	const struct actual_identity *id = &v->have->self;
	struct plan_op *op;

	for (size_t i = 0; i < v->have->n_tables; i++) {
		const struct actual_table *at = &v->have->tables[i];

		if (at->state && strcmp(at->state, "ok") != 0) {
			plan_ctx_problem_add(
			    ctx, tn->name,
			    "provider change %s -> %s waits until the node's tables are in "
			    "sync (table %s is %s)",
			    id->provider, tn->provider, at->name, at->state);
			return;
		}
	}
	op = plan_ctx_op_add(ctx, PHASE_TOPOLOGY, PLAN_OP_CHANGE_PROVIDER, PLAN_ACTION_CHANGE,
	                     tn->name);
	op->from = sky_strdup(id->provider);
	op->provider = sky_strdup(tn->provider);
	op->paused = tn->paused;
}

/* A created node must be what the topology says; what would take more than the operations
 * this version has to change is reported as a problem. */
void plan_check_identity(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	const struct actual_identity *id = &v->have->self;
	struct plan_op *op;

	if (!plan_view_created(v)) {
		if (v->usable && tn->paused)
			plan_ctx_problem_add(ctx, tn->name,
			                     "creating a paused node is not supported yet");
		return;
	}
	if (id->fenced) {
		if (tn->role == SKY_ROLE_ROOT) {
			plan_ctx_problem_add(
			    ctx, tn->name,
			    "is fenced (it was marked dead): it rejoins as a branch or leaf "
			    "under a live provider, not as the root");
			return;
		}
		op = plan_ctx_op_add(ctx, PHASE_TOPOLOGY, PLAN_OP_REJOIN, PLAN_ACTION_CHANGE,
		                     tn->name);
		op->provider = sky_strdup(tn->provider);
		op->to = sky_asprintf("%s/skycascade-lost-%s-%s.json",
		                      ctx->opts->lost_dir ? ctx->opts->lost_dir : ".",
		                      ctx->topo->cascade, tn->name);
		op->paused = tn->paused;
		return;
	}
	if (!plan_stored_is(ctx->topo, id->name, tn->name)) {
		plan_ctx_problem_add(
		    ctx, tn->name,
		    "the database holds node \"%s\" of cascade \"%s\" (to rename it, add "
		    "renamed_from: %s to node \"%s\")",
		    id->name, ctx->topo->cascade, id->name, tn->name);
		return;
	}
	if (ctx->switch_from &&
	    (strcmp(tn->name, ctx->switch_from) == 0 || strcmp(tn->name, ctx->switch_to) == 0))
		return; /* the switchover sets role, provider and pause of both */
	if (id->role != tn->role) {
		plan_ctx_problem_add(ctx, tn->name, "role change %s -> %s is not supported yet",
		                     sky_role_name(id->role), sky_role_name(tn->role));
		return;
	}
	if (tn->role != SKY_ROLE_ROOT && !plan_stored_is(ctx->topo, id->provider, tn->provider)) {
		plan_change_provider(ctx, v);
		return;
	}
	if (id->paused != tn->paused) {
		op = plan_ctx_op_add(ctx, PHASE_TOPOLOGY,
		                     tn->paused ? PLAN_OP_PAUSE : PLAN_OP_RESUME,
		                     PLAN_ACTION_CHANGE, tn->name);
		(void)op;
	}
}
