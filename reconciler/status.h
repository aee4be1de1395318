/*
 * status: the cascade as `skyreconcile status` shows it (docs/reconciler.md, "status").
 *
 * A struct status_report is what status_read.c read from every node's catalog (and, for the
 * lags, from the root's pgq.tick), next to what the topology says of each node. This module
 * only judges and renders it: the tree as text, the same as one JSON document, and the
 * problems that make the exit status 1. No I/O, no libpq (tests/unit/test_status.c).
 *
 * Every text in a report (errors, worker_error, copy_error) has already been folded onto one
 * line and had the topology's passwords masked by the reader; nothing here holds a DSN.
 */
#ifndef SKY_STATUS_H
#define SKY_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sky_mem.h"
#include "topology.h"

/*
 * A worker whose heartbeat (pgq_set.node.worker_seen) is older than this is not counted as
 * alive. The worker beats about once a second (worker/loop.c HEARTBEAT_PERIOD, 1 s); 10 s is
 * well above 3 heartbeat periods, so a busy worker between two beats is never called down.
 */
#define STATUS_WORKER_STALE_S 10.0

/* A tristate for what a catalog may not have (an older pgq_set). */
enum status_tri { STATUS_UNKNOWN = -1, STATUS_NO = 0, STATUS_YES = 1 };

/* The worker of a node, judged by status_worker_judge. */
enum status_worker {
	STATUS_WORKER_NONE = 0, /* no node row: nothing to judge */
	STATUS_WORKER_UP,       /* seen within STATUS_WORKER_STALE_S (and holding its lock) */
	STATUS_WORKER_DOWN,     /* never seen, not seen for too long, or not holding its lock */
	STATUS_WORKER_STALLED,  /* holds its lock, but no heartbeat for too long */
};

struct status_table {
	char *name;            /* "schema.relname", unquoted */
	char *state;           /* pending / copying / catching-up / ok */
	long long rows_copied; /* -1 when unknown */
	long long rows_estimate;
	double copy_elapsed_s; /* server's now() - copy_started; < 0 when unknown */
	char *copy_error;      /* NULL when none */
};

struct status_node {
	/* from the topology */
	char *name;
	enum sky_role topo_role;
	char *topo_provider; /* NULL on the root */
	bool dead;           /* dead: true (failover): unreachable or worker down is expected */

	/* from the node's catalog */
	bool reachable; /* connected and read within the deadline */
	char *error;    /* why not reachable (one line, no password); NULL when reachable */
	bool has_pgq_set;
	bool created;   /* the cascade has a node row here */
	char *role;     /* as stored; NULL when not created */
	char *provider; /* as stored; NULL on a root */
	long long last_tick;
	bool paused;
	bool paused_ack;
	enum status_tri fenced;      /* pgq_set.is_fenced, unknown where it does not exist */
	char *worker_error;          /* NULL when none */
	double worker_seen_age_s;    /* server's now() - worker_seen; < 0 when never seen */
	enum status_tri worker_lock; /* pgq_set.worker_running, unknown where it does not exist */
	char *revision;              /* applied revision, NULL when the catalog has none */
	struct status_table *tables;
	size_t n_tables;

	/* from the root's pgq.tick: this node's last tick there */
	bool tick_known;      /* the three below are valid */
	char *last_tick_time; /* tick_time of last_tick on the root (text, UTC) */
	double lag_s;         /* root's newest tick time - last_tick's time (>= 0) */
	long long lag_ticks;  /* ticks on the root after last_tick, up to its newest (>= 0) */
};

struct status_report {
	char *cascade;
	char *root; /* the topology's live root; NULL when it has none */
	/* the root's newest tick (reference of every lag); root_tick < 0 when unknown */
	long long root_tick;
	char *root_tick_time;
	struct status_node *nodes; /* in topology order */
	size_t n_nodes;
	/*
	 * A failover the policy of skyreconcile watch declined (pgq_set.get_failover, read from
	 * the first live node that has one): state "blocked" (no candidate) or "exhausted" (the
	 * anti-flap budget spent); NULL when none. It is a problem (exit 1) until an operator acts.
	 */
	char *failover_state;
	char *failover_dead;
	char *failover_reason;
	char *failover_host;
	char *failover_at;
};

/* Allocate a report for topo: names, roles, providers and dead flags; nothing read yet
 * (every node unreachable with no error). Caller frees with status_report_free. */
struct status_report *status_report_new(const struct topology *topo);
void status_report_free(struct status_report *r);
/* Release what a node holds except its topology fields (name, topo_role, topo_provider, dead),
 * and zero the rest: ready to be read again. */
void status_node_clear_read(struct status_node *n);

/* Borrowed; NULL when absent. */
const struct status_node *status_report_node(const struct status_report *r, const char *name);

/* How the worker of n is doing. */
enum status_worker status_worker_judge(const struct status_node *n);
const char *status_worker_name(enum status_worker w); /* "up", "down", "stalled", "none" */

/*
 * Lag of n behind its provider (as its catalog says): the difference of both nodes' lags
 * behind the root. 0 and *secs / *ticks set when both are known, -1 otherwise.
 */
int status_lag_behind_provider(double *secs, long long *ticks, const struct status_report *r,
                               const struct status_node *n);

/*
 * The copy's estimated time to finish in seconds, from its rate so far
 * (rows_copied / copy_elapsed_s); < 0 when it cannot be told (no rows yet, no estimate, the
 * estimate passed, a failed attempt).
 */
double status_table_eta(const struct status_table *t);

/*
 * The problems that make `status` exit 1, one line each ("db3: unreachable: ..."), appended
 * to out (may be NULL to only count), in topology order. Only live nodes count: a dead node may be
 * unreachable and its worker down. Returns the number of problems.
 */
size_t status_problems(struct sky_buf *out, const struct status_report *r);

/*
 * The node names in tree order with their depth: every node under its provider as its
 * catalog says (the topology's provider when the catalog could not be read), children in
 * topology order; live roots first, then live nodes whose provider is unknown, then the dead
 * nodes, each at the top with whatever still pulls from it (never under a live node).
 * order[i] indexes r->nodes, depth[i] its depth; both arrays have r->n_nodes entries and are
 * filled by the caller-provided storage.
 */
void status_tree_order(size_t *order, int *depth, const struct status_report *r);

/* The whole report as text: a header, the tree, then the problems or "all fine". */
void status_render_text(struct sky_buf *out, const struct status_report *r);

/* The same as one JSON document (shape in docs/reconciler.md). New reference (json_decref). */
json_t *status_render_json(const struct status_report *r);

#endif
