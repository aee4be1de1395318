/*
 * plan: desired + actual -> ordered operations (see plan.h, docs/reconciler.md). No I/O.
 *
 * Phases, each over the nodes in provider order (the root, then every node after its
 * provider, file order among equals):
 *   1. install / upgrade pgq_set
 *   2. member rows for every topology node, on every node
 *   3. create the root
 *   4. create branches and leaves
 *   5. settings of created nodes (parallel_copies)
 *   6. remove tables, in reverse provider order (every node before its provider)
 *   7. add tables
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
	PHASE_MEMBERS,
	PHASE_ROOT,
	PHASE_CREATE,
	PHASE_SETTINGS,
	PHASE_TABLE_REMOVE,
	PHASE_TABLE_ADD,
	PHASE_COUNT
};

struct plan_ctx {
	const struct topology *topo;
	const struct actual_state *actual;
	const struct plan_options *opts;
	struct plan *plan;
	struct op_list phase[PHASE_COUNT];
	size_t *order; /* indexes into topo->nodes, provider order */
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
 * Fill ctx->order with the nodes that hang off the root, in provider order: the root, then
 * repeated passes in file order adding every node whose provider is already placed. Nodes
 * that never get placed (no root, unknown provider, a cycle) become problems.
 */
static void order_nodes(struct plan_ctx *ctx)
{
	const struct topology *topo = ctx->topo;
	bool *placed = sky_calloc(topo->n_nodes + 1, sizeof(*placed));
	size_t n_roots = 0;
	bool progress = true;

	ctx->order = sky_calloc(topo->n_nodes + 1, sizeof(*ctx->order));
	for (size_t i = 0; i < topo->n_nodes; i++) {
		if (topo->nodes[i].role != SKY_ROLE_ROOT)
			continue;
		if (n_roots++ == 0) {
			placed[i] = true;
			ctx->order[ctx->n_order++] = i;
		} else {
			problem_add(ctx, topo->nodes[i].name,
			            "second root: only one node can have role root");
		}
	}
	if (n_roots == 0)
		problem_add(ctx, NULL, "the topology has no root node");
	while (progress) {
		progress = false;
		for (size_t i = 0; i < topo->n_nodes; i++) {
			const struct topo_node *tn = &topo->nodes[i];
			size_t p;

			if (placed[i] || tn->role == SKY_ROLE_ROOT || !tn->provider)
				continue;
			p = topo_index(topo, tn->provider);
			if (p == (size_t)-1 || !placed[p])
				continue;
			placed[i] = true;
			ctx->order[ctx->n_order++] = i;
			progress = true;
		}
	}
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];

		if (placed[i] || tn->role == SKY_ROLE_ROOT)
			continue;
		if (!tn->provider)
			problem_add(ctx, tn->name, "a %s needs a provider",
			            sky_role_name(tn->role));
		else if (topo_index(topo, tn->provider) == (size_t)-1)
			problem_add(ctx, tn->name, "provider \"%s\" is not a node of the topology",
			            tn->provider);
		else
			problem_add(ctx, tn->name,
			            "provider chain from \"%s\" does not reach the root",
			            tn->provider);
	}
	free(placed);
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

/* A created node must be what the topology says; what would take more than this issue's
 * operations to change is reported as a problem. */
static void plan_check_identity(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	const struct actual_identity *id = &v->have->self;
	const struct topo_node *prov = tn->provider ? topology_node(ctx->topo, tn->provider) : NULL;

	if (prov && prov->role == SKY_ROLE_LEAF)
		problem_add(ctx, tn->name, "provider \"%s\" is a leaf: a leaf cannot be a provider",
		            prov->name);
	if (!view_created(v)) {
		if (v->usable && tn->paused)
			problem_add(ctx, tn->name, "creating a paused node is not supported yet");
		return;
	}
	if (strcmp(id->name, tn->name) != 0) {
		problem_add(ctx, tn->name,
		            "the database holds node \"%s\" of cascade \"%s\": "
		            "rename is not supported yet",
		            id->name, ctx->topo->cascade);
		return;
	}
	if (id->role != tn->role) {
		problem_add(ctx, tn->name, "role change %s -> %s is not supported yet",
		            sky_role_name(id->role), sky_role_name(tn->role));
		return;
	}
	if (tn->role != SKY_ROLE_ROOT &&
	    (!id->provider || !tn->provider || strcmp(id->provider, tn->provider) != 0)) {
		problem_add(ctx, tn->name, "provider change %s -> %s is not supported yet",
		            id->provider ? id->provider : "(none)",
		            tn->provider ? tn->provider : "(none)");
		return;
	}
	if (id->paused != tn->paused)
		problem_add(ctx, tn->name, "%s is not supported yet",
		            tn->paused ? "pause" : "resume");
}

static void plan_members(struct plan_ctx *ctx, const struct node_view *v)
{
	for (size_t k = 0; k < ctx->n_order; k++) {
		const struct topo_node *m = &ctx->topo->nodes[ctx->order[k]];
		const struct actual_member *am =
		    v->fresh ? NULL : actual_node_member(v->have, m->name);
		struct plan_op *op;

		if (am && am->location && strcmp(am->location, m->dsn) == 0)
			continue;
		op = op_add(ctx, PHASE_MEMBERS, am ? PLAN_OP_UPDATE_MEMBER : PLAN_OP_ADD_MEMBER,
		            am ? PLAN_ACTION_CHANGE : PLAN_ACTION_ADD, v->want->name);
		op->subject = sky_strdup(m->name);
		op->location = sky_strdup(m->dsn);
		/* a member marked dead stays dead: only failover/resurrect change that */
		op->dead = am ? am->dead : false;
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

/*
 * parallel_copies of a non-root node (the root never copies). A node that is not created
 * yet, or whose pgq_set predates the setting, has (or will have) the catalog default 1.
 */
static void plan_settings(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	int want = topology_parallel_copies(ctx->topo, tn);
	int have = 1;
	struct plan_op *op;

	if (tn->role == SKY_ROLE_ROOT)
		return;
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

	if (!view_created(v))
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

/* Tables the topology wants on a node that its catalog does not list (yet). */
static void plan_table_adds(struct plan_ctx *ctx, const struct node_view *v)
{
	const struct topo_node *tn = v->want;
	bool created = view_created(v);

	for (size_t t = 0; t < ctx->topo->n_tables; t++) {
		const struct topo_table *tt = &ctx->topo->tables[t];
		struct plan_op *op;

		if (!topology_table_on_node(tt, tn->name))
			continue;
		if (created && actual_node_table(v->have, tt->name))
			continue;
		op = op_add(ctx, PHASE_TABLE_ADD, PLAN_OP_ADD_TABLE, PLAN_ACTION_ADD, tn->name);
		op->subject = sky_strdup(tt->name);
		op->provider = dup_or_null(tn->provider);
		op->create = tt->create;
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

	order_nodes(&ctx);
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
	for (size_t k = 0; k < ctx.n_order; k++) {
		if (views[k].usable)
			plan_check_identity(&ctx, &views[k]);
	}
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

char plan_action_sign(enum plan_action action)
{
	switch (action) {
	case PLAN_ACTION_ADD:
		return '+';
	case PLAN_ACTION_CHANGE:
		return '~';
	case PLAN_ACTION_REMOVE:
		return '-';
	}
	return '?';
}

const char *plan_op_kind_name(enum plan_op_kind kind)
{
	static const char *const names[PLAN_OP_KIND_COUNT] = {
	    [PLAN_OP_INSTALL] = "install",
	    [PLAN_OP_UPGRADE] = "upgrade",
	    [PLAN_OP_ADD_MEMBER] = "add_member",
	    [PLAN_OP_UPDATE_MEMBER] = "update_member",
	    [PLAN_OP_CREATE_ROOT] = "create_root",
	    [PLAN_OP_CREATE_BRANCH] = "create_branch",
	    [PLAN_OP_CREATE_LEAF] = "create_leaf",
	    [PLAN_OP_ADD_TABLE] = "add_table",
	    [PLAN_OP_SET_PARALLEL_COPIES] = "set_parallel_copies",
	    [PLAN_OP_REMOVE_TABLE] = "remove_table",
	};

	if ((int)kind < 0 || kind >= PLAN_OP_KIND_COUNT || !names[kind])
		return "unknown";
	return names[kind];
}

void plan_op_describe(struct sky_buf *out, const struct plan_op *op)
{
	sky_buf_addf(out, "%s: ", op->node);
	switch (op->kind) {
	case PLAN_OP_INSTALL:
		sky_buf_addf(out, "install pgq_set %s", op->to);
		break;
	case PLAN_OP_UPGRADE:
		sky_buf_addf(out, "upgrade pgq_set %s -> %s", op->from, op->to);
		break;
	case PLAN_OP_ADD_MEMBER:
		sky_buf_addf(out, "add member \"%s\"", op->subject);
		break;
	case PLAN_OP_UPDATE_MEMBER:
		sky_buf_addf(out, "update member \"%s\" location", op->subject);
		break;
	case PLAN_OP_CREATE_ROOT:
		sky_buf_addf(out, "create root of cascade \"%s\"", op->subject);
		break;
	case PLAN_OP_CREATE_BRANCH:
		sky_buf_addf(out, "create branch (provider %s)", op->provider);
		break;
	case PLAN_OP_CREATE_LEAF:
		sky_buf_addf(out, "create leaf (provider %s)", op->provider);
		break;
	case PLAN_OP_ADD_TABLE:
		sky_buf_addf(out, "add table %s", op->subject);
		break;
	case PLAN_OP_SET_PARALLEL_COPIES:
		sky_buf_addf(out, "set parallel_copies %s -> %s", op->from, op->to);
		break;
	case PLAN_OP_REMOVE_TABLE:
		sky_buf_addf(out, "remove table %s", op->subject);
		break;
	case PLAN_OP_KIND_COUNT:
		sky_buf_adds(out, "unknown operation");
		break;
	}
}

void plan_problem_describe(struct sky_buf *out, const struct plan_problem *problem)
{
	if (problem->node)
		sky_buf_addf(out, "%s: ", problem->node);
	sky_buf_adds(out, problem->message);
}

json_t *plan_op_to_json(const struct plan_op *op)
{
	json_t *o = json_object();
	char sign[2] = {plan_action_sign(op->action), '\0'};
	struct sky_buf text;

	json_object_set_new(o, "action", json_string(sign));
	json_object_set_new(o, "op", json_string(plan_op_kind_name(op->kind)));
	json_object_set_new(o, "node", json_string(op->node));
	switch (op->kind) {
	case PLAN_OP_ADD_MEMBER:
	case PLAN_OP_UPDATE_MEMBER:
		json_object_set_new(o, "member", json_string(op->subject));
		break;
	case PLAN_OP_ADD_TABLE:
		json_object_set_new(o, "table", json_string(op->subject));
		json_object_set_new(o, "create", json_boolean(op->create));
		break;
	case PLAN_OP_REMOVE_TABLE:
		json_object_set_new(o, "table", json_string(op->subject));
		break;
	default:
		break;
	}
	if (op->provider)
		json_object_set_new(o, "provider", json_string(op->provider));
	if (op->from)
		json_object_set_new(o, "from", json_string(op->from));
	if (op->to)
		json_object_set_new(o, "to", json_string(op->to));
	sky_buf_init(&text);
	plan_op_describe(&text, op);
	json_object_set_new(o, "text", json_string(text.data));
	sky_buf_release(&text);
	return o;
}

json_t *plan_to_json(const struct plan *plan)
{
	json_t *root = json_object();
	json_t *ops = json_array();
	json_t *problems = json_array();
	json_t *summary = json_object();

	json_object_set_new(root, "cascade", json_string(plan->cascade));
	json_object_set_new(root, "changes", json_boolean(plan->n_ops > 0));
	for (size_t i = 0; i < plan->n_ops; i++)
		json_array_append_new(ops, plan_op_to_json(&plan->ops[i]));
	for (size_t i = 0; i < plan->n_problems; i++) {
		json_t *p = json_object();

		json_object_set_new(p, "node",
		                    plan->problems[i].node ? json_string(plan->problems[i].node)
		                                           : json_null());
		json_object_set_new(p, "message", json_string(plan->problems[i].message));
		json_array_append_new(problems, p);
	}
	json_object_set_new(root, "ops", ops);
	json_object_set_new(root, "problems", problems);
	json_object_set_new(summary, "add", json_integer((json_int_t)plan->n_add));
	json_object_set_new(summary, "change", json_integer((json_int_t)plan->n_change));
	json_object_set_new(summary, "remove", json_integer((json_int_t)plan->n_remove));
	json_object_set_new(root, "summary", summary);
	return root;
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
