/*
 * drift: what the catalog functions do not show but a reconcile must repair
 * (docs/reconciler.md, "Drift"). Today: our triggers on a replicated table dropped by hand (the
 * capture triggers on the root, the write-deny trigger elsewhere). The table is still registered,
 * so the plan sees nothing; drift_plan_add appends `~ NODE: add table T` (add_table is
 * idempotent and puts back the triggers that are missing).
 */
#ifndef SKY_DRIFT_H
#define SKY_DRIFT_H

#include <libpq-fe.h>

#include "actual.h"
#include "plan.h"
#include "sky_error.h"
#include "topology.h"

/*
 * Read, on every reachable created node (conns[i] open), the registered tables whose triggers
 * are missing, and append one `~ add table` operation per such table not already in plan.
 * Reads only. A node where the check fails is only logged (debug). Returns how many operations
 * were appended.
 */
size_t drift_plan_add(struct plan *plan, PGconn **conns, const struct topology *topo,
                      const struct actual_state *actual);

#endif
