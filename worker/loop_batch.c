/*
 * loop_batch: one batch. NEXT_BATCH asks the provider (or takes what the last finish asked
 * for) and compares it with the completed tick; APPLY fetches and applies it through the
 * pipeline and commits; LOCAL_TICK (branch) creates the tick; FINISH finishes the batch on the
 * provider, asks for the next one and opens its cursor. See loop_internal.h.
 */
#include "loop_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "pgscript.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

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
	if (wk_streq(w->role, "leaf") && w->tables_ok && sky_copies_running(w->copies) == 0)
		return w->opt->leaf_batch_events;
	return 0;
}

/* The witness: the provider answered a next-batch question, and maybe offered a new tick. */
static void provider_answered(struct wk *w, bool found)
{
	if (!wk_streq(w->seen_provider, w->provider)) {
		wk_set_str(&w->seen_provider, w->provider);
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
enum wk_state wk_st_next_batch(struct wk *w)
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
			next = wk_fail(w, &err, true);
			goto out;
		}
		provider_answered(w, found);
	}
	if (!found) {
		/* nothing pending: a permanent error recorded earlier is gone */
		wk_succeeded(w);
		w->sleep_for = poll_next_sleep(w);
		next = WK_IDLE;
		if (w->opt->once && sky_copies_failures(w->copies) > 0) {
			sky_errorlog("%s: a table copy failed", wk_ctx(w, c, sizeof(c)));
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
		next = wk_is_branch(w) ? WK_LOCAL_TICK : WK_FINISH;
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
		next = wk_fail(w, &err, true);
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

enum wk_state wk_st_apply(struct wk *w)
{
	struct sky_error err;
	PGresult *res = NULL;
	enum wk_state next = WK_EXIT;
	struct sky_event ev;
	struct sky_apply_stats st;
	int i, n, rc, chunk;
	char c[256];
	double t;

	if (wk_is_branch(w) && w->check_prev_tick) {
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
			next = wk_fail(w, &err, true);
			goto out;
		}
	}
	w->check_prev_tick = false;
	if (sky_apply_begin(w->apply, w->local, w->cascade, wk_is_branch(w), w->batch.cur_tick_s,
	                    &err) < 0 ||
	    sky_apply_take_backlog(w->apply, w->local, w->opt->fetch_size, &err) < 0) {
		next = wk_fail(w, &err, true);
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
		next = wk_fail(w, &err, true);
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
			next = wk_fail(w, &err, true);
			goto out;
		}
		for (i = 0; i < n; i++) {
			sky_batch_event(&ev, res, i);
			if (sky_apply_event(w->apply, w->local, &ev, &err) < 0) {
				next = wk_fail(w, &err, true);
				goto out;
			}
		}
		PQclear(res);
		res = NULL;
		if (!more)
			break;
		if (sky_worker_stop_requested) {
			sky_info("%s: stopping: batch rolled back", wk_ctx(w, c, sizeof(c)));
			wk_abort_batch(w);
			w->in_batch = false;
			next = WK_EXIT;
			goto out;
		}
		if (sky_apply_send(w->apply, w->local, &err) < 0) {
			next = wk_fail(w, &err, true);
			goto out;
		}
		if (sky_apply_in_flight(w->apply) &&
		    ++w->chunks_in_flight == w->kill_after_chunks) {
			sky_info("%s: test hook: SIGKILL with chunk %ld in flight",
			         wk_ctx(w, c, sizeof(c)), w->chunks_in_flight);
			raise(SIGKILL);
		}
		t = sky_now_s();
		rc = sky_batch_fetch_recv(&res, &w->batch, w->prov, &err);
		w->t_fetch += sky_now_s() - t;
		if (rc < 0) {
			sky_error_prefix(&err, "provider \"%s\"", w->provider);
			next = wk_fail(w, &err, true);
			goto out;
		}
	}
	free(w->watermark);
	w->watermark = NULL;
	t = sky_now_s();
	rc = sky_apply_commit(w->apply, w->local, &w->batch, &w->watermark, &err);
	w->t_commit += sky_now_s() - t;
	if (rc < 0) {
		next = wk_fail(w, &err, true);
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
	next = wk_is_branch(w) ? WK_LOCAL_TICK : WK_FINISH;
out:
	PQclear(res);
	return next;
}

#define SQL_LOCAL_TICK                                                                             \
	"select set_config('synchronous_commit', 'off', true),"                                    \
	" pgq_set.create_tick($1, $2, $3, $4), pgq_set.local_watermark($1)"

enum wk_state wk_st_local_tick(struct wk *w)
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
			next = wk_fail(w, &err, true);
			goto out;
		}
		w->tick_pending = true;
		next = WK_FINISH;
		goto out;
	}
	if (sky_pg_exec(&res, w->local, &err, SQL_LOCAL_TICK, 4, params) < 0) {
		sky_error_prefix(&err, "could not create tick %s", w->batch.cur_tick_s);
		next = wk_fail(w, &err, true);
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

enum wk_state wk_st_finish(struct wk *w)
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
			next = wk_fail(w, &err, true);
			goto out;
		}
		if (!PQgetisnull(res, 0, 0))
			w->watermark = sky_strdup(PQgetvalue(res, 0, 0));
	}
	/* the finished batch's figures: the finish asks for the next batch into w->batch */
	wk_ctx(w, c, sizeof(c));
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
		next = wk_fail(w, &err, true);
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
			next = wk_fail(w, &err, true);
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
	wk_succeeded(w);
	next = WK_READ_STATE;
out:
	PQclear(res);
	return next;
}
