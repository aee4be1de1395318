/*
 * plan_internal: what the parts of the plan engine share. Private to them: everything else
 * includes plan.h.
 *
 * plan_build (plan.c) puts the live nodes in provider order, makes one struct node_view per
 * node and calls the planners below phase by phase; each planner appends operations to its
 * phase's list (plan_ctx_op_add) or problems to the plan (plan_ctx_problem_add), and never
 * does I/O. The files:
 *   plan.c          plan_build, the phases' order, the context's lists, plan_free
 *   plan_members.c  install / upgrade, fence, rename, member rows, unregister, drop
 *   plan_nodes.c    create, settings, a created node's identity (rejoin, change provider,
 *                   pause, resume)
 *   plan_root.c     switchover, failover
 *   plan_tables.c   tables and sequences
 *   plan_gate.c     what still runs after a failure (plan.h's plan_step_gate and friends)
 *
 * Every pointer in a node_view and in the context is borrowed from the topology, the actual
 * state or the options, valid while plan_build runs. Operations own their strings.
 */
#ifndef SKY_PLAN_INTERNAL_H
#define SKY_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

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

/* What a node looks like for planning: its catalog, or empty once we plan to install. */
struct node_view {
	const struct topo_node *want;
	const struct actual_node *have;
	bool usable; /* reachable and its catalog was read */
	bool fresh;  /* pgq_set will be installed by this plan: no catalog contents yet */
};

static inline char *plan_strdup_or_null(const char *s)
{
	return s ? sky_strdup(s) : NULL;
}

/* The node's catalog holds the cascade (and is not about to be replaced by an install). */
static inline bool plan_view_created(const struct node_view *v)
{
	return v->usable && !v->fresh && v->have->created;
}

/* Fenced (it was marked dead): only a rejoin, or staying dead, changes it. */
static inline bool plan_view_fenced(const struct node_view *v)
{
	return plan_view_created(v) && v->have->self.fenced;
}

/* ---- plan.c ---- */

/* A new operation at the end of phase's list, zeroed but for kind, action and node (copied). */
struct plan_op *plan_ctx_op_add(struct plan_ctx *ctx, enum plan_phase phase, enum plan_op_kind kind,
                                enum plan_action action, const char *node);
/* A problem (message printf style); node may be NULL. */
void plan_ctx_problem_add(struct plan_ctx *ctx, const char *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The topology node a name stored in a catalog means (the node, or the one renamed from it). */
const struct topo_node *plan_node_by_stored(const struct topology *topo, const char *stored);
/* True when the stored name `stored` means topology node `name`. */
bool plan_stored_is(const struct topology *topo, const char *stored, const char *name);

/* ---- the planners, in the order plan_build calls them ---- */

/* plan_members.c; plan_install may mark the view fresh */
void plan_install(struct plan_ctx *ctx, struct node_view *v);
void plan_renames(struct plan_ctx *ctx, const struct node_view *views, size_t n_views);
void plan_dead_nodes(struct plan_ctx *ctx);
/* plan_root.c */
void plan_switchover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views);
void plan_failover(struct plan_ctx *ctx, const struct node_view *views, size_t n_views);
/* plan_nodes.c */
void plan_check_identity(struct plan_ctx *ctx, const struct node_view *v);
/* plan_members.c */
void plan_unregisters(struct plan_ctx *ctx, const struct node_view *v);
void plan_drops(struct plan_ctx *ctx, const struct node_view *views, size_t n_views);
void plan_members(struct plan_ctx *ctx, const struct node_view *v);
/* plan_nodes.c */
void plan_create(struct plan_ctx *ctx, const struct node_view *v);
void plan_settings(struct plan_ctx *ctx, const struct node_view *v);
/* plan_tables.c */
void plan_table_removes(struct plan_ctx *ctx, const struct node_view *v);
void plan_table_adds(struct plan_ctx *ctx, const struct node_view *v);
void plan_sequences(struct plan_ctx *ctx, const struct node_view *v);

#endif
