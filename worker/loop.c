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
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "batch.h"
#include "copy.h"
#include "metrics.h"
#include "pgscript.h"
#include "sky_error.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

volatile sig_atomic_t sky_worker_stop_requested = 0;
volatile sig_atomic_t sky_worker_child_exited = 0;

/* the pipeline: chunks a batch is split into at least, and the smallest chunk (chunk_size) */
#define PIPELINE_CHUNKS 4
#define PIPELINE_MIN_CHUNK 5000
#define HEARTBEAT_PERIOD 1.0 /* seconds between heartbeats and root watermark publishing */
#define RETRY_PAUSE_MIN 0.1  /* first pause after a retryable failure, doubling ... */
#define RETRY_PAUSE_MAX 5.0  /* ... up to this */
#define ERROR_PAUSE_MIN 2.0  /* first pause after a permanent failure, doubling ... */
#define ERROR_PAUSE_MAX 60.0 /* ... up to this */
#define ONCE_MAX_FAILURES 10 /* --once gives up after this many retryable failures in a row */
#define POLL_FAST 0.05       /* seconds between polls for a batch while batches keep coming ... */
#define POLL_FRESH 1.0       /* ... that is, for this long after the last one; then doubling */
/* a provider call without an answer this long: does it answer? */
#define PROVIDER_STALL_MS 1000

enum wk_state {
	WK_CONNECT,
	WK_READ_STATE,
	WK_ROOT_TICK,
	WK_PAUSE,
	WK_PROVIDER,
	WK_NEXT_BATCH,
	WK_APPLY,
	WK_LOCAL_TICK,
	WK_FINISH,
	WK_IDLE,
	WK_BACKOFF,
	WK_EXIT
};

struct wk {
	const struct sky_worker_options *opt;
	int exit_code;

	PGconn *local;
	bool locked;          /* holds the per-cascade advisory lock on local */
	char *local_encoding; /* client_encoding declared on local: the provider's encoding */
	PGconn *prov;
	char *prov_node; /* what prov is connected to */
	char *prov_location;
	char *prov_down;      /* the provider that was lost or refused us (NULL: none) ... */
	double prov_retry_at; /* ... and when to try it again; the state is read meanwhile */

	/* pgq_set.worker_state, re-read every loop */
	char *cascade;
	char *node;
	char *role;
	char *provider;
	char *provider_location; /* may hold a password: never printed */
	bool has_last_tick;
	long long last_tick;
	bool paused;
	bool paused_ack; /* as the catalog has it */
	bool was_paused;

	struct sky_batch batch;
	bool in_batch; /* batch describes the batch being worked on */
	struct sky_apply *apply;
	struct sky_copies *copies;
	size_t copying; /* tables in state 'copying' at the last look */
	double last_copy_check;
	char *watermark; /* local watermark to report with the finish */
	double batch_start;
	long long batch_events;  /* events applied from the batch (0: applied before) */
	char batch_summary[128]; /* for the batch's debug line */

	double sleep_for;
	double last_batch_at; /* when the provider last offered a batch */
	double idle_poll;     /* the current pause between empty polls (poll_next_sleep) */
	double retry_pause;
	double error_pause;
	int failures;
	bool error_recorded;  /* pgq_set.node.worker_error may be set */
	bool check_prev_tick; /* local session is new: make sure tick prev exists (branch) */
	bool tick_pending;    /* the local tick was sent, its result not read (st_finish) */
	bool tick_prev_check; /* check_prev_tick before that tick was sent */
	/*
	 * The finish asked for the next batch too (sky_batch_finish): w->batch is its answer,
	 * used by the st_next_batch right after, on the same provider session. Any other state
	 * in between drops it (the driver) and the provider is asked again.
	 */
	bool prefetched;
	bool prefetch_found;
	/* ... and its events' cursor is being opened: begin + declare + first fetch sent, the
	 * result read by st_apply (sky_batch_fetch_recv) while the local node reads its state */
	bool opened;
	bool tables_ok; /* every table of the node is 'ok' (at the last state read) */
	double last_heartbeat;
	double last_publish;

	/*
	 * The witness (pgq_set.witness_report, with the heartbeat): what this worker sees of its
	 * provider, on the monotonic clock; 0 = not since it started or the provider changed.
	 */
	char *seen_provider; /* the provider the times below are about */
	double contact_at;   /* the last successful next_batch call on it */
	double progress_at;  /* the last new batch it offered */
	long long prov_tick; /* that batch's tick (-1: none seen) */
	double started_at;
	int has_witness; /* pgq_set.witness_report exists on the local node: -1 not known yet */

	/* totals for the exit summary (debug log) */
	long long batches;
	long long events;
	double t_state, t_next, t_fetch, t_apply, t_commit, t_tick, t_finish, t_idle;

	/* test hook SKY_WORKER_KILL_AFTER_CHUNKS=N: SIGKILL itself once the N-th chunk of this
	 * process is in flight (docs/testing.md) */
	long kill_after_chunks;
	long chunks_in_flight;
};

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

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? sky_strdup(src) : NULL;
}

static bool is_branch(const struct wk *w)
{
	return streq(w->role, "branch");
}

/* Log prefix: node "db2" cascade "app" (and the batch when one is being worked on). */
static const char *ctx(const struct wk *w, char *buf, size_t size)
{
	int n = snprintf(buf, size, "node \"%s\" cascade \"%s\"", w->node ? w->node : "?",
	                 w->cascade ? w->cascade : (w->opt->cascade ? w->opt->cascade : "?"));

	if (w->in_batch && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " batch %s (%s, %s]", w->batch.batch_id_s,
		         w->batch.prev_tick_s, w->batch.cur_tick_s);
	return buf;
}

static bool conn_usable(PGconn *c)
{
	PGTransactionStatusType ts = c ? PQtransactionStatus(c) : PQTRANS_UNKNOWN;

	return c && PQstatus(c) == CONNECTION_OK && PQpipelineStatus(c) == PQ_PIPELINE_OFF &&
	       ts != PQTRANS_ACTIVE && ts != PQTRANS_UNKNOWN;
}

static void drop_local(struct wk *w)
{
	PQfinish(w->local);
	w->local = NULL;
	w->locked = false;
	set_str(&w->local_encoding, NULL);
	sky_apply_reset_session(w->apply);
}

static void drop_provider(struct wk *w)
{
	sky_pg_stall_guard(NULL, 0, NULL, NULL);
	PQfinish(w->prov);
	w->prov = NULL;
	set_str(&w->prov_node, NULL);
	set_str(&w->prov_location, NULL);
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

	if (w->cascade && conn_usable(w->local)) {
		if (sky_pg_exec(NULL, w->local, &err, "select pgq_set.set_worker_error($1, $2)", 2,
		                params) < 0)
			sky_warning("%s: could not record the error: %s", ctx(w, c, sizeof(c)),
			            err.message);
		else
			w->error_recorded = msg != NULL;
	}
}

/* Abort whatever batch is under way on both connections. */
static void abort_batch(struct wk *w)
{
	sky_apply_abort(w->apply, conn_usable(w->local) ? w->local : NULL);
	sky_batch_abort(&w->batch, conn_usable(w->prov) ? w->prov : NULL);
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
static enum wk_state provider_down(struct wk *w, const struct sky_error *err)
{
	char c[256];
	double pause = next_pause(&w->retry_pause, RETRY_PAUSE_MAX);

	w->failures++;
	sky_metrics_error(w->opt->metrics, SKY_METRICS_ERR_RETRYABLE);
	set_str(&w->prov_down, w->provider);
	w->prov_retry_at = sky_now_s() + pause;
	sky_warning("%s: %s; retrying provider \"%s\" in %.1f s", ctx(w, c, sizeof(c)),
	            err->message, w->provider ? w->provider : "", pause);
	drop_provider(w);
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
static enum wk_state fail(struct wk *w, struct sky_error *err, bool record)
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
	provider_lost = w->prov && PQstatus(w->prov) != CONNECTION_OK && conn_usable(w->local);

	abort_batch(w);
	sky_error_oneline(err);
	ctx(w, c, sizeof(c));
	if (w->in_batch)
		snprintf(msg, sizeof(msg), "batch %s (%s, %s]: %s", w->batch.batch_id_s,
		         w->batch.prev_tick_s, w->batch.cur_tick_s, err->message);
	else
		snprintf(msg, sizeof(msg), "%s", err->message);
	w->in_batch = false;
	w->failures++;

	if (provider_lost && !lost && !fenced) {
		w->failures--; /* provider_down counts it */
		next = provider_down(w, err);
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
		if (!conn_usable(w->local))
			drop_local(w);
		if (!conn_usable(w->prov))
			drop_provider(w);
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
		drop_local(w);
		if (!conn_usable(w->prov))
			drop_provider(w);
		if (w->opt->once) {
			w->exit_code = 1;
			next = WK_EXIT;
		}
	}
	return next;
}

/* A batch (or a root round) went through: reset the backoff and clear a recorded error. */
static void succeeded(struct wk *w)
{
	w->failures = 0;
	w->retry_pause = RETRY_PAUSE_MIN;
	w->error_pause = ERROR_PAUSE_MIN;
	if (w->error_recorded)
		record_error(w, NULL);
}

/* ---------------------------------------------------------------- states */

static enum wk_state st_connect(struct wk *w)
{
	enum wk_state next = WK_READ_STATE;
	struct sky_error err;

	if (w->local && !conn_usable(w->local))
		drop_local(w);
	if (w->local)
		goto out;
	if (sky_pg_connect(&w->local, w->opt->dsn, "the local node", &err) < 0) {
		next = fail(w, &err, false);
		goto out;
	}
	sky_pg_notices_to_log(w->local);
	/*
	 * replica: no deny or FK triggers while applying; values parsed with the settings the
	 * root's capture printed them with (the client encoding follows once the provider is
	 * known: st_provider); nested loops only: every join of the worker is a chunk of rows
	 * against a primary key, and the apply statements are prepared once per session, so a
	 * generic plan must never pick a hash join that scans a whole table; work_mem: the
	 * apply statements sort the held rows by key (up to 250,000 rows, apply.c), which a
	 * sort in memory does about a quarter faster than the default 4 MB's external sort
	 */
	if (sky_pg_command(w->local, &err,
	                   "set session_replication_role = replica; " SKY_PG_VALUE_SETTINGS
	                   "; set enable_hashjoin = off; set enable_mergejoin = off;"
	                   " set work_mem = '64MB'; set application_name = skyworker") < 0) {
		sky_error_prefix(&err, "could not set up the local session");
		next = fail(w, &err, true);
		goto out;
	}
	/*
	 * Exactly-once rests on the apply commit being durable before the batch is finished on
	 * the provider, whatever the server's default: synchronous here, and `set local
	 * synchronous_commit = off` only for the commits that are safe to lose (the local tick,
	 * st_local_tick). See docs/worker.md, "Crash safety".
	 */
	if (sky_pg_command(w->local, &err, "set synchronous_commit = on") < 0) {
		sky_error_prefix(&err, "could not set up the local session");
		next = fail(w, &err, true);
		goto out;
	}
	sky_apply_reset_session(w->apply);
	w->check_prev_tick = true;
out:
	return next;
}

/*
 * Between batches: claim pending tables for copying (pgq_set.claim_copies: from this commit on
 * the batch loop sets their events aside) and make sure a child copies every table that is
 * 'copying' (also those a previous run left behind).
 */
static int check_copies(struct wk *w, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *params[1] = {w->cascade};
	struct sky_copy_params cp;
	char **tables = NULL;
	int i, n;

	if (sky_pg_exec(
	        &res, w->local, err,
	        "select t from pgq_set.claim_copies($1) t union"
	        " select table_name from pgq_set.get_apply_tables($1) where state = 'copying'",
	        1, params) < 0) {
		sky_error_prefix(err, "could not claim tables to copy");
		goto out;
	}
	n = PQntuples(res);
	w->copying = (size_t)n;
	if (n > 0) {
		tables = sky_calloc((size_t)n, sizeof(char *));
		for (i = 0; i < n; i++)
			tables[i] = PQgetvalue(res, i, 0);
	}
	/* a table no longer copying (removed, done) leaves no retry pause behind for a re-add */
	sky_copies_forget(w->copies, tables, (size_t)n);
	if (n > 0 && w->provider && w->provider_location) {
		cp.local_dsn = w->opt->dsn;
		cp.provider_node = w->provider;
		cp.provider_location = w->provider_location;
		cp.cascade = w->cascade;
		cp.node = w->node;
		cp.table = NULL;
		sky_copies_start(w->copies, tables, (size_t)n, &cp);
	}
	ret = 0;
out:
	free(tables);
	PQclear(res);
	return ret;
}

/* pgq_set.pause_ack(cascade, ack): acknowledge the pause (true) or withdraw it (false). */
static int pause_ack(struct wk *w, bool ack, struct sky_error *err)
{
	int ret = -1;
	const char *params[2] = {w->cascade, ack ? "true" : "false"};

	if (sky_pg_exec(NULL, w->local, err, "select pgq_set.pause_ack($1, $2)", 2, params) < 0) {
		sky_error_prefix(err, "could not %s the pause",
		                 ack ? "acknowledge" : "withdraw the acknowledgement of");
		goto out;
	}
	w->paused_ack = ack;
	ret = 0;
out:
	return ret;
}

/*
 * --metrics: the tables' states and copy progress, read with the heartbeat (once a second).
 * Best effort: a failure is logged and the loop goes on (the next state query finds a broken
 * session).
 */
static void metrics_tables(struct wk *w)
{
	struct sky_error err;
	PGresult *res = NULL;
	const char *params[1] = {w->cascade};
	struct sky_metrics_table *t = NULL;
	char c[256];
	int i, n;

	if (sky_pg_exec(&res, w->local, &err,
	                "select table_name, state, rows_copied from pgq_set.get_tables($1)", 1,
	                params) < 0) {
		sky_debug("%s: metrics: could not read the tables: %s", ctx(w, c, sizeof(c)),
		          err.message);
		goto out;
	}
	n = PQntuples(res);
	t = n ? sky_calloc((size_t)n, sizeof(*t)) : NULL;
	for (i = 0; i < n; i++) {
		t[i].name = PQgetvalue(res, i, 0);
		t[i].state = PQgetvalue(res, i, 1);
		t[i].rows_copied =
		    PQgetisnull(res, i, 2) ? -1 : strtoll(PQgetvalue(res, i, 2), NULL, 10);
	}
	sky_metrics_set_tables(w->opt->metrics, t, (size_t)n);
out:
	free(t);
	PQclear(res);
}

/*
 * The state read of every loop (witness: the witness_report expression, or null on a catalog
 * without it; $3..$6 are then unused but still typed).
 */
#define WITNESS_REPORT                                                                             \
	"pgq_set.witness_report(s.cascade, s.provider_node, $3::float8, $4::float8, $5::bigint,"   \
	" $6::float8)"
#define SQL_READ_STATE(witness)                                                                    \
	"select s.cascade, s.node_name, s.node_role, s.provider_node,"                             \
	" s.provider_location, s.last_tick, s.paused,"                                             \
	" case when $2::boolean then pgq_set.worker_heartbeat(s.cascade) end,"                     \
	" case when $2::boolean then " witness " end,"                                             \
	" exists (select 1 from pgq_set.table_info i"                                              \
	"  where i.cascade = s.cascade and i.state = 'pending')"                                   \
	" and (select count(*) from pgq_set.table_info i"                                          \
	"  where i.cascade = s.cascade and i.state = 'copying')"                                   \
	" < (select n.parallel_copies from pgq_set.node n where n.cascade = s.cascade),"           \
	" (select n.paused_ack from pgq_set.node n where n.cascade = s.cascade),"                  \
	" $3::float8, $4::float8, $5::bigint, $6::float8,"                                         \
	" not exists (select 1 from pgq_set.table_info i"                                          \
	"  where i.cascade = s.cascade and i.state <> 'ok')"                                       \
	" from pgq_set.worker_state($1) s"

static enum wk_state st_read_state(struct wk *w)
{
	struct sky_error err;
	PGresult *res = NULL;
	double now = sky_now_s();
	bool heartbeat = now - w->last_heartbeat >= HEARTBEAT_PERIOD;
	const char *params[6] = {w->opt->cascade, NULL, NULL, NULL, NULL, NULL};
	char contact[32], progress[32], tick[32], up[32];
	enum wk_state next = WK_EXIT;
	char c[256];
	bool claim_now;

	params[1] = heartbeat ? "true" : "false";
	/* what this worker saw of its provider when it last read the state (witness_report) */
	if (w->contact_at > 0 && streq(w->seen_provider, w->provider)) {
		snprintf(contact, sizeof(contact), "%.3f", now - w->contact_at);
		params[2] = contact;
	}
	if (w->progress_at > 0 && streq(w->seen_provider, w->provider)) {
		snprintf(progress, sizeof(progress), "%.3f", now - w->progress_at);
		snprintf(tick, sizeof(tick), "%lld", w->prov_tick);
		params[3] = progress;
		params[4] = tick;
	}
	snprintf(up, sizeof(up), "%.3f", now - w->started_at);
	params[5] = up;
	/*
	 * The witness needs pgq_set 7: on an older catalog (a worker upgraded before the
	 * reconciler upgraded its node) the state is read without it, and whether it exists is
	 * asked again with each heartbeat until it does.
	 */
	if (heartbeat && w->has_witness != 1) {
		if (sky_pg_exec(&res, w->local, &err,
		                "select to_regprocedure('pgq_set.witness_report(text, text,"
		                " double precision, double precision, bigint, double precision)')"
		                " is not null",
		                0, NULL) < 0) {
			next = fail(w, &err, false);
			goto out;
		}
		w->has_witness = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 1 : 0;
		PQclear(res);
		res = NULL;
	}
	if (sky_pg_exec(&res, w->local, &err,
	                w->has_witness == 1 ? SQL_READ_STATE(WITNESS_REPORT)
	                                    : SQL_READ_STATE("null"),
	                6, params) < 0) {
		sky_error_prefix(&err, "could not read the node's state");
		next = fail(w, &err, false);
		goto out;
	}
	if (heartbeat)
		w->last_heartbeat = now;
	set_str(&w->cascade, PQgetvalue(res, 0, 0));
	set_str(&w->node, PQgetvalue(res, 0, 1));
	set_str(&w->role, PQgetvalue(res, 0, 2));
	set_str(&w->provider, PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3));
	set_str(&w->provider_location, PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4));
	w->has_last_tick = !PQgetisnull(res, 0, 5);
	w->last_tick = w->has_last_tick ? strtoll(PQgetvalue(res, 0, 5), NULL, 10) : 0;
	w->paused = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	/* a table waits and a copy slot is free: claim it now, not at the next periodic check */
	claim_now = strcmp(PQgetvalue(res, 0, 9), "t") == 0;
	w->paused_ack = strcmp(PQgetvalue(res, 0, 10), "t") == 0;
	w->tables_ok = strcmp(PQgetvalue(res, 0, 15), "t") == 0;
	PQclear(res);
	res = NULL;
	sky_metrics_set_state(w->opt->metrics, w->cascade, w->node, w->role, w->paused);
	if (heartbeat && w->opt->metrics)
		metrics_tables(w);

	if (!w->locked) {
		/* one worker per node and cascade */
		const char *lp[1] = {w->cascade};

		if (sky_pg_exec(&res, w->local, &err,
		                "select pg_try_advisory_lock(hashtext('skyworker'), hashtext($1))",
		                1, lp) < 0) {
			next = fail(w, &err, false);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			/* or the session of one that just died has not ended yet: retry */
			sky_error_set(&err, "another skyworker is running for this node");
			err.retryable = true;
			next = fail(w, &err, false);
			goto out;
		}
		w->locked = true;
		sky_info("%s: started as %s%s%s", ctx(w, c, sizeof(c)), w->role,
		         w->provider ? " of provider " : "", w->provider ? w->provider : "");
	}

	/* cleared before reaping: a child that ends from now on ends the next idle sleep */
	sky_worker_child_exited = 0;
	sky_copies_reap(w->copies);
	if (w->paused) {
		/* nothing is claimed or started while paused (st_pause stops what runs) */
		next = WK_PAUSE;
		goto out;
	}
	if (w->paused_ack || w->was_paused) {
		/* resumed: the acknowledgement goes (set_paused(false) cleared it already) */
		if (w->paused_ack && pause_ack(w, false, &err) < 0) {
			next = fail(w, &err, true);
			goto out;
		}
		sky_info("%s: resumed", ctx(w, c, sizeof(c)));
		w->was_paused = false;
	}
	if (!streq(w->role, "root") &&
	    (w->opt->once || claim_now || now - w->last_copy_check >= HEARTBEAT_PERIOD)) {
		w->last_copy_check = now;
		if (check_copies(w, &err) < 0) {
			next = fail(w, &err, true);
			goto out;
		}
	}

	if (streq(w->role, "root")) {
		if (w->prov)
			drop_provider(w);
		sky_copies_stop(w->copies);
		next = WK_ROOT_TICK;
	} else {
		next = WK_PROVIDER;
	}
out:
	PQclear(res);
	return next;
}

/*
 * Paused (DESIGN invariant 6). READ_STATE runs between batches only, so the batch that was in
 * flight when the flag was set has been finished. Nothing is claimed or started any more
 * (READ_STATE skips check_copies, and claim_copies refuses on a paused node); running copy
 * children get SIGTERM and roll their copy back (killed after a grace period), leaving their
 * tables 'copying', which are copied again from scratch after the resume, as after a crash.
 * Then the pause is acknowledged (paused_ack, what the admin waits for) and the worker polls.
 */
static enum wk_state st_pause(struct wk *w)
{
	enum wk_state next = w->opt->once ? WK_EXIT : WK_IDLE;
	struct sky_error err;
	char c[256];
	size_t running = sky_copies_running(w->copies);

	if (!w->was_paused)
		sky_info("%s: paused", ctx(w, c, sizeof(c)));
	w->was_paused = true;
	if (running > 0) {
		sky_info("%s: paused: stopping %zu table cop%s", ctx(w, c, sizeof(c)), running,
		         running == 1 ? "y" : "ies");
		sky_copies_stop(w->copies);
	}
	if (!w->paused_ack) {
		if (pause_ack(w, true, &err) < 0) {
			next = fail(w, &err, true);
			goto out;
		}
		sky_info("%s: pause acknowledged", ctx(w, c, sizeof(c)));
	}
	w->sleep_for = w->opt->poll_interval;
out:
	return next;
}

static enum wk_state st_root_tick(struct wk *w)
{
	enum wk_state next = w->opt->once ? WK_EXIT : WK_IDLE;
	struct sky_error err;
	const char *params[1] = {w->cascade};
	double now = sky_now_s();

	if (now - w->last_publish >= HEARTBEAT_PERIOD) {
		if (sky_pg_exec(NULL, w->local, &err, "select pgq_set.publish_watermark($1)", 1,
		                params) < 0) {
			sky_error_prefix(&err, "could not publish the global watermark");
			next = fail(w, &err, true);
			goto out;
		}
		w->last_publish = now;
		succeeded(w);
	}
	w->sleep_for =
	    w->opt->poll_interval < HEARTBEAT_PERIOD ? w->opt->poll_interval : HEARTBEAT_PERIOD;
out:
	return next;
}

/*
 * The events' values are bytes in the root's server encoding (PgQ's logutriga and our
 * row_urlencode urlencode the server's bytes) and COPY rows from the provider come in its
 * encoding: the local session declares the provider's encoding as its client encoding, so the
 * local server converts both into its own. That is right only if the provider's encoding is the
 * root's, so every queue-carrying node must have the root's encoding: a branch whose encoding
 * differs from its provider's is a permanent error (its queue copy would hold the root's bytes
 * under another encoding for the nodes below). Leaves may have any encoding that can hold the
 * data.
 */
static enum wk_state match_encoding(struct wk *w)
{
	enum wk_state next = WK_NEXT_BATCH;
	struct sky_error err;
	const char *penc = sky_pg_server_encoding(w->prov);
	const char *lenc = sky_pg_server_encoding(w->local);

	if (w->local_encoding && streq(w->local_encoding, penc))
		goto out;
	if (is_branch(w) && !streq(penc, lenc)) {
		sky_error_set(
		    &err,
		    "node \"%s\" has server encoding %s but its provider \"%s\" has %s: a "
		    "branch must have its provider's encoding (its copy of the queue keeps "
		    "the root's bytes); only a leaf may differ",
		    w->node, lenc, w->provider, penc);
		next = fail(w, &err, true);
		goto out;
	}
	if (sky_pg_set_client_encoding(w->local, penc, &err) < 0) {
		sky_error_prefix(&err, "could not set up the local session for provider \"%s\"",
		                 w->provider);
		next = fail(w, &err, true);
		goto out;
	}
	set_str(&w->local_encoding, penc);
out:
	return next;
}

/*
 * The stall guard's question (sky_pg_stall_guard): a provider call has had no answer for
 * PROVIDER_STALL_MS; does the provider's server still take a new connection (within
 * connect_timeout 2 s)? A busy server does, and the call goes on waiting; a stopped one
 * (SIGSTOP, a hung host) does not, and the call fails as on a lost connection, so this worker
 * records, as a witness, that it cannot reach its provider.
 */
static bool provider_answers(void *ctx)
{
	struct wk *w = ctx;
	PGconn *c = NULL;
	bool ok;

	if (!w->prov_location)
		return true;
	ok = sky_pg_connect_within(&c, w->prov_location, 2, "the provider", NULL) == 0;
	PQfinish(c);
	if (!ok)
		sky_warning("node \"%s\": provider \"%s\" does not answer a call nor take a new "
		            "connection: giving the call up",
		            w->node ? w->node : "?", w->prov_node ? w->prov_node : "?");
	return ok;
}

static enum wk_state st_provider(struct wk *w)
{
	enum wk_state next = WK_NEXT_BATCH;
	struct sky_error err;
	char what[128], c[256];

	/* a session with the next batch's cursor being opened (st_finish) is busy, not broken */
	if (w->prov &&
	    (!streq(w->prov_node, w->provider) || !streq(w->prov_location, w->provider_location) ||
	     !(w->opened ? PQstatus(w->prov) == CONNECTION_OK : conn_usable(w->prov)))) {
		if (!streq(w->prov_node, w->provider))
			sky_info("%s: provider changed from \"%s\" to \"%s\"", ctx(w, c, sizeof(c)),
			         w->prov_node, w->provider);
		drop_provider(w);
	}
	if (w->prov)
		goto out;
	if (w->prov_down && streq(w->prov_down, w->provider)) {
		double left = w->prov_retry_at - sky_now_s();

		if (left > 0) {
			/* not yet: read the state again meanwhile */
			w->sleep_for = w->opt->poll_interval < left ? w->opt->poll_interval : left;
			next = WK_IDLE;
			goto out;
		}
	}
	snprintf(what, sizeof(what), "provider \"%s\"", w->provider);
	if (sky_pg_connect(&w->prov, w->provider_location, what, &err) < 0) {
		next = provider_down(w, &err);
		goto out;
	}
	set_str(&w->prov_down, NULL);
	sky_pg_notices_to_log(w->prov);
	/* tick times and events as text, unconverted: in the provider's own encoding */
	if (sky_pg_command(w->prov, &err,
	                   SKY_PG_VALUE_SETTINGS "; set application_name = skyworker") < 0 ||
	    sky_pg_set_client_encoding(w->prov, sky_pg_server_encoding(w->prov), &err) < 0) {
		sky_error_prefix(&err, "could not set up the session on %s", what);
		next = fail(w, &err, false);
		goto out;
	}
	/*
	 * The provider's commits of this session are synchronous whatever its default: a finish
	 * lost in a crash of the provider (with a later one) would make it offer a batch the
	 * node has moved past; next_batch_info's commit makes the batch's ticks durable before
	 * anything is applied from them (pgqd's tick commits follow the server's default).
	 */
	if (sky_pg_command(w->prov, &err, "set synchronous_commit = on") < 0) {
		sky_error_prefix(&err, "could not set up the session on %s", what);
		next = fail(w, &err, false);
		goto out;
	}
	set_str(&w->prov_node, w->provider);
	set_str(&w->prov_location, w->provider_location);
	sky_pg_stall_guard(w->prov, PROVIDER_STALL_MS, provider_answers, w);
out:
	if (next == WK_NEXT_BATCH)
		next = match_encoding(w);
	return next;
}

/*
 * How long to sleep after the provider offered no batch. While batches keep coming (one
 * within the last POLL_FRESH seconds) the provider ticks often, and the next tick is soon:
 * poll again after POLL_FAST, so a batch waits at most that long for the worker (the lag
 * after the last transaction is the ticker's delay plus this plus the apply). After that the
 * pause doubles up to --poll-interval, so an idle worker costs two queries (its state, the
 * provider's next batch) per poll interval. While a table copy runs it polls fast too: the
 * hand-over to ok wants the first batch after the copy (copy.c asks the root for a tick
 * then). Never a busy loop: at least POLL_FAST, or the
 * poll interval when that is shorter.
 */
static double poll_next_sleep(struct wk *w)
{
	double fast = w->opt->poll_interval < POLL_FAST ? w->opt->poll_interval : POLL_FAST;

	if (sky_now_s() - w->last_batch_at < POLL_FRESH || w->idle_poll < fast ||
	    sky_copies_running(w->copies) > 0) {
		w->idle_poll = fast;
	} else {
		w->idle_poll *= 2;
		if (w->idle_poll > w->opt->poll_interval)
			w->idle_poll = w->opt->poll_interval;
	}
	return w->idle_poll;
}

/*
 * How many events a batch may span (sky_batch_next), 0: one tick. Only a leaf spans ticks:
 * a branch keeps the provider's batch boundaries in its queue copy (DESIGN, pgq_set), a leaf
 * keeps no queue, and its position is still one of the provider's ticks. Only while every
 * table is 'ok' and no copy runs: a table copied from a branch compares a batch's cur tick
 * with the tick of its copy (apply.c, in_copy), which a batch spanning that tick would
 * get wrong. A copy claimed later is taken at a tick at or after the cur of any batch asked
 * for before (that tick was on the provider already), so such a batch lies wholly before it.
 */
static int span_events(const struct wk *w)
{
	if (streq(w->role, "leaf") && w->tables_ok && sky_copies_running(w->copies) == 0)
		return w->opt->leaf_batch_events;
	return 0;
}

/* The witness: the provider answered a next-batch question, and maybe offered a new tick. */
static void provider_answered(struct wk *w, bool found)
{
	if (!streq(w->seen_provider, w->provider)) {
		set_str(&w->seen_provider, w->provider);
		w->progress_at = 0;
		w->prov_tick = -1;
	}
	w->contact_at = sky_now_s();
	if (found && w->batch.cur_tick != w->prov_tick) {
		w->progress_at = w->contact_at;
		w->prov_tick = w->batch.cur_tick;
	}
}

/* Step 2 of the loop: the batch the provider offers, against the completed tick. */
static enum wk_state st_next_batch(struct wk *w)
{
	enum wk_state next;
	struct sky_error err;
	bool found;
	char c[256];

	if (w->prefetched) {
		/* asked with the previous batch's finish (st_finish) */
		found = w->prefetch_found;
		w->prefetched = false;
	} else {
		if (sky_batch_next(&w->batch, &found, w->prov, w->cascade, w->node, span_events(w),
		                   &err) < 0) {
			sky_error_prefix(&err, "provider \"%s\"", w->provider);
			next = fail(w, &err, true);
			goto out;
		}
		provider_answered(w, found);
	}
	if (!found) {
		/* nothing pending: a permanent error recorded earlier is gone */
		succeeded(w);
		w->sleep_for = poll_next_sleep(w);
		next = WK_IDLE;
		if (w->opt->once && sky_copies_failures(w->copies) > 0) {
			sky_errorlog("%s: a table copy failed", ctx(w, c, sizeof(c)));
			w->exit_code = 1;
			next = WK_EXIT;
		} else if (w->opt->once && sky_copies_running(w->copies) == 0) {
			/* copies that wait for the provider's own copy are left for later */
			next = WK_EXIT;
		}
		goto out;
	}
	w->in_batch = true;
	w->batch_start = w->last_batch_at = sky_now_s();
	w->batch_events = 0;
	if (w->has_last_tick && w->last_tick == w->batch.prev_tick) {
		next = WK_APPLY;
	} else if (w->has_last_tick && w->last_tick == w->batch.cur_tick) {
		snprintf(w->batch_summary, sizeof(w->batch_summary), "applied before, finishing");
		next = is_branch(w) ? WK_LOCAL_TICK : WK_FINISH;
	} else {
		if (w->has_last_tick)
			sky_error_set(&err,
			              "lost position: node \"%s\" completed tick %lld but provider "
			              "\"%s\" offers batch (%lld, %lld]",
			              w->node, w->last_tick, w->provider, w->batch.prev_tick,
			              w->batch.cur_tick);
		else
			sky_error_set(&err,
			              "lost position: node \"%s\" has completed no tick but "
			              "provider \"%s\" offers batch (%lld, %lld]",
			              w->node, w->provider, w->batch.prev_tick, w->batch.cur_tick);
		snprintf(err.sqlstate, sizeof(err.sqlstate), "%s", SKY_SQLSTATE_LOST_POSITION);
		next = fail(w, &err, true);
	}
out:
	return next;
}

/*
 * Events per FETCH for this batch: --fetch-size, or less for a smaller batch, so that even a
 * batch of a few thousand events is applied in several chunks and the pipeline overlaps them
 * (docs/worker.md, "The apply pipeline"). The batch's size is estimated from the ticks' event
 * sequences (the queue's event counter: events of transactions still open at a tick may move
 * to a later batch, so it is an estimate, which is all a chunk size needs).
 */
static int chunk_size(const struct wk *w)
{
	long long size = w->opt->fetch_size, events = 0;

	if (w->batch.cur_tick_event_seq && w->batch.prev_tick_event_seq)
		events = strtoll(w->batch.cur_tick_event_seq, NULL, 10) -
		         strtoll(w->batch.prev_tick_event_seq, NULL, 10);
	if (events > 0 && events / PIPELINE_CHUNKS + 1 < size)
		size = events / PIPELINE_CHUNKS + 1;
	if (size < PIPELINE_MIN_CHUNK)
		size = PIPELINE_MIN_CHUNK < w->opt->fetch_size ? PIPELINE_MIN_CHUNK
		                                               : w->opt->fetch_size;
	return (int)size;
}

static enum wk_state st_apply(struct wk *w)
{
	struct sky_error err;
	PGresult *res = NULL;
	enum wk_state next = WK_EXIT;
	struct sky_event ev;
	struct sky_apply_stats st;
	int i, n, rc, chunk;
	char c[256];
	double t;

	if (is_branch(w) && w->check_prev_tick) {
		/*
		 * Local ticks commit asynchronously (st_local_tick): a crash of this server can
		 * lose the newest one, which is tick prev here. Every session starts by putting it
		 * back, in its own transaction, before events after it are copied.
		 */
		const char *tp[4] = {w->cascade, w->batch.prev_tick_s, w->batch.prev_tick_time,
		                     w->batch.prev_tick_event_seq};

		if (sky_pg_exec(NULL, w->local, &err, "select pgq_set.create_tick($1, $2, $3, $4)",
		                4, tp) < 0) {
			sky_error_prefix(&err, "could not create tick %s", w->batch.prev_tick_s);
			next = fail(w, &err, true);
			goto out;
		}
	}
	w->check_prev_tick = false;
	if (sky_apply_begin(w->apply, w->local, w->cascade, is_branch(w), w->batch.cur_tick_s,
	                    &err) < 0 ||
	    sky_apply_take_backlog(w->apply, w->local, w->opt->fetch_size, &err) < 0) {
		next = fail(w, &err, true);
		goto out;
	}
	t = sky_now_s();
	chunk = chunk_size(w);
	if (w->opened) {
		/* sent with the previous batch's finish (st_finish) */
		w->opened = false;
		rc = sky_batch_fetch_recv(&res, &w->batch, w->prov, &err);
	} else {
		rc = sky_batch_open(&res, &w->batch, w->prov, chunk, &err);
	}
	w->t_fetch += sky_now_s() - t;
	if (rc < 0) {
		sky_error_prefix(&err, "provider \"%s\"", w->provider);
		next = fail(w, &err, true);
		goto out;
	}
	/*
	 * The pipeline (docs/worker.md, "The apply pipeline"): the FETCH of chunk k+1 is sent
	 * before chunk k is decoded, and chunk k's script runs on the local server while chunk
	 * k+1 is received and decoded. At most one FETCH and one chunk are in flight.
	 */
	for (;;) {
		bool more;

		n = PQntuples(res);
		more = n >= chunk;
		if (more && sky_batch_fetch_send(&w->batch, w->prov, chunk, &err) < 0) {
			sky_error_prefix(&err, "provider \"%s\"", w->provider);
			next = fail(w, &err, true);
			goto out;
		}
		for (i = 0; i < n; i++) {
			sky_batch_event(&ev, res, i);
			if (sky_apply_event(w->apply, w->local, &ev, &err) < 0) {
				next = fail(w, &err, true);
				goto out;
			}
		}
		PQclear(res);
		res = NULL;
		if (!more)
			break;
		if (sky_worker_stop_requested) {
			sky_info("%s: stopping: batch rolled back", ctx(w, c, sizeof(c)));
			abort_batch(w);
			w->in_batch = false;
			next = WK_EXIT;
			goto out;
		}
		if (sky_apply_send(w->apply, w->local, &err) < 0) {
			next = fail(w, &err, true);
			goto out;
		}
		if (sky_apply_in_flight(w->apply) &&
		    ++w->chunks_in_flight == w->kill_after_chunks) {
			sky_info("%s: test hook: SIGKILL with chunk %ld in flight",
			         ctx(w, c, sizeof(c)), w->chunks_in_flight);
			raise(SIGKILL);
		}
		t = sky_now_s();
		rc = sky_batch_fetch_recv(&res, &w->batch, w->prov, &err);
		w->t_fetch += sky_now_s() - t;
		if (rc < 0) {
			sky_error_prefix(&err, "provider \"%s\"", w->provider);
			next = fail(w, &err, true);
			goto out;
		}
	}
	free(w->watermark);
	w->watermark = NULL;
	t = sky_now_s();
	rc = sky_apply_commit(w->apply, w->local, &w->batch, &w->watermark, &err);
	w->t_commit += sky_now_s() - t;
	if (rc < 0) {
		next = fail(w, &err, true);
		goto out;
	}
	st = sky_apply_get_stats(w->apply);
	w->batches++;
	w->events += (long long)st.events;
	w->batch_events = (long long)st.events;
	if (st.set_aside || st.backlog)
		snprintf(w->batch_summary, sizeof(w->batch_summary),
		         "%zu events, %zu applied, %zu skipped, %zu set aside, %zu from backlog",
		         st.events, st.applied, st.skipped, st.set_aside, st.backlog);
	else
		snprintf(w->batch_summary, sizeof(w->batch_summary),
		         "%zu events, %zu applied, %zu skipped", st.events, st.applied, st.skipped);
	next = is_branch(w) ? WK_LOCAL_TICK : WK_FINISH;
out:
	PQclear(res);
	return next;
}

#define SQL_LOCAL_TICK                                                                             \
	"select set_config('synchronous_commit', 'off', true),"                                    \
	" pgq_set.create_tick($1, $2, $3, $4), pgq_set.local_watermark($1)"

static enum wk_state st_local_tick(struct wk *w)
{
	struct sky_error err;
	PGresult *res = NULL;
	const char *params[4] = {w->cascade, w->batch.cur_tick_s, w->batch.cur_tick_time,
	                         w->batch.cur_tick_event_seq};
	enum wk_state next = WK_EXIT;

	/*
	 * Its own transaction, after the apply committed: the tick's snapshot sees the copied
	 * events. It commits without waiting for its WAL flush (the one local commit that does):
	 * the next apply commit (synchronous, st_connect) flushes it, and a crash of this server
	 * before that can lose only this newest tick, which the next session puts back
	 * (check_prev_tick) or the skip path re-creates.
	 *
	 * After an apply the watermark to report is known already (sky_apply_commit): the tick
	 * is sent and st_finish reads its result after the provider's finish, so the two
	 * servers work at the same time. Until the result says the tick is there,
	 * check_prev_tick is set: whatever fails in between, the next batch puts the tick back
	 * before it copies events after it.
	 */
	if (w->watermark) {
		w->tick_prev_check = w->check_prev_tick;
		w->check_prev_tick = true;
		if (!PQsendQueryParams(w->local, SQL_LOCAL_TICK, 4, NULL, params, NULL, NULL, 0)) {
			sky_pg_error(&err, w->local, NULL);
			sky_error_prefix(&err, "could not create tick %s", w->batch.cur_tick_s);
			next = fail(w, &err, true);
			goto out;
		}
		w->tick_pending = true;
		next = WK_FINISH;
		goto out;
	}
	if (sky_pg_exec(&res, w->local, &err, SQL_LOCAL_TICK, 4, params) < 0) {
		sky_error_prefix(&err, "could not create tick %s", w->batch.cur_tick_s);
		next = fail(w, &err, true);
		goto out;
	}
	free(w->watermark);
	w->watermark = PQgetisnull(res, 0, 2) ? NULL : sky_strdup(PQgetvalue(res, 0, 2));
	next = WK_FINISH;
out:
	PQclear(res);
	return next;
}

/* The result of the tick st_local_tick sent (the connection is idle again after it). */
static int local_tick_result(struct wk *w, struct sky_error *err)
{
	int ret = -1;
	PGresult *res, *extra;
	bool ok;

	w->tick_pending = false;
	res = PQgetResult(w->local);
	ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		sky_pg_error(err, w->local, res);
	PQclear(res);
	while ((extra = PQgetResult(w->local)) != NULL)
		PQclear(extra);
	if (!ok) {
		sky_error_prefix(err, "could not create tick %s", w->batch.cur_tick_s);
		goto out;
	}
	w->check_prev_tick = w->tick_prev_check;
	ret = 0;
out:
	return ret;
}

static enum wk_state st_finish(struct wk *w)
{
	struct sky_error err, tick_err;
	PGresult *res = NULL;
	const char *params[1] = {w->cascade};
	enum wk_state next = WK_EXIT;
	char c[256];
	double epoch;
	long long behind, finished;
	bool found = false;
	int rc;

	if (!w->watermark) {
		if (sky_pg_exec(&res, w->local, &err, "select pgq_set.local_watermark($1)", 1,
		                params) < 0) {
			next = fail(w, &err, true);
			goto out;
		}
		if (!PQgetisnull(res, 0, 0))
			w->watermark = sky_strdup(PQgetvalue(res, 0, 0));
	}
	/* the finished batch's figures: the finish asks for the next batch into w->batch */
	ctx(w, c, sizeof(c));
	finished = w->batch.cur_tick;
	epoch = w->batch.cur_tick_epoch;
	behind = w->batch.head_tick >= 0 ? w->batch.head_tick - w->batch.cur_tick : -1;
	rc = sky_batch_finish(&w->batch, w->prov, w->cascade, w->node, w->watermark, &found,
	                      span_events(w), &err);
	if (rc < 0)
		sky_error_prefix(&err, "provider \"%s\"", w->provider);
	/*
	 * The local tick ran meanwhile: its result is read in any case (the local session must
	 * be idle again); its error is the one reported when the finish went through.
	 */
	if (w->tick_pending && local_tick_result(w, rc < 0 ? &tick_err : &err) < 0 && rc == 0)
		rc = -1;
	if (rc < 0) {
		next = fail(w, &err, true);
		goto out;
	}
	provider_answered(w, found);
	w->prefetched = true;
	w->prefetch_found = found;
	/*
	 * The next batch follows this one (its prev is the tick just completed): open its
	 * cursor now, so that the provider runs the first fetch while the local node reads its
	 * state and begins (st_read_state, st_apply). Anything else between drops it (driver).
	 */
	if (found && w->batch.prev_tick == finished) {
		if (sky_batch_open_send(&w->batch, w->prov, chunk_size(w), &err) < 0) {
			sky_error_prefix(&err, "provider \"%s\"", w->provider);
			next = fail(w, &err, true);
			goto out;
		}
		w->opened = true;
	}
	sky_debug("%s: %s, %.1f ms", c, w->batch_summary, (sky_now_s() - w->batch_start) * 1e3);
	sky_metrics_batch_done(w->opt->metrics, w->batch_events, sky_now_s() - w->batch_start,
	                       epoch, behind);
	free(w->watermark);
	w->watermark = NULL;
	w->in_batch = false;
	succeeded(w);
	next = WK_READ_STATE;
out:
	PQclear(res);
	return next;
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
				abort_batch(&w);
			break;
		}
		t0 = sky_now_s();
		prev = state;
		switch (state) {
		case WK_CONNECT:
			state = st_connect(&w);
			break;
		case WK_READ_STATE:
			state = st_read_state(&w);
			break;
		case WK_ROOT_TICK:
			state = st_root_tick(&w);
			break;
		case WK_PAUSE:
			state = st_pause(&w);
			break;
		case WK_PROVIDER:
			state = st_provider(&w);
			break;
		case WK_NEXT_BATCH:
			state = st_next_batch(&w);
			break;
		case WK_APPLY:
			state = st_apply(&w);
			break;
		case WK_LOCAL_TICK:
			state = st_local_tick(&w);
			break;
		case WK_FINISH:
			state = st_finish(&w);
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
		sky_info("%s: stopped", ctx(&w, c, sizeof(c)));
	sky_debug("%s: %lld batches, %lld events in %.3f s; seconds in state: read %.3f, next %.3f,"
	          " apply %.3f (fetch %.3f, commit %.3f), tick %.3f, finish %.3f, idle %.3f",
	          ctx(&w, c, sizeof(c)), w.batches, w.events, sky_now_s() - start, w.t_state,
	          w.t_next, w.t_apply, w.t_fetch, w.t_commit, w.t_tick, w.t_finish, w.t_idle);
	abort_batch(&w);
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
