/*
 * watch_metrics: what `skyreconcile watch --metrics ADDR:PORT` serves on /metrics, as
 * Prometheus text (docs/operations.md, "Metrics"; the names are listed there).
 *
 * One registry per process (watch is one loop): the functions below update it from the loop,
 * and watch_metrics_serve (watch_metrics_serve.c, libmicrohttpd through common's sky_http)
 * renders it from the HTTP thread, so every access takes the registry's mutex. Updating works
 * whether or not the endpoint is served. The registry and its rendering are part of the plan
 * engine (no I/O): tests/unit/test_watch_metrics.c checks the text without a server.
 *
 * Times are epoch seconds (double); durations seconds.
 */
#ifndef SKY_WATCH_METRICS_H
#define SKY_WATCH_METRICS_H

#include <stdbool.h>

#include "apply.h"
#include "plan.h"
#include "sky_error.h"
#include "sky_mem.h"

/* How one reconcile of the watch loop ended (label outcome of skyreconcile_reconciles_total). */
enum watch_outcome {
	WATCH_OUTCOME_NO_CHANGES = 0, /* the cascade matched the revision */
	WATCH_OUTCOME_APPLIED,        /* changes applied, all succeeded */
	WATCH_OUTCOME_FAILED,         /* lock, catalogs, plan problems or an operation failed */
	WATCH_OUTCOME_INVALID,        /* the revision did not load: nothing applied */
	WATCH_OUTCOME_STOPPED,        /* a signal stopped it between operations */
	WATCH_OUTCOME_N
};

/* Static label value of an outcome ("no_changes", "applied", ...). */
const char *watch_outcome_name(enum watch_outcome outcome);

/*
 * A reconcile ended at `now` after `seconds`, with outcome, for revision (its full id;
 * NULL or "" when not even the revision could be read). When the outcome is no_changes or
 * applied, revision becomes the applied revision; the time it was applied is kept from the
 * first success at that revision (a later no-change reconcile does not move it).
 */
void watch_metrics_reconcile(enum watch_outcome outcome, double seconds, double now,
                             const char *revision);

/* The cascade the last valid revision names (label of skyreconcile_watch_info). Copied. */
void watch_metrics_set_cascade(const char *cascade);

/*
 * What an apply did, operation by operation (skyreconcile_operations_total{kind,result}).
 * drift: the operations repaired drift (the revision had been applied before, so the catalogs
 * had moved away from it): each run of them counts one skyreconcile_drift_repairs_total.
 * A failover operation done is counted as a failover (see watch_metrics_failover).
 */
void watch_metrics_apply(const struct plan *plan, const struct apply_result *result, bool drift);

/*
 * Count one failover (skyreconcile_failovers_total{mode}). automatic: decided by the failover
 * policy (docs/topology.md, "Failover policy"), which calls this when it carries one out.
 * A failover operation applied from the file (watch_metrics_apply) counts as mode="manual",
 * unless an automatic failover was announced here before it was applied: then that operation
 * is the automatic one's and is not counted again.
 */
void watch_metrics_failover(bool automatic);

/* The loop waited `seconds` for another skyreconcile's lock (count and seconds). */
void watch_metrics_lock_wait(double seconds);

/* How one fetch of `watch --pull` ended (label result of skyreconcile_pulls_total). */
enum watch_pull_result {
	WATCH_PULL_UP_TO_DATE = 0, /* the local branch is the remote's */
	WATCH_PULL_FORWARDED,      /* fast-forwarded to the remote's commit */
	WATCH_PULL_AHEAD,          /* local commits the remote lacks: left alone */
	WATCH_PULL_DIVERGED,       /* both sides have commits the other lacks: left alone */
	WATCH_PULL_FAILED,         /* the fetch failed (remote down, ...) */
	WATCH_PULL_N
};

/*
 * A fetch of `watch --pull` ended at `now` with result. The pull metrics are rendered from the
 * first call on (a watch without --pull shows none): counts by result, whether the local
 * branch last had commits the remote lacks (ahead or diverged; a failed fetch keeps what was
 * known), failed fetches in a row and the time of the last fetch that worked.
 */
void watch_metrics_pull(enum watch_pull_result result, double now);

/* The registry as Prometheus text (format 0.0.4), appended to out; now: epoch seconds. */
void watch_metrics_render(struct sky_buf *out, double now);

/* Forget everything counted (tests). */
void watch_metrics_reset(void);

/*
 * Serve the registry on http://ADDR:PORT/metrics (listen "ADDR:PORT" or "[IPv6]:PORT") from a
 * thread with every signal blocked. 0, or -1 with err set (bad address, port in use).
 * In skyrec (watch_metrics_serve.c), not in the engine.
 */
int watch_metrics_serve(const char *listen, struct sky_error *err);

/* Stop serving (if serving). */
void watch_metrics_stop(void);

#endif
