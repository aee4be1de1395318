/*
 * policy: the failover policy's decision (docs/topology.md, "Failover policy"). No I/O: the
 * topology and the nodes' catalogs in, a proposed topology out, which is exactly the edit a
 * person would make by hand for a failover (the dead root marked dead: true, the chosen
 * branch the root, the dead root's other subscribers under it); the plan engine turns it
 * into the failover. skyreconcile --dry-run --simulate-dead NODE prints it; skyreconcile
 * watch will commit it.
 *
 * The rules, in order:
 *   1. the dead node is the file's live root;
 *   2. survivors: the nodes whose catalog (reachable) names it as provider; the last tick any
 *      survivor saw is the highest of their completed ticks;
 *   3. candidates: surviving branches that are not in failover.never and whose tables are
 *      all in sync, within failover.max_lag_ticks of that last tick (when set);
 *   4. the chosen one: the highest completed tick, then the highest priority
 *      (failover.candidates; not listed: 0), then file order;
 *   5. no candidate: nothing is promoted, and the decision says why.
 */
#ifndef SKY_POLICY_H
#define SKY_POLICY_H

#include "actual.h"
#include "sky_mem.h"
#include "sky_error.h"
#include "topology.h"

struct policy_decision {
	char *dead;     /* the dead root */
	char *chosen;   /* the new root; NULL when no candidate qualifies */
	char *reason;   /* why it was chosen, or why nobody was (one line) */
	char *evidence; /* one line per survivor: "db2 branch tick 12 priority 10: candidate" */
	long long last_tick;       /* the last tick any survivor saw; -1 when none */
	struct topology *proposed; /* the topology after the failover; NULL without a choice */
};

/*
 * The topology a person would write for the failover dead -> chosen: dead marked dead, chosen
 * the root without a provider, dead's other subscribers under chosen. A new topology (free it
 * with topology_free).
 */
struct topology *policy_propose(const struct topology *topo, const char *dead, const char *chosen);

/*
 * Decide the failover away from `dead`. Returns -1 (err set) only when `dead` is not the
 * file's live root; "no candidate" is a decision with chosen NULL. *out is freed by the
 * caller with policy_decision_free.
 */
int policy_decide(struct policy_decision **out, const struct topology *topo,
                  const struct actual_state *actual, const char *dead, struct sky_error *err);
void policy_decision_free(struct policy_decision *d);

/*
 * The operator's override (skyreconcile failover --to NODE --force): d, a decision of
 * policy_decide for the same topology and state, gets `node` as its choice whatever the
 * policy said (failover.never, max_lag_ticks, priorities, the anti-flap budget), and the
 * proposal that goes with it. node must still be a surviving branch of d->dead (reachable, its
 * catalog pulling from it): -1 and err otherwise, d unchanged.
 */
int policy_force(struct policy_decision *d, const struct topology *topo,
                 const struct actual_state *actual, const char *node, struct sky_error *err);

/* A worker's heartbeat is fresh (the worker runs and reports) when younger than this. */
#define POLICY_WITNESS_FRESH_S 5.0

/*
 * The witnesses (docs/topology.md, "Witnesses"): how many workers see `dead`, the file's live
 * root, dead by their own node's catalog. A worker counts when its node is reachable, it pulls
 * from `dead` directly, its heartbeat is fresh (POLICY_WITNESS_FRESH_S) and its last successful
 * call on `dead` is at least failover.detect_after seconds old. Deeper workers' tick progress
 * is reported but not counted (an idle root ticks only every ticker_idle_period). One line per
 * worker of the cascade is appended to *views ("db2 pulls from db1: ..."); views may be NULL.
 */
size_t policy_witnesses(struct sky_buf *views, const struct topology *topo,
                        const struct actual_state *actual, const char *dead);

#endif
