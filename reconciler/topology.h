/*
 * topology: the desired state, as read from topology.yaml (see docs/topology.md).
 *
 * topology_load_file / topology_load_string parse and validate; on any error nothing is
 * returned and err->message is "FILE:LINE:COL: what was wrong, what was expected".
 *
 * Part of the plan engine, which has no libpq: the loaders here check that a dsn is a
 * non-empty string and keep where it is (dsn_pos); whether libpq accepts it is checked by
 * topology_dsn_check (topology_dsn.h), which source_load calls after every load.
 * A struct topology is owned by the caller and freed with topology_free.
 */
#ifndef SKY_TOPOLOGY_H
#define SKY_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"

enum sky_role { SKY_ROLE_ROOT = 0, SKY_ROLE_BRANCH, SKY_ROLE_LEAF };

/* "root" / "branch" / "leaf" (static string) */
const char *sky_role_name(enum sky_role role);
/* 0 and *out set on a known name, -1 otherwise */
int sky_role_parse(enum sky_role *out, const char *name);

struct topo_pos {
	int line; /* 1-based */
	int col;  /* 1-based */
};

struct topo_node {
	char *name; /* [a-z0-9_]+ */
	enum sky_role role;
	char *dsn;               /* may hold a password: never print it */
	struct topo_pos dsn_pos; /* where the dsn value is (topology_dsn_check) */
	char *provider;          /* NULL for the root */
	bool paused;
	bool dead;           /* fenced: never a provider, not counted as the root (failover) */
	char *renamed_from;  /* the node's old name (rename), NULL when none */
	int parallel_copies; /* per-node override; 0 = use settings.parallel_copies */
	struct topo_pos pos; /* where the node's key is */
};

struct topo_table {
	char *schema;  /* unquoted, as stored in the catalog (e.g. "public") */
	char *relname; /* unquoted (e.g. "My T") */
	char *name;    /* "schema.relname", unquoted: the catalog key */
	char **nodes;  /* NULL = every node; otherwise the node names it is narrowed to */
	size_t n_nodes;
	bool create; /* create the table's structure where it is missing (issue 3) */
	struct topo_pos pos;
};

struct topo_candidate {
	char *node;
	int priority; /* higher first */
};

/*
 * failover: the failover policy (docs/topology.md, "Failover policy"). present is false when
 * the file has no failover key: then mode manual and the defaults below.
 */
struct topo_failover {
	bool present;
	bool automatic;                    /* mode: automatic (carried out by skyreconcile watch) */
	int detect_after;                  /* seconds the root must be unreachable, default 30 */
	int witnesses;                     /* workers that must see the root dead too, default 1 */
	struct topo_candidate *candidates; /* priorities; a node not listed has priority 0 */
	size_t n_candidates;
	char **never; /* never promoted */
	size_t n_never;
	int max_lag_ticks; /* 0: no limit */
	int max_failovers; /* anti-flap: at most this many automatic failovers ... */
	int window;        /* ... in this many seconds; default 1 in 3600 */
	struct topo_pos pos;
};

struct topology {
	char *file; /* the name used in error messages */
	char *cascade;
	struct topo_node *nodes; /* in file order */
	size_t n_nodes;
	struct topo_table *tables;
	size_t n_tables;
	int parallel_copies; /* settings.parallel_copies, default 1 */
	/* settings.ticker_*: the root queue's ticker thresholds (topology_ticker for defaults) */
	int ticker_max_count;  /* 0: not in the file */
	int ticker_max_lag_ms; /* valid when has_ticker_max_lag */
	bool has_ticker_max_lag;
	int ticker_idle_period_ms; /* 0: not in the file */
	char **sequences; /* sequences: "schema.name" that follow the root (besides owned ones) */
	size_t n_sequences;
	struct topo_failover failover;
};

int topology_load_file(struct topology **out, const char *path, struct sky_error *err);
int topology_load_string(struct topology **out, const char *file, const char *text, size_t len,
                         struct sky_error *err);
void topology_free(struct topology *topo);

/* A deep copy of topo (caller frees with topology_free). Positions are kept. */
struct topology *topology_clone(const struct topology *topo);

/* The failover priority of node (0 when not listed) and whether it may never be promoted. */
int topology_failover_priority(const struct topology *topo, const char *node);
bool topology_failover_never(const struct topology *topo, const char *node);

/* Borrowed pointers into topo, valid until topology_free; NULL when absent. */
const struct topo_node *topology_node(const struct topology *topo, const char *name);
/* The live root (dead nodes are skipped). */
const struct topo_node *topology_root(const struct topology *topo);
/* True when table t is wanted on node `node`. */
bool topology_table_on_node(const struct topo_table *t, const char *node);
/* The initial copies node runs at once: its own parallel_copies, else the setting (>= 1). */
int topology_parallel_copies(const struct topology *topo, const struct topo_node *node);

/*
 * The root queue's ticker thresholds the file asks for, with the defaults create_root sets
 * (TOPO_TICKER_*) for the keys it leaves out. Milliseconds for the two periods.
 */
#define TOPO_TICKER_MAX_COUNT 500
#define TOPO_TICKER_MAX_LAG_MS 50
#define TOPO_TICKER_IDLE_PERIOD_MS 60000
void topology_ticker(const struct topology *topo, int *max_count, int *max_lag_ms,
                     int *idle_period_ms);

#endif
