/*
 * admin: execute one plan operation against the nodes (docs/reconciler.md).
 *
 * Every operation is one or two calls of pgq_set's admin functions, each safe to re-run, so
 * a run that stopped half-way is finished by running the same plan again.
 */
#ifndef SKY_ADMIN_H
#define SKY_ADMIN_H

#include <libpq-fe.h>

#include "admin_sql.h"
#include "plan.h"
#include "sky_error.h"
#include "topology.h"

/* What operations run against. Everything is borrowed and must outlive the session use. */
struct admin_session {
	const struct topology *topo;
	PGconn **conns;          /* conns[i] is the open connection to topo->nodes[i] */
	const char *install_sql; /* the pgq_set install script (sky_sql_install) */
	const char *sql_version; /* the version that script installs */
	const char *sql_digest;  /* admin_sql_digest of the script, recorded on the node */
	int wait_ms;             /* how long a step waits for a worker or a node (--wait-timeout) */
};

/*
 * Run op. On failure returns -1 and err->message names the node whose server refused:
 * `node "db2": <server message>` (SQLSTATE kept in err->sqlstate). Never a DSN.
 */
int admin_op_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);

/*
 * The open connection to topology node `node`, or NULL with err set ("not connected", "not a
 * node of the topology"). Borrowed from the session.
 */
PGconn *admin_node_conn(const struct admin_session *s, const char *node, struct sky_error *err);

/*
 * Run sql with text parameters on node's connection (admin_node_conn); on error the message is
 * prefixed with `node "NAME"` and the SQLSTATE kept. *out (when out is not NULL) is the result,
 * freed by the caller with PQclear.
 */
int admin_node_exec(PGresult **out, const struct admin_session *s, const char *node,
                    const char *sql, int nparams, const char *const *params, struct sky_error *err);

/*
 * Mark one step of a multi-step operation as done (debug log: "NODE: step: WHAT"). Test hook:
 * with SKY_RECONCILE_KILL_AFTER_STEP=N in the environment the process kills itself with
 * SIGKILL right after the N-th step of the run, so tests can interrupt an operation between
 * any two steps (tests/integration).
 */
void admin_step_done(const char *node, const char *what);

#endif
