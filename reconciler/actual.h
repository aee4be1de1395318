/*
 * actual: the state of the cascade as the nodes' catalogs describe it (docs/reconciler.md).
 *
 * catalog.c (catalog.h) fills it by connecting to every node of the topology and reading
 * pgq_set's catalog functions; plan.c compares it with the topology. This header is part of
 * the plan engine (reconciler/CMakeLists.txt, "skyengine"): it includes no libpq header.
 *
 * A struct actual_state and everything it points to is owned by the caller and freed with
 * actual_state_free. Member locations are DSNs and may hold a password: never print them.
 */
#ifndef SKY_ACTUAL_H
#define SKY_ACTUAL_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"
#include "topology.h"

struct actual_member {
	char *name;
	char *location; /* a DSN: never print it */
	bool dead;
};

struct actual_subscriber {
	char *name;
	long long last_tick; /* -1 when unknown (consumer not registered) */
	long long watermark; /* -1 when not reported yet */
};

/*
 * A replicated table registered on a node, with the progress of its initial copy. The
 * progress fields come from pgq_set 2 on; a node still at version 1 reports them unknown.
 */
struct actual_table {
	char *name;  /* "schema.relname", unquoted: the catalog key */
	char *state; /* pending / copying / catching-up / ok */
	char *schema;
	char *relname;
	bool create_missing;     /* registered with create: the worker creates the structure */
	long long rows_copied;   /* rows of the running (or last) copy; -1 when unknown */
	long long rows_estimate; /* the provider's estimate of the table's rows; -1 when unknown */
	char *copy_error;        /* why the last copy attempt failed; NULL when none. One line,
	                            passwords of the topology's DSNs masked */
};

/* What get_node() returned: present only once the node is created. */
struct actual_identity {
	char *name;
	enum sky_role role;
	char *role_text;     /* as stored, for messages when it is not a known role */
	char *provider;      /* NULL on the root */
	long long last_tick; /* -1 when NULL */
	bool paused;
	bool paused_ack;
	bool fenced;         /* pgq_set.is_fenced: marked dead, no ticks, writes refused */
	char *worker_error;  /* NULL when none; one line, passwords masked (as copy_error) */
	int parallel_copies; /* copies the worker runs at once; 0 when unknown (pgq_set 1) */
	/* the cascade queue's ticker thresholds (pgq.queue), read on a root; max_count 0 when
	   not read */
	int ticker_max_count;
	int ticker_max_lag_ms;
	int ticker_idle_period_ms;
};

/* A table of the topology as this database's system catalogs show it (plan-time checks). */
struct actual_check {
	char *name; /* "schema.relname" as in the topology */
	bool exists;
	bool partitioned;
	bool has_pk;
	bool pk_deferrable;
	bool pk_include; /* the key's index has INCLUDE columns */
};

/*
 * What the node's worker sees of its provider (pgq_set.get_witness, pgq_set 7 on): ages in
 * seconds by the node's own clock, -1 when unknown. present is false when there is no report
 * (a root, a worker that never ran, an older pgq_set).
 */
struct actual_witness {
	bool present;
	char *provider;       /* the provider the report is about */
	double heartbeat_age; /* since the worker's last heartbeat */
	double contact_age;   /* since its last successful call on the provider */
	double progress_age;  /* since the provider last offered a new batch */
	long long provider_tick;
};

/*
 * A failover skyreconcile watch declined to make (pgq_set.get_failover, pgq_set 7 on); state
 * is NULL when there is none.
 */
struct actual_failover {
	char *state; /* "blocked" (no candidate) or "exhausted" (anti-flap budget spent) */
	char *dead;
	char *reason;
	char *evidence;
	char *host;
	char *decided_at;
};

struct actual_node {
	char *name;                  /* the topology node this database belongs to */
	bool reachable;              /* connected and the catalog was read */
	char *error;                 /* why not reachable/readable; never holds the DSN */
	bool has_pgq;                /* extension pgq is installed */
	bool has_pgq_set;            /* schema pgq_set and pgq_set.version() exist */
	char *version;               /* pgq_set.version(); NULL when not installed */
	char *installer;             /* digest of the install script that skyreconcile last ran
	                                there (comment on schema pgq_set); NULL when unknown */
	char *capture_stale;         /* why the body of pgq_set.logutriga is not the one the
	                                installer would give it now (its library found or gone
	                                since); NULL when it is, or when it cannot be told */
	bool created;                /* get_node(cascade) returned a row */
	struct actual_identity self; /* valid when created */
	struct actual_member *members;
	size_t n_members;
	struct actual_subscriber *subscribers;
	size_t n_subscribers;
	struct actual_table *tables;
	size_t n_tables;
	struct actual_check *checks; /* one per topology table; none when not read */
	size_t n_checks;
	char **sequences; /* get_sequences (pgq_set 5 on); has_sequences false before */
	size_t n_sequences;
	bool has_sequences;
	struct actual_witness witness;   /* pgq_set 7 on */
	struct actual_failover failover; /* pgq_set 7 on */
};

struct actual_state {
	struct actual_node *nodes; /* one per topology node, in topology order */
	size_t n_nodes;
};

/* Release what a node points to (not the node itself); it is left zeroed. */
void actual_node_clear(struct actual_node *node);
void actual_state_free(struct actual_state *state);

/* Borrowed lookups, valid until the state is freed; NULL when absent. */
const struct actual_node *actual_state_node(const struct actual_state *state, const char *name);
const struct actual_member *actual_node_member(const struct actual_node *node, const char *name);
const struct actual_table *actual_node_table(const struct actual_node *node, const char *name);
const struct actual_subscriber *actual_node_subscriber(const struct actual_node *node,
                                                       const char *name);

#endif
