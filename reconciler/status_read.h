/*
 * status_read: fill a struct status_report (status.h) from every node of the topology at
 * once, with libpq's asynchronous API, each node within one deadline (docs/reconciler.md,
 * "status").
 *
 * Every node gets its own connection (PQconnectStartParams + PQconnectPoll), then two
 * queries sent with PQsendQuery/PQsendQueryParams: a probe of what its pgq_set has (older
 * catalogs lack is_fenced, worker_running, the copy start, a revision) and one read of the
 * node row, its worker's heartbeat age and its tables. The root's read also takes its newest
 * tick; once the other nodes have answered, the root looks up their last ticks in its
 * pgq.tick (time and ticks behind its newest). One poll() loop drives them all, so the run
 * takes as long as the slowest node, at most the deadline. Reads only: the sessions are
 * read-only, with statement_timeout set to the deadline.
 */
#ifndef SKY_STATUS_READ_H
#define SKY_STATUS_READ_H

#include "sky_error.h"
#include "status.h"
#include "topology.h"

/*
 * Read every node of topo into r (made by status_report_new(topo)). timeout_ms bounds the
 * whole read: a node that has not answered by then is unreachable ("no answer within 5 s
 * (connecting)"); a root that has not answered the tick lookup leaves the lags unknown.
 * A node that cannot be read is not a failure of this function: its status_node gets
 * reachable=false and error (one line, passwords masked, never a DSN). Returns -1 only
 * when the read could not run at all (err set).
 */
int status_read(struct status_report *r, const struct topology *topo, int timeout_ms,
                struct sky_error *err);

/*
 * The failover the policy declined, if any (pgq_set.get_failover, pgq_set 7 on): from the
 * first live node status_read reached that has a row, into r->failover_*. Synchronous, each
 * node within timeout_ms; failures only leave it unknown.
 */
void status_read_failover(struct status_report *r, const struct topology *topo, int timeout_ms);

#endif
