/* clang-format off */
/*
 * loop: the worker's state machine. One function per state; each returns the next state.
 * Failures go through one handler that decides between retry (with backoff), a recorded
 * permanent error (longer pause) and exit ("lost position").
 *
 *   CONNECT ─► READ_STATE ─┬─ root ──► ROOT_TICK ─► IDLE ─► READ_STATE
 *                          ├─ paused ► PAUSE ─► IDLE
 *                          └─► PROVIDER ─► NEXT_BATCH ─┬─ none ─► IDLE
 *                                                      ├─ prev ─► APPLY ─► LOCAL_TICK ─► FINISH
 *                                                      │          ─► READ_STATE
 *                                                      ├─ cur ──► LOCAL_TICK (branch) /
 *                                                      │          FINISH (leaf)
 *                                                      └─ otherwise ► lost position: EXIT 1
 *   any failure ─► BACKOFF ─► CONNECT
 */
/* clang-format on */
/*
 * This file: the driver (sky_worker_run) and what every state uses: log context, dropping a
 * connection, the one failure path and its backoff. The states: loop_internal.h.
 */
#include "loop_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "pgscript.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

volatile sig_atomic_t sky_worker_stop_requested = 0;
volatile sig_atomic_t sky_worker_child_exited = 0;

/* Sleep, waking early when a stop is requested or (wake_on_child) a copy child ended. */
static void sleep_s(double seconds, bool wake_on_child)
{
	double end = sky_now_s() + seconds;

	while (!sky_worker_stop_requested && !(wake_on_child && sky_worker_child_exited)) {
		double left = end - sky_now_s();
		struct timespec ts;

		if (left <= 0)
			break;
		if (left > 0.1)
			left = 0.1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

bool wk_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

void wk_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? sky_strdup(src) : NULL;
}

bool wk_is_branch(const struct wk *w)
{
	return wk_streq(w->role, "branch");
}

/* Log prefix: node "db2" cascade "app" (and the batch when one is being worked on). */
const char *wk_ctx(const struct wk *w, char *buf, size_t size)
{
	int n = snprintf(buf, size, "node \"%s\" cascade \"%s\"", w->node ? w->node : "?",
	                 w->cascade ? w->cascade : (w->opt->cascade ? w->opt->cascade : "?"));

	if (w->in_batch && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " batch %s (%s, %s]", w->batch.batch_id_s,
		         w->batch.prev_tick_s, w->batch.cur_tick_s);
	return buf;
}

bool wk_conn_usable(PGconn *c)
{
	PGTransactionStatusType ts = c ? PQtransactionStatus(c) : PQTRANS_UNKNOWN;

	return c && PQstatus(c) == CONNECTION_OK && PQpipelineStatus(c) == PQ_PIPELINE_OFF &&
	       ts != PQTRANS_ACTIVE && ts != PQTRANS_UNKNOWN;
}

void wk_drop_local(struct wk *w)
{
	PQfinish(w->local);
	w->local = NULL;
	w->locked = false;
	wk_set_str(&w->local_encoding, NULL);
	sky_apply_reset_session(w->apply);
}

void wk_drop_provider(struct wk *w)
{
	sky_pg_stall_guard(NULL, 0, NULL, NULL);
	PQfinish(w->prov);
	w->prov = NULL;
	wk_set_str(&w->prov_node, NULL);
	wk_set_str(&w->prov_location, NULL);
	w->batch.cursor_open = false;
	w->prefetched = false;
	w->opened = false;
	w->batch.fetch_pending = false;
}

/* Store msg as the node's worker error, NULL clears it (best effort, autocommit). */
static void record_error(struct wk *w, const char *msg)
{
	struct sky_error err;
	const char *params[2] = {w->cascade, msg};
	char c[256];

	if (w->cascade && wk_conn_usable(w->local)) {
		if (sky_pg_exec(NULL, w->local, &err, "select pgq_set.set_worker_error($1, $2)", 2,
		                params) < 0)
			sky_warning("%s: could not record the error: %s", wk_ctx(w, c, sizeof(c)),
			            err.message);
		else
			w->error_recorded = msg != NULL;
	}
}

/* Abort whatever batch is under way on both connections. */
void wk_abort_batch(struct wk *w)
{
	sky_apply_abort(w->apply, wk_conn_usable(w->local) ? w->local : NULL);
	sky_batch_abort(&w->batch, wk_conn_usable(w->prov) ? w->prov : NULL);
	free(w->watermark);
	w->watermark = NULL;
}

static double next_pause(double *pause, double max)
{
	double now = *pause;

	*pause = *pause * 2 > max ? max : *pause * 2;
	return now;
}

/*
 * The provider went away (its connection broke, or connecting failed) while the local session
 * is fine: try it again after the retry pause, but keep reading the local state at the poll
 * interval meanwhile, so that a pause or a new provider (a failover re-pointing this node) is
 * seen at once instead of after the pause.
 */
enum wk_state wk_provider_down(struct wk *w, const struct sky_error *err)
{
	char c[256];
	double pause = next_pause(&w->retry_pause, RETRY_PAUSE_MAX);

	w->failures++;
	sky_metrics_error(w->opt->metrics, SKY_METRICS_ERR_RETRYABLE);
	wk_set_str(&w->prov_down, w->provider);
	w->prov_retry_at = sky_now_s() + pause;
	sky_warning("%s: %s; retrying provider \"%s\" in %.1f s", wk_ctx(w, c, sizeof(c)),
	            err->message, w->provider ? w->provider : "", pause);
	wk_drop_provider(w);
	if (w->opt->once && w->failures >= ONCE_MAX_FAILURES) {
		sky_errorlog("%s: giving up after %d failures in a row", c, w->failures);
		w->exit_code = 1;
		return WK_EXIT;
	}
	w->sleep_for = w->opt->poll_interval < pause ? w->opt->poll_interval : pause;
	return WK_IDLE;
}

/*
 * The one failure path: abort the batch, then
 *   "lost position"  log, record, exit 1 (never guess a position);
 *   retryable        log, drop broken connections, back off (0.1 s doubling to 5 s);
 *   permanent        log, record (when `record`: not for errors that are not about this
 *                    worker's work, e.g. another worker holding the node), drop the local
 *                    session, pause (2 s doubling to 60 s).
 * --once exits 1 on a permanent error and after ONCE_MAX_FAILURES retryable ones in a row.
 */
enum wk_state wk_fail(struct wk *w, struct sky_error *err, bool record)
{
	enum wk_state next = WK_BACKOFF;
	char c[256];
	char msg[SKY_ERROR_MSG_LEN + 128];
	bool lost = strcmp(err->sqlstate, SKY_SQLSTATE_LOST_POSITION) == 0;
	bool fenced = strcmp(err->sqlstate, SKY_SQLSTATE_FENCED) == 0;
	bool provider_lost;

	/*
	 * A broken provider connection is transient whatever the error said. A dead server's
	 * connection may still say OK until something reads from it.
	 */
	if (w->prov && PQstatus(w->prov) == CONNECTION_OK && !err->sqlstate[0])
		(void)PQconsumeInput(w->prov);
	provider_lost = w->prov && PQstatus(w->prov) != CONNECTION_OK && wk_conn_usable(w->local);

	wk_abort_batch(w);
	sky_error_oneline(err);
	wk_ctx(w, c, sizeof(c));
	if (w->in_batch)
		snprintf(msg, sizeof(msg), "batch %s (%s, %s]: %s", w->batch.batch_id_s,
		         w->batch.prev_tick_s, w->batch.cur_tick_s, err->message);
	else
		snprintf(msg, sizeof(msg), "%s", err->message);
	w->in_batch = false;
	w->failures++;

	if (provider_lost && !lost && !fenced) {
		w->failures--; /* provider_down counts it */
		next = wk_provider_down(w, err);
	} else if (lost || fenced) {
		/* never guess a position; a fenced node must not run at all */
		sky_metrics_error(w->opt->metrics,
		                  lost ? SKY_METRICS_ERR_LOST_POSITION : SKY_METRICS_ERR_PERMANENT);
		sky_errorlog("%s: %s", c, err->message);
		record_error(w, msg);
		w->exit_code = 1;
		next = WK_EXIT;
	} else if (err->retryable) {
		sky_metrics_error(w->opt->metrics, SKY_METRICS_ERR_RETRYABLE);
		w->sleep_for = next_pause(&w->retry_pause, RETRY_PAUSE_MAX);
		sky_warning("%s: %s; retrying in %.1f s", c, err->message, w->sleep_for);
		if (!wk_conn_usable(w->local))
			wk_drop_local(w);
		if (!wk_conn_usable(w->prov))
			wk_drop_provider(w);
		if (w->opt->once && w->failures >= ONCE_MAX_FAILURES) {
			sky_errorlog("%s: giving up after %d failures in a row", c, w->failures);
			w->exit_code = 1;
			next = WK_EXIT;
		}
	} else {
		sky_metrics_error(w->opt->metrics, SKY_METRICS_ERR_PERMANENT);
		w->sleep_for = next_pause(&w->error_pause, ERROR_PAUSE_MAX);
		if (w->opt->once)
			sky_errorlog("%s: %s", c, err->message);
		else
			sky_errorlog("%s: %s; retrying in %.0f s", c, err->message, w->sleep_for);
		if (record)
			record_error(w, msg);
		/* a fresh session next time: no stale staging tables or prepared statements */
		wk_drop_local(w);
		if (!wk_conn_usable(w->prov))
			wk_drop_provider(w);
		if (w->opt->once) {
			w->exit_code = 1;
			next = WK_EXIT;
		}
	}
	return next;
}

/* A batch (or a root round) went through: reset the backoff and clear a recorded error. */
void wk_succeeded(struct wk *w)
{
	w->failures = 0;
	w->retry_pause = RETRY_PAUSE_MIN;
	w->error_pause = ERROR_PAUSE_MIN;
	if (w->error_recorded)
		record_error(w, NULL);
}

/* ---------------------------------------------------------------- driver */

static void account(struct wk *w, enum wk_state st, double dt)
{
	switch (st) {
	case WK_READ_STATE:
		w->t_state += dt;
		break;
	case WK_NEXT_BATCH:
		w->t_next += dt;
		break;
	case WK_APPLY:
		w->t_apply += dt;
		break;
	case WK_LOCAL_TICK:
		w->t_tick += dt;
		break;
	case WK_FINISH:
		w->t_finish += dt;
		break;
	case WK_IDLE:
	case WK_BACKOFF:
		w->t_idle += dt;
		break;
	default:
		break;
	}
}

int sky_worker_run(const struct sky_worker_options *opt)
{
	struct wk w;
	enum wk_state state = WK_CONNECT, prev;
	char c[256];
	double t0, start = sky_now_s();

	memset(&w, 0, sizeof(w));
	w.started_at = start;
	w.has_witness = -1;
	w.prov_tick = -1;
	w.opt = opt;
	w.apply = sky_apply_new();
	w.copies = sky_copies_new();
	w.retry_pause = RETRY_PAUSE_MIN;
	w.error_pause = ERROR_PAUSE_MIN;
	w.error_recorded = true; /* a previous run may have left one */
	w.last_heartbeat = w.last_publish = -HEARTBEAT_PERIOD;
	w.last_batch_at = -POLL_FRESH; /* idle at start: poll_next_sleep backs off */
	sky_batch_init(&w.batch);
	if (getenv("SKY_WORKER_KILL_AFTER_CHUNKS"))
		w.kill_after_chunks = strtol(getenv("SKY_WORKER_KILL_AFTER_CHUNKS"), NULL, 10);

	while (state != WK_EXIT) {
		/* a batch in flight is finished (after its commit) or rolled back (before) */
		if (sky_worker_stop_requested && state != WK_LOCAL_TICK && state != WK_FINISH) {
			if (w.in_batch)
				wk_abort_batch(&w);
			break;
		}
		t0 = sky_now_s();
		prev = state;
		switch (state) {
		case WK_CONNECT:
			state = wk_st_connect(&w);
			break;
		case WK_READ_STATE:
			state = wk_st_read_state(&w);
			break;
		case WK_ROOT_TICK:
			state = wk_st_root_tick(&w);
			break;
		case WK_PAUSE:
			state = wk_st_pause(&w);
			break;
		case WK_PROVIDER:
			state = wk_st_provider(&w);
			break;
		case WK_NEXT_BATCH:
			state = wk_st_next_batch(&w);
			break;
		case WK_APPLY:
			state = wk_st_apply(&w);
			break;
		case WK_LOCAL_TICK:
			state = wk_st_local_tick(&w);
			break;
		case WK_FINISH:
			state = wk_st_finish(&w);
			break;
		case WK_IDLE:
			sleep_s(w.sleep_for, true);
			state = WK_READ_STATE;
			break;
		case WK_BACKOFF:
			sleep_s(w.sleep_for, false);
			state = WK_CONNECT;
			break;
		case WK_EXIT:
			break;
		}
		/* a batch asked for with the finish is used by the next-batch step right after,
		 * the cursor opened with it by the apply after that */
		if (state != WK_READ_STATE && state != WK_PROVIDER && state != WK_NEXT_BATCH)
			w.prefetched = false;
		if (w.opened && !w.prefetched && state != WK_APPLY) {
			/* the first fetch's result is read and the cursor's transaction rolled back
			 */
			sky_batch_abort(&w.batch, w.prov);
			w.opened = false;
		}
		account(&w, prev, sky_now_s() - t0);
	}
	if (sky_worker_stop_requested)
		sky_info("%s: stopped", wk_ctx(&w, c, sizeof(c)));
	sky_debug("%s: %lld batches, %lld events in %.3f s; seconds in state: read %.3f, next %.3f,"
	          " apply %.3f (fetch %.3f, commit %.3f), tick %.3f, finish %.3f, idle %.3f",
	          wk_ctx(&w, c, sizeof(c)), w.batches, w.events, sky_now_s() - start, w.t_state,
	          w.t_next, w.t_apply, w.t_fetch, w.t_commit, w.t_tick, w.t_finish, w.t_idle);
	wk_abort_batch(&w);
	sky_copies_free(w.copies);
	sky_apply_free(w.apply);
	sky_batch_release(&w.batch);
	PQfinish(w.local);
	PQfinish(w.prov);
	free(w.prov_node);
	free(w.prov_location);
	free(w.prov_down);
	free(w.local_encoding);
	free(w.cascade);
	free(w.node);
	free(w.role);
	free(w.provider);
	free(w.seen_provider);
	free(w.provider_location);
	free(w.watermark);
	return w.exit_code;
}
