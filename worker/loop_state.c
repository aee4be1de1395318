/*
 * loop_state: between batches. READ_STATE reads the node's state every loop (with the
 * heartbeat, the witness report and the --metrics tables once a second), takes the node's
 * advisory lock, claims and starts table copies; then PAUSE (acknowledged once idle) or, on
 * the root, ROOT_TICK (the global watermark). See loop_internal.h.
 */
#include "loop_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "pgscript.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

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
		sky_debug("%s: metrics: could not read the tables: %s", wk_ctx(w, c, sizeof(c)),
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

enum wk_state wk_st_read_state(struct wk *w)
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
	if (w->contact_at > 0 && wk_streq(w->seen_provider, w->provider)) {
		snprintf(contact, sizeof(contact), "%.3f", now - w->contact_at);
		params[2] = contact;
	}
	if (w->progress_at > 0 && wk_streq(w->seen_provider, w->provider)) {
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
			next = wk_fail(w, &err, false);
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
		next = wk_fail(w, &err, false);
		goto out;
	}
	if (heartbeat)
		w->last_heartbeat = now;
	wk_set_str(&w->cascade, PQgetvalue(res, 0, 0));
	wk_set_str(&w->node, PQgetvalue(res, 0, 1));
	wk_set_str(&w->role, PQgetvalue(res, 0, 2));
	wk_set_str(&w->provider, PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3));
	wk_set_str(&w->provider_location, PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4));
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
			next = wk_fail(w, &err, false);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			/* or the session of one that just died has not ended yet: retry */
			sky_error_set(&err, "another skyworker is running for this node");
			err.retryable = true;
			next = wk_fail(w, &err, false);
			goto out;
		}
		w->locked = true;
		sky_info("%s: started as %s%s%s", wk_ctx(w, c, sizeof(c)), w->role,
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
			next = wk_fail(w, &err, true);
			goto out;
		}
		sky_info("%s: resumed", wk_ctx(w, c, sizeof(c)));
		w->was_paused = false;
	}
	if (!wk_streq(w->role, "root") &&
	    (w->opt->once || claim_now || now - w->last_copy_check >= HEARTBEAT_PERIOD)) {
		w->last_copy_check = now;
		if (check_copies(w, &err) < 0) {
			next = wk_fail(w, &err, true);
			goto out;
		}
	}

	if (wk_streq(w->role, "root")) {
		if (w->prov)
			wk_drop_provider(w);
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
enum wk_state wk_st_pause(struct wk *w)
{
	enum wk_state next = w->opt->once ? WK_EXIT : WK_IDLE;
	struct sky_error err;
	char c[256];
	size_t running = sky_copies_running(w->copies);

	if (!w->was_paused)
		sky_info("%s: paused", wk_ctx(w, c, sizeof(c)));
	w->was_paused = true;
	if (running > 0) {
		sky_info("%s: paused: stopping %zu table cop%s", wk_ctx(w, c, sizeof(c)), running,
		         running == 1 ? "y" : "ies");
		sky_copies_stop(w->copies);
	}
	if (!w->paused_ack) {
		if (pause_ack(w, true, &err) < 0) {
			next = wk_fail(w, &err, true);
			goto out;
		}
		sky_info("%s: pause acknowledged", wk_ctx(w, c, sizeof(c)));
	}
	w->sleep_for = w->opt->poll_interval;
out:
	return next;
}

enum wk_state wk_st_root_tick(struct wk *w)
{
	enum wk_state next = w->opt->once ? WK_EXIT : WK_IDLE;
	struct sky_error err;
	const char *params[1] = {w->cascade};
	double now = sky_now_s();

	if (now - w->last_publish >= HEARTBEAT_PERIOD) {
		if (sky_pg_exec(NULL, w->local, &err, "select pgq_set.publish_watermark($1)", 1,
		                params) < 0) {
			sky_error_prefix(&err, "could not publish the global watermark");
			next = wk_fail(w, &err, true);
			goto out;
		}
		w->last_publish = now;
		wk_succeeded(w);
	}
	w->sleep_for =
	    w->opt->poll_interval < HEARTBEAT_PERIOD ? w->opt->poll_interval : HEARTBEAT_PERIOD;
out:
	return next;
}
