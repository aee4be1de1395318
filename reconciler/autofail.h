/*
 * autofail: the automated failover policy as `skyreconcile watch` carries it out
 * (docs/reconciler.md, "Automatic failover"; the keys in docs/topology.md, "Failover policy").
 *
 * With failover.mode automatic the watch loop calls autofail_check at a short cadence. It keeps
 * two sessions to the file's live root: one it probes (`select 1`, answered within a second, or
 * the root counts as unreachable), one left idle so that a fence can be queued on it when the
 * root is declared dead (a stalled root, e.g. SIGSTOPped, runs it the moment it resumes). The
 * root is declared dead when it has been unreachable continuously for failover.detect_after
 * seconds AND failover.witnesses workers agree (policy_witnesses). Then, holding the reconcile
 * lock: the anti-flap budget is checked in the git history (failover_history.c), the policy
 * decides (policy_decide), the fence is queued, topology_edit_failover writes the edit into the
 * text of the revision it came from, and gitwrite_commit commits it with a compare-and-swap on
 * the ref (optionally pushed). The failover itself is then the ordinary reconcile of that
 * commit (invariant 9): commit first, apply second, so a crash in between leaves a commit that
 * any watcher applies on its next reconcile. A declined failover (no candidate, budget spent)
 * is recorded on the reachable nodes (pgq_set.record_failover) for skyreconcile status.
 *
 * struct autofail is owned by the watch loop: autofail_init, then autofail_release.
 */
#ifndef SKY_AUTOFAIL_H
#define SKY_AUTOFAIL_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>

#include "source.h"
#include "topology.h"

struct autofail_opts {
	const struct source_opts *source; /* must name a repository */
	const char *author_name;          /* --identity */
	const char *author_email;
	const char *push_remote; /* --push, NULL for none */
	int push_timeout_ms;     /* --pull-timeout: the bound of the push (0: gitwrite's default) */
	int lock_timeout_ms;
};

struct autofail {
	char *root;             /* the root the sessions and times below are about */
	PGconn *probe;          /* probed with select 1 */
	bool probe_pending;     /* a select 1 sent on it is not answered yet */
	PGconn *fence;          /* idle: the fence is queued on it */
	bool fence_queued;      /* sent on `fence` (never waited for) */
	PGconn *fence_sent;     /* a queued fence kept after the root changed, until it ran */
	char *fence_node;       /* the node fence_sent fences */
	long long next_declare; /* monotonic ms: a declined decision is not retried before */
	long long down_since;   /* monotonic ms of the first failed probe in a row; 0: reachable */
	long long last_probe;   /* monotonic ms */
	char *last_error;       /* why the last probe failed (one line, no DSN) */
	char *last_verdict;     /* the last "no failover because ..." logged, to log it once */
};

enum autofail_outcome {
	AUTOFAIL_IDLE = 0,  /* the root answers, or the policy is off: probe at the normal pace */
	AUTOFAIL_SUSPECT,   /* the root does not answer (or a failover was declined): probe soon */
	AUTOFAIL_COMMITTED, /* a failover commit was made: reconcile now */
	AUTOFAIL_MOVED,     /* the file moved meanwhile (another watcher's commit): reconcile now */
};

/* The pace of the probes: normal and while the root does not answer (ms). */
#define AUTOFAIL_PROBE_MS 500
#define AUTOFAIL_SUSPECT_PROBE_MS 250

void autofail_init(struct autofail *af);
void autofail_release(struct autofail *af);

/*
 * One look at the root of topo (the last valid topology the watch loop read; borrowed): probe,
 * and when the root has been unreachable for detect_after, decide and commit as described
 * above. Never fails: what went wrong is logged, and the outcome says when to look again.
 */
enum autofail_outcome autofail_check(struct autofail *af, const struct topology *topo,
                                     const struct autofail_opts *opts,
                                     const volatile sig_atomic_t *stop);

#endif
