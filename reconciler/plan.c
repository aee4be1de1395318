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
 */
#include "plan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A growing list of operations: one per phase, concatenated at the end. */
struct op_list {
	struct plan_op *ops;
	size_t n;
	size_t cap;
};

enum plan_phase {
	PHASE_INSTALL = 0,
	PHASE_FENCE,
	PHASE_RENAME,
	PHASE_MEMBERS,
	PHASE_ROOT,
	PHASE_CREATE,
	PHASE_SETTINGS,
	PHASE_SWITCHOVER,
	PHASE_TOPOLOGY,
	PHASE_UNREGISTER,
	PHASE_DROP,
	PHASE_TABLE_REMOVE,
	PHASE_TABLE_ADD,
	PHASE_SEQUENCES,
	PHASE_COUNT
};

struct plan_ctx {
	const struct topology *topo;
	const struct actual_state *actual;
	const struct plan_options *opts;
	struct plan *plan;
	struct op_list phase[PHASE_COUNT];
	const struct topo_table *
	    *refused; /* tables the root's checks refused (not added anywhere) */
	size_t n_refused;
	const char *switch_from; /* a switchover is planned: the old root ... */
	const char *switch_to;   /* ... and the new one (borrowed from the topology) */
	size_t *order;           /* indexes into topo->nodes, provider order */
	size_t n_order;
	size_t problems_cap;
};

static char *dup_or_null(const char *s)
{
	return s ? sky_strdup(s) : NULL;
}

static struct plan_op *op_add(struct plan_ctx *ctx, enum plan_phase phase, enum plan_op_kind kind,
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

static void problem_add(struct plan_ctx *ctx, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem_add(struct plan_ctx *ctx, const char *node, const char *fmt, ...)
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
	p->node = dup_or_null(node);
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
 * topology.c when the file is read; a topology that breaks them here was not checked and is
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

/* What a node looks like for planning: its catalog, or empty once we plan to install. */
struct node_view {
	const struct topo_node *want;
	const struct actual_node *have;
	bool usable; /* reachable and its catalog was read */
	bool fresh;  /* pgq_set will be installed by this plan: no catalog contents yet */
};

static bool view_created(const struct node_view *v)
{
	return v->usable && !v->fresh && v->have->created;
}

/* Fenced (it was marked dead): only a rejoin, or staying dead, changes it. */
static bool view_fenced(const struct node_view *v)
{
	return view_created(v) && v->have->self.fenced;
}

static void plan_install(struct plan_ctx *ctx, struct node_view *v)
{
	const struct actual_node *an = v->have;
	const char *want = ctx->opts->sql_version;
	struct plan_op *op;

	if (!an->has_pgq || !an->has_pgq_set || !an->version) {
		op = op_add(ctx, PHASE_INSTALL, PLAN_OP_INSTALL, PLAN_ACTION_ADD, v->want->name);
		op->to = sky_strdup(want);
		v->fresh = !an->has_pgq_set;
		return;
	}
	if (plan_version_cmp(an->version, want) == 0) {
		/* same catalog; the functions may still differ: re-run the installer */
		const char *digest = ctx->opts->sql_digest;

		if (!digest || (an->installer && strcmp(an->installer, digest) == 0))
			return;
		op = op_add(ctx, PHASE_INSTALL, PLAN_OP_UPGRADE, PLAN_ACTION_CHANGE, v->want->name);
		op->from = sky_asprintf("%s (installer %s)", an->version,
		                        an->installer ? an->installer : "unknown");
		op->to = sky_asprintf("%s (installer %s)", want, digest);
		return;
	}
	if (plan_version_cmp(an->version, want) > 0) {
		problem_add(ctx, v->want->name,
		            "pgq_set %s is newer than the version this skyreconcile installs (%s)",
		            an->version, want);
		return;
	}
	op = op_add(ctx, PHASE_INSTALL, PLAN_OP_UPGRADE, PLAN_ACTION_CHANGE, v->want->name);
	op->from = sky_strdup(an->version);
	op->to = sky_strdup(want);
}

/* The topology node a name stored in a catalog means: the node of that name, or the node
 * renamed from it (renamed_from). NULL when the topology has neither. */
static const struct topo_node *topo_node_by_stored(const struct topology *topo, const char *stored)
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
static bool stored_is(const struct topology *topo, const char *stored, const char *name)
{
	const struct topo_node *n = topo_node_by_stored(topo, stored);

	return n && name && strcmp(n->name, name) == 0;
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
			problem_add(ctx, tn->name,
			            "provider change %s -> %s waits until the node's tables are in "
			            "sync (table %s is %s)",
			            id->provider, tn->provider, at->name, at->state);
			return;
		}
	}
	op = op_add(ctx, PHASE_TOPOLOGY, PLAN_OP_CHANGE_PROVIDER, PLAN_ACTION_CHANGE, tn->name);
	op->from = sky_strdup(id->provider);
	op->provider = sky_strdup(tn->provider);
	op->paused = tn->paused;
}

/*
 * The root moves when the file's root is not the only node whose catalog says root: another
 * live node is (or still is, in an interrupted switchover) the root in its catalog and the file
 * gives it another role. An unreachable old root is no switchover: a failover is said with
 * dead: true, never inferred from a connection failure.
 */
static void plan_switchover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
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
		else if (view_created(v) && !view_fenced(v) && v->have->self.role == SKY_ROLE_ROOT)
			from = v;
	}
	if (!from || !to || !view_created(to))
		return;
	ctx->switch_from = from->want->name;
	ctx->switch_to = to->want->name;
	if (to->have->self.role == SKY_ROLE_LEAF) {
		problem_add(ctx, to->want->name,
		            "a leaf cannot become the root (make it a branch first)");
		return;
	}
	if (from->want->role == SKY_ROLE_ROOT) {
		problem_add(ctx, from->want->name, "the old root needs a branch or leaf role");
		return;
	}
	for (size_t i = 0; to->have->self.role != SKY_ROLE_ROOT && i < to->have->n_tables; i++) {
		const struct actual_table *at = &to->have->tables[i];

		if (at->state && strcmp(at->state, "ok") != 0) {
			problem_add(
			    ctx, to->want->name,
			    "switchover waits until the new root's tables are in sync (table %s "
			    "is %s)",
			    at->name, at->state);
			return;
		}
	}
	op = op_add(ctx, PHASE_SWITCHOVER, PLAN_OP_SWITCHOVER, PLAN_ACTION_CHANGE, to->want->name);
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
static void plan_failover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
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
		if (view_created(&views[k]) && !view_fenced(&views[k]) &&
		    views[k].have->self.role == SKY_ROLE_ROOT)
			return; /* a live node is the root in its catalog: no failover */
	}
	if (!to || !view_created(to))
		return;
	/* follow the catalogs' providers up from the new root to a dead or unreachable node */
	hop = to->have->self.provider;
	for (size_t guard = 0; hop && guard <= n_views; guard++) {
		const struct topo_node *hn = topo_node_by_stored(ctx->topo, hop);
		const struct actual_node *ha = hn ? actual_state_node(ctx->actual, hn->name) : NULL;

		if (!hn)
			break;
		if (hn->dead) {
			dead = hn;
			break;
		}
		if (!ha || !ha->reachable) {
			problem_add(
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
		problem_add(ctx, want->name, "a %s cannot become the root (make it a branch first)",
		            sky_role_name(to->have->self.role));
		return;
	}
	for (size_t i = 0; i < to->have->n_tables; i++) {
		const struct actual_table *at = &to->have->tables[i];

		if (at->state && strcmp(at->state, "ok") != 0) {
			problem_add(
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

		if (!view_created(v) || !stored_is(ctx->topo, v->have->self.provider, dead->name))
			continue;
		sky_buf_addf(&surv, "%s%s %lld", surv.len ? ", " : "", v->want->name,
		             v->have->self.last_tick);
		if (v->have->self.role == SKY_ROLE_BRANCH &&
		    v->have->self.last_tick > src->have->self.last_tick)
			src = v;
	}
	for (size_t k = 0; k < n_views; k++) {
		const struct node_view *v = &views[k];

		if (view_created(v) && v->have->self.role == SKY_ROLE_LEAF &&
		    stored_is(ctx->topo, v->have->self.provider, dead->name) &&
		    v->have->self.last_tick > src->have->self.last_tick) {
			problem_add(
			    ctx, v->want->name,
			    "leaf at tick %lld is ahead of every surviving branch (%s at %lld): "
			    "it applied events no survivor holds; remove it from the file "
			    "and add it again to copy it afresh",
			    v->have->self.last_tick, src->want->name, src->have->self.last_tick);
			sky_buf_release(&surv);
			return;
		}
	}
	op = op_add(ctx, PHASE_SWITCHOVER, PLAN_OP_FAILOVER, PLAN_ACTION_CHANGE, want->name);
	op->from = sky_strdup(dead->name);
	op->subject = src != to ? sky_strdup(src->want->name) : NULL;
	op->to = sky_asprintf("%lld", src->have->self.last_tick);
	op->survivors = sky_buf_detach(&surv);
	op->paused = want->paused;
}

/* A created node must be what the topology says; what would take more than the operations
 * this version has to change is reported as a problem. */
static void plan_check_identity(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	const struct actual_identity *id = &v->have->self;
	struct plan_op *op;

	if (!view_created(v)) {
		if (v->usable && tn->paused)
			problem_add(ctx, tn->name, "creating a paused node is not supported yet");
		return;
	}
	if (id->fenced) {
		if (tn->role == SKY_ROLE_ROOT) {
			problem_add(
			    ctx, tn->name,
			    "is fenced (it was marked dead): it rejoins as a branch or leaf "
			    "under a live provider, not as the root");
			return;
		}
		op = op_add(ctx, PHASE_TOPOLOGY, PLAN_OP_REJOIN, PLAN_ACTION_CHANGE, tn->name);
		op->provider = sky_strdup(tn->provider);
		op->to = sky_asprintf("%s/skycascade-lost-%s-%s.json",
		                      ctx->opts->lost_dir ? ctx->opts->lost_dir : ".",
		                      ctx->topo->cascade, tn->name);
		op->paused = tn->paused;
		return;
	}
	if (!stored_is(ctx->topo, id->name, tn->name)) {
		problem_add(ctx, tn->name,
		            "the database holds node \"%s\" of cascade \"%s\" (to rename it, add "
		            "renamed_from: %s to node \"%s\")",
		            id->name, ctx->topo->cascade, id->name, tn->name);
		return;
	}
	if (ctx->switch_from &&
	    (strcmp(tn->name, ctx->switch_from) == 0 || strcmp(tn->name, ctx->switch_to) == 0))
		return; /* the switchover sets role, provider and pause of both */
	if (id->role != tn->role) {
		problem_add(ctx, tn->name, "role change %s -> %s is not supported yet",
		            sky_role_name(id->role), sky_role_name(tn->role));
		return;
	}
	if (tn->role != SKY_ROLE_ROOT && !stored_is(ctx->topo, id->provider, tn->provider)) {
		plan_change_provider(ctx, v);
		return;
	}
	if (id->paused != tn->paused) {
		op = op_add(ctx, PHASE_TOPOLOGY, tn->paused ? PLAN_OP_PAUSE : PLAN_OP_RESUME,
		            PLAN_ACTION_CHANGE, tn->name);
		(void)op;
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
static void plan_renames(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
{
	for (size_t i = 0; i < ctx->topo->n_nodes; i++) {
		const struct topo_node *tn = &ctx->topo->nodes[i];
		struct plan_op *op;

		if (!tn->renamed_from)
			continue;
		for (size_t k = 0; k < n_views; k++) {
			if (!view_stores_name(&views[k], tn->renamed_from))
				continue;
			op =
			    op_add(ctx, PHASE_RENAME, PLAN_OP_RENAME, PLAN_ACTION_CHANGE, tn->name);
			op->subject = sky_strdup(tn->renamed_from);
			break;
		}
	}
}

/*
 * Subscribers a provider still pins that pull from elsewhere: left behind by a provider
 * change that was interrupted after the switch, or made by hand. A subscriber that still
 * pulls from here is left to its change-provider operation (which unregisters it last).
 */
static void plan_unregisters(struct plan_ctx *ctx, const struct node_view *v)
{
	if (!view_created(v) || view_fenced(v))
		return;
	for (size_t i = 0; i < v->have->n_subscribers; i++) {
		const struct actual_subscriber *sub = &v->have->subscribers[i];
		const struct topo_node *ts = topo_node_by_stored(ctx->topo, sub->name);
		const struct actual_node *sa;
		struct plan_op *op;

		if (!ts)
			continue; /* not in the topology: dropped (plan_drops) */
		if (ts->dead) {
			/* fenced: it must not pin retention here any more */
			op = op_add(ctx, PHASE_UNREGISTER, PLAN_OP_UNREGISTER, PLAN_ACTION_REMOVE,
			            v->want->name);
			op->subject = sky_strdup(sub->name);
			continue;
		}
		if (ts->role != SKY_ROLE_ROOT && ts->provider &&
		    strcmp(ts->provider, v->want->name) == 0)
			continue;
		sa = actual_state_node(ctx->actual, ts->name);
		if (!sa || !sa->reachable)
			continue; /* reported as unreachable */
		if (sa->created && stored_is(ctx->topo, sa->self.provider, v->want->name))
			continue;
		op = op_add(ctx, PHASE_UNREGISTER, PLAN_OP_UNREGISTER, PLAN_ACTION_REMOVE,
		            v->want->name);
		op->subject = sky_strdup(sub->name);
	}
}

/* Nodes the catalogs know (members, subscribers) that the topology no longer has. */
static void plan_drops(struct plan_ctx *ctx, const struct node_view *views, size_t n_views)
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

			if (!name || topo_node_by_stored(ctx->topo, name))
				continue;
			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = strcmp(seen[j], name) == 0;
			if (dup)
				continue;
			seen = sky_realloc(seen, (n_seen + 1) * sizeof(*seen));
			seen[n_seen++] = (char *)name;
			op = op_add(ctx, PHASE_DROP, PLAN_OP_DROP_NODE, PLAN_ACTION_REMOVE, name);
			(void)op;
		}
	}
	free(seen);
}

static void plan_member(struct plan_ctx *ctx, const struct node_view *v, const struct topo_node *m)
{
	const struct actual_member *am = v->fresh ? NULL : actual_node_member(v->have, m->name);
	bool same_location;
	struct plan_op *op;

	/* a fenced node's own row stays dead until its rejoin re-creates it */
	if (view_fenced(v) && m == v->want)
		return;
	/* a renamed member keeps its row: the rename phase gives it the new name */
	if (!am && !v->fresh && m->renamed_from)
		am = actual_node_member(v->have, m->renamed_from);
	same_location = am && am->location && strcmp(am->location, m->dsn) == 0;
	if (same_location && am->dead == m->dead)
		return;
	op = op_add(ctx, PHASE_MEMBERS, am ? PLAN_OP_UPDATE_MEMBER : PLAN_OP_ADD_MEMBER,
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
static void plan_members(struct plan_ctx *ctx, const struct node_view *v)
{
	for (size_t k = 0; k < ctx->n_order; k++)
		plan_member(ctx, v, &ctx->topo->nodes[ctx->order[k]]);
	for (size_t i = 0; i < ctx->topo->n_nodes; i++) {
		if (ctx->topo->nodes[i].dead)
			plan_member(ctx, v, &ctx->topo->nodes[i]);
	}
}

/*
 * Nodes marked dead: a reachable one is fenced first thing (after installing pgq_set there if
 * needed); an unreachable one is expected and no problem (it is fenced when it comes back).
 */
static void plan_dead_nodes(struct plan_ctx *ctx)
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
		op_add(ctx, PHASE_FENCE, PLAN_OP_FENCE, PLAN_ACTION_CHANGE, tn->name);
	}
}

static void plan_create(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	struct plan_op *op;

	if (view_created(v))
		return;
	if (tn->role == SKY_ROLE_ROOT) {
		op = op_add(ctx, PHASE_ROOT, PLAN_OP_CREATE_ROOT, PLAN_ACTION_ADD, tn->name);
		op->subject = sky_strdup(ctx->topo->cascade);
		return;
	}
	op = op_add(ctx, PHASE_CREATE,
	            tn->role == SKY_ROLE_BRANCH ? PLAN_OP_CREATE_BRANCH : PLAN_OP_CREATE_LEAF,
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

	op = op_add(ctx, PHASE_SETTINGS, PLAN_OP_SET_TICKER, PLAN_ACTION_CHANGE, node);
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

	if (view_created(v)) {
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
static void plan_settings(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	int want = topology_parallel_copies(ctx->topo, tn);
	int have = 1;
	struct plan_op *op;

	if (view_fenced(v))
		return;
	if (tn->role == SKY_ROLE_ROOT) {
		plan_ticker(ctx, v);
		return;
	}
	if (view_created(v) && v->have->self.parallel_copies > 0)
		have = v->have->self.parallel_copies;
	if (have == want)
		return;
	op = op_add(ctx, PHASE_SETTINGS, PLAN_OP_SET_PARALLEL_COPIES, PLAN_ACTION_CHANGE, tn->name);
	op->from = sky_asprintf("%d", have);
	op->to = sky_asprintf("%d", want);
}

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
static void plan_table_removes(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;

	if (!view_created(v) || view_fenced(v))
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
		op = op_add(ctx, PHASE_TABLE_REMOVE, PLAN_OP_REMOVE_TABLE, PLAN_ACTION_REMOVE,
		            tn->name);
		op->subject = sky_strdup(at->name);
		op->provider = dup_or_null(tn->provider);
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
		problem_add(
		    ctx, v->want->name,
		    "table \"%s\" does not exist on the root (create it there first: the root "
		    "captures it and every other node copies it)",
		    tt->name);
	else if (k->partitioned)
		problem_add(ctx, v->want->name,
		            "table \"%s\" is partitioned: list its partitions in tables: instead",
		            tt->name);
	else if (!k->has_pk)
		problem_add(
		    ctx, v->want->name,
		    "table \"%s\" has no primary key: only tables with a primary key can be "
		    "replicated",
		    tt->name);
	else if (k->pk_deferrable)
		problem_add(ctx, v->want->name,
		            "table \"%s\" has a deferrable primary key: only a primary key checked "
		            "immediately can be replicated",
		            tt->name);
	else
		return true;
	return false;
}

/* Tables the topology wants on a node that its catalog does not list (yet). */
static void plan_table_adds(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	bool created = view_created(v);

	if (view_fenced(v))
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
		op = op_add(ctx, PHASE_TABLE_ADD, PLAN_OP_ADD_TABLE, PLAN_ACTION_ADD, tn->name);
		op->subject = sky_strdup(tt->name);
		op->provider = dup_or_null(tn->provider);
		op->create = tt->create;
	}
}

/*
 * The listed sequences, on every created node (any branch may become the root). A node whose
 * pgq_set predates them gets them after its upgrade (the plan upgrades it first).
 */
static void plan_sequences(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct actual_node *an = v->have;
	bool known = view_created(v) && an->has_sequences;

	if (!v->usable || view_fenced(v))
		return;
	for (size_t i = 0; i < ctx->topo->n_sequences; i++) {
		const char *name = ctx->topo->sequences[i];
		bool have = false;
		struct plan_op *op;

		for (size_t k = 0; known && k < an->n_sequences && !have; k++)
			have = strcmp(an->sequences[k], name) == 0;
		if (have)
			continue;
		op = op_add(ctx, PHASE_SEQUENCES, PLAN_OP_ADD_SEQUENCE, PLAN_ACTION_ADD,
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
		op = op_add(ctx, PHASE_SEQUENCES, PLAN_OP_REMOVE_SEQUENCE, PLAN_ACTION_REMOVE,
		            v->want->name);
		op->subject = sky_strdup(an->sequences[k]);
	}
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
			problem_add(&ctx, v->want->name, "unreachable: %s",
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

bool plan_op_is_table(const struct plan_op *op)
{
	return op->kind == PLAN_OP_ADD_TABLE || op->kind == PLAN_OP_REMOVE_TABLE;
}

enum plan_scope plan_failure_scope(const struct plan_op *op, const char *sqlstate)
{
	/* 42P01 undefined_table: the table is not there (and not to be created): the
	 * user's to fix, and nothing else waits for it */
	if (op->kind == PLAN_OP_ADD_TABLE && sqlstate && strcmp(sqlstate, "42P01") == 0)
		return PLAN_SCOPE_ALL;
	if (plan_op_is_table(op))
		return PLAN_SCOPE_TABLES;
	return PLAN_SCOPE_NONE;
}

bool plan_op_depends_on(const struct plan_op *later, const struct plan_op *earlier)
{
	if (later->kind != earlier->kind || !later->subject || !earlier->subject ||
	    strcmp(later->subject, earlier->subject) != 0)
		return false;
	switch (later->kind) {
	case PLAN_OP_ADD_TABLE:
		/* a node copies the table from its provider, which must have it registered */
		return later->provider && strcmp(later->provider, earlier->node) == 0;
	case PLAN_OP_REMOVE_TABLE:
		/* a provider stops replicating the table only after its subscribers did */
		return earlier->provider && strcmp(earlier->provider, later->node) == 0;
	default:
		return false;
	}
}

enum plan_gate plan_step_gate(const struct plan *plan, size_t i, const enum plan_step *steps,
                              enum plan_scope scope, size_t *blocker)
{
	const struct plan_op *op = &plan->ops[i];

	if (scope == PLAN_SCOPE_NONE || (scope == PLAN_SCOPE_TABLES && !plan_op_is_table(op)))
		return PLAN_GATE_HOLD;
	for (size_t j = 0; j < i; j++) {
		if (steps[j] != PLAN_STEP_FAILED && steps[j] != PLAN_STEP_SKIPPED)
			continue;
		if (!plan_op_depends_on(op, &plan->ops[j]))
			continue;
		if (blocker)
			*blocker = j;
		return PLAN_GATE_SKIP;
	}
	return PLAN_GATE_RUN;
}
