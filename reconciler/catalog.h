/*
 * catalog: read the actual state (actual.h) from the nodes' catalogs, over libpq. Nothing here
 * does any writing: reading the actual state is all `--dry-run` does to a database. Not part of
 * the plan engine: the engine sees only the model in actual.h.
 */
#ifndef SKY_CATALOG_H
#define SKY_CATALOG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "actual.h"
#include "sky_error.h"
#include "topology.h"

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

#endif
