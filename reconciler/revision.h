/*
 * revision: record on the nodes which revision of topology.yaml was applied or attempted
 * (pgq_set.record_revision, docs/reconciler.md "Revision").
 */
#ifndef SKY_REVISION_H
#define SKY_REVISION_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "source.h"
#include "topology.h"

/*
 * Record rev on every reachable node of topo whose pgq_set has record_revision (pgq_set 4):
 * ok = the cascade matched rev afterwards (it becomes the applied revision), otherwise the
 * attempt is recorded with error (one line, no DSN). conns[i], when conns is not NULL and it is
 * open, is used for topo->nodes[i]; other nodes get a connection of their own for the call.
 * Failures are only logged (debug): recording never fails a reconcile. Returns how many nodes
 * recorded it.
 */
size_t revision_record(PGconn **conns, const struct topology *topo,
                       const struct source_revision *rev, bool ok, const char *error);

#endif
