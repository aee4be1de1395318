/*
 * plan: the plan engine. Desired state (struct topology) + actual state (struct actual_state)
 * in, an ordered list of operations out. No I/O of any kind: unit-tested without a database
 * (tests/unit/test_plan*.c). See docs/reconciler.md for the order and the output format.
 *
 * What cannot be reconciled (an unreachable node, a role change that needs a switchover ...)
 * is a problem, not an operation: a plan with problems is printed but never applied.
 *
 * A struct plan owns copies of everything it refers to (it stays valid after the topology
 * and the actual state are freed) and is freed with plan_free. Member operations carry the
 * member's DSN in `location`: it may hold a password and is never printed by anything here.
 */
#ifndef SKY_PLAN_H
#define SKY_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "actual.h"
#include "sky_error.h"
#include "sky_mem.h"
#include "topology.h"

enum plan_action {
	PLAN_ACTION_ADD = 0, /* "+" */
	PLAN_ACTION_CHANGE,  /* "~" */
	PLAN_ACTION_REMOVE,  /* "-" */
};

/*
 * One kind per admin operation. The order of this enum is not the order of a plan:
 * plan_build orders operations by phase and node (docs/reconciler.md).
 */
enum plan_op_kind {
	PLAN_OP_INSTALL = 0,   /* extension pgq + the pgq_set install script; to = version */
	PLAN_OP_UPGRADE,       /* the install script over an older pgq_set; from -> to */
	PLAN_OP_ADD_MEMBER,    /* subject = member node; location, dead */
	PLAN_OP_UPDATE_MEMBER, /* subject = member node; location, dead (kept as stored) */
	PLAN_OP_CREATE_ROOT,   /* subject = cascade */
	PLAN_OP_CREATE_BRANCH, /* provider */
	PLAN_OP_CREATE_LEAF,   /* provider */
	PLAN_OP_ADD_TABLE,     /* subject = "schema.relname"; create; provider = node's provider */
	PLAN_OP_SET_PARALLEL_COPIES, /* from -> to (decimal) */
	PLAN_OP_SET_TICKER,          /* on the root: subject = ticker_max_count, ticker_max_lag or
	                                ticker_idle_period; from -> to (count, or seconds) */
	PLAN_OP_REMOVE_TABLE,        /* subject = "schema.relname"; provider = node's provider */
	PLAN_OP_RENAME,              /* node = new name, subject = old name (ops/rename.c) */
	PLAN_OP_SWITCHOVER,          /* node = the new root, from = the live old root, provider =
	                                the old root's provider afterwards (ops/switchover.c) */
	PLAN_OP_FENCE,               /* node = a node marked dead: writes refused, no ticks, its
	                                worker refuses to run (ops/failover.c) */
	PLAN_OP_REJOIN,              /* node = a fenced node the file no longer marks dead,
	                                provider = its provider, to = the file its lost
	                                transactions go to (ops/rejoin.c) */
	PLAN_OP_FAILOVER,            /* node = the new root, from = the dead root, subject = the
	                                most advanced survivor to catch up from (NULL: node is it),
	                                to = the last surviving tick, survivors = "db2 12, db4 15"
	                                (ops/failover.c) */
	PLAN_OP_PAUSE,               /* stop the node's worker between batches (ops/pause.c) */
	PLAN_OP_RESUME,              /* let it go on */
	PLAN_OP_CHANGE_PROVIDER,     /* from = old provider, provider = new (ops/change_provider.c);
	                                paused: the node ends paused (the topology says paused) */
	PLAN_OP_UNREGISTER,   /* on node: forget subscriber `subject` (it pulls from elsewhere) */
	PLAN_OP_DROP_NODE,    /* node = the dropped node: unregistered, member rows removed
	                         on every node (ops/drop_node.c) */
	PLAN_OP_ADD_SEQUENCE, /* subject = "schema.name": it follows the root (sequences:) */
	PLAN_OP_REMOVE_SEQUENCE, /* subject = "schema.name" */
	PLAN_OP_KIND_COUNT
};

struct plan_op {
	enum plan_op_kind kind;
	enum plan_action action;
	char *node;      /* the node the operation runs on (its main target) */
	char *subject;   /* member node, table or cascade name; NULL when the kind has none */
	char *provider;  /* create branch/leaf: its provider (later: change provider); add/remove
	                    table: the node's provider, NULL on the root; NULL otherwise */
	char *from;      /* old value of a change (e.g. version); NULL when none */
	char *to;        /* new value (e.g. version); NULL when none */
	char *location;  /* member operations: the DSN to store. Secret: never print it */
	bool dead;       /* member operations: the dead flag to store */
	bool create;     /* add table: create the structure where it is missing (create: true) */
	bool paused;     /* change provider: the node stays paused afterwards (paused: true) */
	char *survivors; /* failover: every survivor's last tick, for the plan ("db2 12, db4 15") */
};

struct plan_problem {
	char *node;    /* NULL when the problem is not about one node */
	char *message; /* lowercase, no trailing period, never a DSN */
};

struct plan {
	char *cascade;
	struct plan_op *ops;
	size_t n_ops;
	struct plan_problem *problems;
	size_t n_problems;
	size_t n_add;
	size_t n_change;
	size_t n_remove;
};

struct plan_options {
	/* The pgq_set version this binary installs (pgq_set.version() after install). */
	const char *sql_version;
	/*
	 * Digest of the install script this binary runs (admin_sql_digest); a node at the same
	 * version whose recorded digest differs (functions changed) is upgraded too. NULL: not
	 * compared.
	 */
	const char *sql_digest;
	/* Where a rejoin writes the lost transactions of a node (default "."). */
	const char *lost_dir;
};

/*
 * Compute the ordered plan that takes `actual` to `topo`. actual must hold one entry per
 * topology node (matched by name). Returns -1 only on unusable input (err says why);
 * everything that cannot be reconciled goes into plan->problems. *out is set on success
 * and freed by the caller with plan_free.
 */
int plan_build(struct plan **out, const struct topology *topo, const struct actual_state *actual,
               const struct plan_options *opts, struct sky_error *err);
void plan_free(struct plan *plan);

/* True when the plan has neither operations nor problems. */
bool plan_is_empty(const struct plan *plan);

/* '+', '~' or '-' */
char plan_action_sign(enum plan_action action);
/* Stable machine name of a kind ("install", "add_member", ...), used in JSON. Static string. */
const char *plan_op_kind_name(enum plan_op_kind kind);

/* Append "db2: create branch (provider db1)" (no sign, no newline) to out. Never a DSN. */
void plan_op_describe(struct sky_buf *out, const struct plan_op *op);
/* Append "db2: role change root -> branch is not supported yet" to out. */
void plan_problem_describe(struct sky_buf *out, const struct plan_problem *problem);

/*
 * The plan as a JSON object: {"cascade", "changes", "ops": [...], "problems": [...],
 * "summary": {"add", "change", "remove"}}. New reference; caller releases with json_decref.
 * Never includes a DSN.
 */
json_t *plan_to_json(const struct plan *plan);
/* One operation as a JSON object (new reference). */
json_t *plan_op_to_json(const struct plan_op *op);

/*
 * Applying a plan: which operations still run after one failed (docs/reconciler.md).
 *
 * Operations run in plan order. A failure stops the rest, except:
 *  - table operations (add/remove table) are independent of each other: after a table
 *    operation failed, the other table operations still run (nothing else does);
 *  - a table missing on a node without create (add_table: SQLSTATE 42P01 undefined_table)
 *    holds back nothing: every other operation still runs;
 *  - but an operation that depends on a failed or skipped one is skipped: adding a table on
 *    a node after adding it on the node's provider failed (the node copies it from there),
 *    removing it on a node after removing it on one of the node's subscribers failed (the
 *    subscriber would silently stop receiving changes).
 * Pure functions, no I/O: the apply loop (cmd_apply.c) asks plan_step_gate before each
 * operation and records what happened in steps[].
 */
enum plan_step {
	PLAN_STEP_NOT_RUN = 0, /* not (yet) run: stopped by an earlier failure */
	PLAN_STEP_DONE,
	PLAN_STEP_FAILED,
	PLAN_STEP_SKIPPED, /* not run: depends on a failed or skipped operation */
};

/* What may still run after a failure; the narrowest scope of all failures so far applies. */
enum plan_scope {
	PLAN_SCOPE_NONE = 0, /* nothing */
	PLAN_SCOPE_TABLES,   /* table operations only */
	PLAN_SCOPE_ALL,      /* everything (no failure yet, or only missing tables) */
};

enum plan_gate {
	PLAN_GATE_RUN = 0, /* run it */
	PLAN_GATE_HOLD,    /* do not run it: outside the scope left by a failure (stays not run) */
	PLAN_GATE_SKIP,    /* do not run it: it depends on a failed or skipped operation */
};

/* True for the operations that concern one table on one node (add/remove table). */
bool plan_op_is_table(const struct plan_op *op);

/* The scope left after op failed with SQLSTATE sqlstate ("" or NULL when not from a server). */
enum plan_scope plan_failure_scope(const struct plan_op *op, const char *sqlstate);

/* True when `later` must not run unless `earlier` (which comes before it in a plan) ran. */
bool plan_op_depends_on(const struct plan_op *later, const struct plan_op *earlier);

/*
 * May plan->ops[i] run, given steps[0..i-1] (what happened to the earlier operations) and
 * scope (the narrowest scope of the failures so far)? On PLAN_GATE_SKIP, *blocker (when not
 * NULL) is set to the index of the operation it depends on.
 */
enum plan_gate plan_step_gate(const struct plan *plan, size_t i, const enum plan_step *steps,
                              enum plan_scope scope, size_t *blocker);

/*
 * Compare two pgq_set versions: numerically when both are decimal integers, as strings
 * otherwise. <0, 0, >0 like strcmp.
 */
int plan_version_cmp(const char *a, const char *b);

#endif
