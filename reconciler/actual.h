/*
 * actual: the state of the cascade as the nodes' catalogs describe it (docs/reconciler.md).
 *
 * catalog.c fills it by connecting to every node of the topology and reading pgq_set's
 * catalog functions; plan.c compares it with the topology. Nothing here does any writing:
 * reading the actual state is all `--dry-run` does to a database.
 *
 * A struct actual_state and everything it points to is owned by the caller and freed with
 * actual_state_free. Member locations are DSNs and may hold a password: never print them.
 */
#ifndef SKY_ACTUAL_H
#define SKY_ACTUAL_H

#include <libpq-fe.h>
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
};

/* A table of the topology as this database's system catalogs show it (plan-time checks). */
struct actual_check {
	char *name; /* "schema.relname" as in the topology */
	bool exists;
	bool partitioned;
	bool has_pk;
	bool pk_deferrable;
};

/*
 * What the node's worker sees of its provider (pgq_set.get_witness, pgq_set 6 on): ages in
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
 * A failover skyreconcile watch declined to make (pgq_set.get_failover, pgq_set 6 on); state
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
	struct actual_witness witness;   /* pgq_set 6 on */
	struct actual_failover failover; /* pgq_set 6 on */
};

struct actual_state {
	struct actual_node *nodes; /* one per topology node, in topology order */
	size_t n_nodes;
};

/*
 * Connect to every node of topo (conns[i] for topo->nodes[i]; conns has topo->n_nodes
 * entries and must be all NULL on entry) and read its catalog for topo->cascade.
 *
 * A node that cannot be reached or read is not a failure of this function: its
 * actual_node has reachable=false and error set, and conns[i] stays NULL. The connections
 * that did open stay open in conns for the caller to reuse (close with catalog_conns_close).
 * Returns -1 only when the state could not be built at all. *out is set on success; the
 * caller frees it with actual_state_free.
 */
int catalog_state_read(struct actual_state **out, PGconn **conns, const struct topology *topo,
                       struct sky_error *err);

/*
 * catalog_state_read, except that the node named skip (NULL: none) is not connected to: it is
 * left unreachable ("not read: it does not answer"). The failover policy reads the survivors
 * this way once the root is known not to answer: a stalled root would hold each connection
 * attempt for connect_timeout.
 */
int catalog_state_read_except(struct actual_state **out, PGconn **conns,
                              const struct topology *topo, const char *skip, struct sky_error *err);

/*
 * Read one node's catalog over an open connection into *node (whose name is already set).
 * Reads only: it checks that pgq_set exists before calling any of its functions.
 * On failure returns -1 with err filled; *node may then be partly filled.
 */
int catalog_node_read(struct actual_node *node, PGconn *conn, const char *cascade,
                      struct sky_error *err);

/*
 * A text from a server, libpq or a worker made fit for output: one line, and the password of
 * every DSN of topo masked as "********". Returns a new string (caller frees).
 */
char *catalog_text_scrub(const char *text, const struct topology *topo);

/*
 * The newest tick in the queue of cascade on conn (pgq.tick, readable by everyone), -1 when the
 * queue has none or does not exist. Reads only.
 */
int catalog_head_tick_read(long long *out, PGconn *conn, const char *cascade,
                           struct sky_error *err);

/* PQfinish every non-NULL conns[i], i < n, and set it to NULL. */
void catalog_conns_close(PGconn **conns, size_t n);

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
