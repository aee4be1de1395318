/*
 * apply: batches into local tables through COPY into temp staging tables and two set-based
 * statements per table and chunk, all of a chunk in one round trip (pgscript).
 *
 * This file: the API of apply.h (begin, event, backlog, send, flush, commit, abort).
 * Vocabulary and the other modules: apply_internal.h.
 */
#include "apply_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_pg.h"

/* ---------------------------------------------------------------- public */

struct sky_apply *sky_apply_new(void)
{
	struct sky_apply *a = sky_calloc(1, sizeof(*a));

	a->watermark = -1;
	apply_chunk_init(&a->chunks[0]);
	apply_chunk_init(&a->chunks[1]);
	a->ch = &a->chunks[0];
	sky_row_init(&a->row);
	sky_buf_init(&a->tmp);
	return a;
}

void sky_apply_free(struct sky_apply *a)
{
	size_t i;

	if (a) {
		for (i = 0; i < a->nslots; i++) {
			if (a->slots[i])
				apply_table_free(a->slots[i]);
		}
		free(a->slots);
		apply_chunk_release(&a->chunks[0]);
		apply_chunk_release(&a->chunks[1]);
		free(a->held);
		sky_row_release(&a->row);
		sky_buf_release(&a->tmp);
		free(a);
	}
}

/* After a commit (or a rollback): the staging tables are empty again. */
static void shapes_end_xact(struct sky_apply *a, bool committed)
{
	size_t i;
	struct apply_shape *s;

	for (i = 0; i < a->nslots; i++) {
		if (!a->slots[i])
			continue;
		for (s = a->slots[i]->shapes; s; s = s->next) {
			if (s->created_now && !committed)
				s->created = false;
			s->created_now = false;
			s->used_now = false;
			s->held_rows = 0;
			s->held_del = false;
		}
	}
	a->nheld = 0;
	a->held_rows = 0;
}

void sky_apply_reset_session(struct sky_apply *a)
{
	size_t i;
	struct apply_shape *s;

	apply_ops_reset(a);
	for (i = 0; i < a->nslots; i++) {
		if (!a->slots[i])
			continue;
		apply_table_free_meta(a->slots[i]);
		for (s = a->slots[i]->shapes; s; s = s->next) {
			s->created = s->created_now = s->used_now = s->prepared = s->prepared_now =
			    s->held_del = false;
			s->held_rows = 0;
		}
	}
	a->nheld = 0;
	a->held_rows = 0;
	a->in_xact = false;
}

/* Row r of get_apply_tables: the table, its state and copy position. */
static int table_set_state(struct sky_apply *a, const PGresult *res, int r, struct sky_error *err)
{
	int ret = -1;
	const char *name = PQgetvalue(res, r, 0);
	const char *state = PQgetvalue(res, r, 3);
	struct apply_table *t = apply_table_lookup(a, name);

	if (!t)
		t = apply_table_add(a, name, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
	t->active = true;
	sky_snapshot_release(&t->copy_snap);
	t->has_copy_snap = t->has_copy_tick = false;
	if (strcmp(state, "copying") == 0) {
		t->state = TABLE_COPYING;
	} else if (strcmp(state, "catching-up") == 0) {
		t->state = TABLE_CATCHING_UP;
		a->catching_up = true;
		if (!PQgetisnull(res, r, 4)) {
			if (sky_snapshot_parse(&t->copy_snap, PQgetvalue(res, r, 4), err) < 0) {
				sky_error_prefix(err, "table \"%s\"", name);
				goto out;
			}
			t->has_copy_snap = true;
		}
		if (!PQgetisnull(res, r, 5)) {
			t->copy_tick = strtoll(PQgetvalue(res, r, 5), NULL, 10);
			t->has_copy_tick = true;
		}
	} else {
		t->state = TABLE_OK;
	}
	ret = 0;
out:
	return ret;
}

/*
 * Is the event part of a catching-up table's copy already? Copied from the root: its
 * transaction is visible in the copy's snapshot. Copied from a branch: its batch is not
 * after the tick the copy was taken at.
 */
static bool in_copy(const struct sky_apply *a, const struct apply_table *t, const char *ev_txid)
{
	bool contained = false;

	if (t->has_copy_snap && ev_txid)
		contained = sky_snapshot_visible(&t->copy_snap, strtoll(ev_txid, NULL, 10));
	if (t->has_copy_tick && a->cur_tick_ll <= t->copy_tick)
		contained = true;
	return contained;
}

/* Set an event of a table being copied aside in pgq_set.copy_backlog (a COPY row). */
static void set_aside(struct sky_apply *a, const struct apply_table *t, const struct sky_event *ev)
{
	const char *row[7] = {a->cascade,  t->name,  ev->id,  ev->txid,
	                      a->cur_tick, ev->type, ev->data};

	sky_copy_row_append(&a->ch->backlog, row, 7);
	a->ch->nbacklog++;
}

int sky_apply_begin(struct sky_apply *a, PGconn *local, const char *cascade, bool copy_queue,
                    const char *cur_tick, struct sky_error *err)
{
	int ret = -1;
	const char *params[1] = {cascade};
	struct sky_pg_stmt stmts[3];
	PGresult *res[3] = {NULL, NULL, NULL};
	size_t n = 0, i, tables_res;
	int r;

	apply_ops_reset(a);
	memset(&a->stats, 0, sizeof(a->stats));
	a->seq = 0;
	a->watermark = -1;
	a->cascade = cascade;
	a->copy_queue = copy_queue;
	a->cur_tick = cur_tick;
	a->cur_tick_ll = strtoll(cur_tick, NULL, 10);
	a->catching_up = false;
	a->final = false;

	stmts[n++] = (struct sky_pg_stmt){"begin", 0, NULL};
	if (copy_queue) {
		/* the event table is valid for this transaction only: read it after the
		 * transaction has its txid, as PgQ's rotation expects of inserters */
		stmts[n++] = (struct sky_pg_stmt){
		    "select txid_current(), pgq_set.queue_event_table($1)", 1, params};
	}
	tables_res = n;
	stmts[n++] = (struct sky_pg_stmt){
	    "select table_name, schema_name, rel_name, state, copy_snapshot, copy_tick"
	    " from pgq_set.get_apply_tables($1)",
	    1, params};
	if (sky_pg_pipeline(res, local, stmts, n, err) < 0) {
		sky_error_prefix(err, "could not start the apply transaction");
		goto out;
	}
	a->in_xact = true;
	if (copy_queue) {
		if (PQntuples(res[1]) != 1 || PQgetisnull(res[1], 0, 1)) {
			sky_error_set(err, "queue \"%s\" does not exist on this node", cascade);
			goto out;
		}
		sky_qcopy_set_table(&a->chunks[0].qc, PQgetvalue(res[1], 0, 1));
		sky_qcopy_set_table(&a->chunks[1].qc, PQgetvalue(res[1], 0, 1));
	}
	for (i = 0; i < a->nslots; i++) {
		if (a->slots[i])
			a->slots[i]->active = false;
	}
	for (r = 0; r < PQntuples(res[tables_res]); r++) {
		if (table_set_state(a, res[tables_res], r, err) < 0)
			goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		PQclear(res[i]);
	return ret;
}

static int parse_ll(long long *out, const char *s)
{
	int ret = -1;
	char *end;
	long long v;

	if (!s || !*s)
		goto out;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		goto out;
	*out = v;
	ret = 0;
out:
	return ret;
}

/* Apply one row or truncate event of table t (other event types are skipped). */
static int apply_table_event(struct sky_apply *a, PGconn *local, struct apply_table *t,
                             const struct sky_event *ev, long long ev_id, struct sky_error *err)
{
	int ret = -1;
	struct sky_ev_type et;

	if (sky_ev_type_parse(&et, ev->type, err) < 0) {
		sky_error_prefix(err, "event %lld of table \"%s\"", ev_id, t->name);
		goto out;
	}
	if (et.kind == SKY_EV_OTHER) {
		a->stats.skipped++;
	} else if (et.kind == SKY_EV_TRUNCATE) {
		apply_plan_truncate(a, t);
		a->stats.applied++;
	} else if (apply_plan_row(a, local, t, &et, ev, ev_id, err) < 0) {
		sky_error_prefix(err, "event %lld of table \"%s\"", ev_id, t->name);
		goto out;
	} else {
		a->stats.applied++;
	}
	ret = 0;
out:
	return ret;
}

int sky_apply_event(struct sky_apply *a, PGconn *local, const struct sky_event *ev,
                    struct sky_error *err)
{
	int ret = -1;
	struct apply_table *t;
	long long ev_id = 0;

	a->stats.events++;
	if (parse_ll(&ev_id, ev->id) < 0) {
		sky_error_set(err, "event with invalid ev_id \"%s\"", ev->id ? ev->id : "");
		goto out;
	}
	if (a->copy_queue && sky_qcopy_add(&a->ch->qc, ev, err) < 0)
		goto out;
	if (ev->type && strcmp(ev->type, "pgq_set.watermark") == 0) {
		long long wm;

		if (parse_ll(&wm, ev->data) < 0) {
			sky_error_set(err, "event %lld: invalid watermark \"%s\"", ev_id,
			              ev->data ? ev->data : "");
			goto out;
		}
		if (wm > a->watermark)
			a->watermark = wm;
		a->stats.skipped++;
		ret = 0;
		goto out;
	}
	t = apply_table_lookup(a, ev->extra1);
	if (!t || !t->active) {
		a->stats.skipped++;
	} else if (t->state == TABLE_COPYING) {
		set_aside(a, t, ev);
		a->stats.set_aside++;
	} else if (t->state == TABLE_CATCHING_UP && in_copy(a, t, ev->txid)) {
		a->stats.skipped++;
	} else if (apply_table_event(a, local, t, ev, ev_id, err) < 0) {
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* Apply the events set aside for catching-up table t that its copy does not contain. */
static int take_table_backlog(struct sky_apply *a, PGconn *local, struct apply_table *t,
                              int fetch_size, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *params[2] = {a->cascade, t->name};
	char fetch[64];
	struct sky_event ev;
	long long ev_id;
	int r, n;

	snprintf(fetch, sizeof(fetch), "fetch %d from sky_backlog", fetch_size);
	if (apply_wait(a, err) < 0)
		goto out;
	if (sky_pg_exec(NULL, local, err,
	                "declare sky_backlog no scroll cursor for select ev_id, ev_txid, ev_type,"
	                " ev_data from pgq_set.take_backlog($1, $2)",
	                2, params) < 0)
		goto out;
	do {
		if (sky_pg_exec(&res, local, err, fetch, 0, NULL) < 0)
			goto out;
		n = PQntuples(res);
		for (r = 0; r < n; r++) {
			memset(&ev, 0, sizeof(ev));
			ev.id = PQgetvalue(res, r, 0);
			ev.txid = PQgetvalue(res, r, 1);
			ev.type = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2);
			ev.data = PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3);
			ev.extra1 = t->name;
			if (parse_ll(&ev_id, ev.id) < 0) {
				sky_error_set(err, "invalid ev_id \"%s\"", ev.id);
				goto out;
			}
			if (apply_table_event(a, local, t, &ev, ev_id, err) < 0)
				goto out;
			a->stats.backlog++;
		}
		PQclear(res);
		res = NULL;
		if (sky_apply_flush(a, local, err) < 0)
			goto out;
	} while (n == fetch_size);
	if (sky_pg_exec(NULL, local, err, "close sky_backlog", 0, NULL) < 0)
		goto out;
	ret = 0;
out:
	PQclear(res);
	if (ret < 0)
		sky_error_prefix(err, "could not apply the events set aside for table \"%s\"",
		                 t->name);
	return ret;
}

int sky_apply_take_backlog(struct sky_apply *a, PGconn *local, int fetch_size,
                           struct sky_error *err)
{
	int ret = -1;
	size_t i;

	for (i = 0; i < a->nslots; i++) {
		struct apply_table *t = a->slots[i];

		if (t && t->active && t->state == TABLE_CATCHING_UP &&
		    take_table_backlog(a, local, t, fetch_size, err) < 0)
			goto out;
	}
	ret = 0;
out:
	return ret;
}

/* The script of ch ended (rc 0: it ran; else it failed): settle its prepared statements. */
static void chunk_settle(struct apply_chunk *ch, int rc)
{
	size_t i;

	for (i = 0; i < ch->nops; i++) {
		struct apply_shape *s = ch->ops[i].shape;

		if (!s || !s->prepared_now)
			continue;
		/* after a failure it is unknown whether PREPARE ran: use new names next time */
		if (rc == 0)
			s->prepared = true;
		else
			s->prep_gen++;
		s->prepared_now = false;
	}
}

/*
 * Wait for the chunk in flight, if any, and read its results. Afterwards the connection is
 * idle (or broken) and nothing is in flight, whatever the outcome.
 */
int apply_wait(struct sky_apply *a, struct sky_error *err)
{
	int ret = -1, rc;
	struct sky_pg_script_pos pos;
	struct apply_chunk *ch = a->flight;

	if (!ch) {
		ret = 0;
		goto out;
	}
	rc = sky_pg_script_finish(&ch->run, &pos, err);
	chunk_settle(ch, rc);
	if (rc < 0)
		apply_flush_error_context(ch, &pos, err);
	apply_chunk_clear(ch);
	a->flight = NULL;
	if (rc < 0)
		goto out;
	ret = 0;
out:
	return ret;
}

int sky_apply_send(struct sky_apply *a, PGconn *local, struct sky_error *err)
{
	int ret = -1, rc;
	struct sky_pg_script_pos pos;
	struct apply_chunk *ch = a->ch;

	if (apply_wait(a, err) < 0)
		goto out;
	if (ch->nops == 0 && ch->qc.n == 0 && ch->nbacklog == 0 && !(a->final && a->nheld > 0)) {
		ret = 0;
		goto out;
	}
	if (apply_chunk_build(a, local, err) < 0)
		goto out;
	rc = sky_pg_script_start(&ch->run, local, ch->script.data, ch->bufs, ch->nbufs, &pos, err);
	if (rc < 0) {
		/* start reads everything after a failure: nothing is in flight */
		chunk_settle(ch, rc);
		apply_flush_error_context(ch, &pos, err);
		goto out;
	}
	/* in flight: the next events go into the other chunk */
	apply_chunk_detach(ch);
	a->flight = ch;
	a->ch = ch == &a->chunks[0] ? &a->chunks[1] : &a->chunks[0];
	ret = 0;
out:
	if (ret < 0)
		apply_ops_reset(a);
	return ret;
}

bool sky_apply_in_flight(const struct sky_apply *a)
{
	return a->flight != NULL;
}

int sky_apply_flush(struct sky_apply *a, PGconn *local, struct sky_error *err)
{
	int ret = -1;

	if (sky_apply_send(a, local, err) < 0 || apply_wait(a, err) < 0)
		goto out;
	ret = 0;
out:
	return ret;
}

int sky_apply_commit(struct sky_apply *a, PGconn *local, const struct sky_batch *batch,
                     char **watermark_out, struct sky_error *err)
{
	int ret = -1;
	char wm[24];
	const char *cur_tick = batch->cur_tick_s, *cur_xmin = batch->cur_tick_xmin;
	const char *p_complete[7] = {a->cascade,
	                             batch->prev_tick_s,
	                             cur_tick,
	                             batch->prev_tick_time,
	                             batch->prev_tick_event_seq,
	                             batch->cur_tick_time,
	                             batch->cur_tick_event_seq};
	const char *p_wm[2] = {a->cascade, wm};
	const char *p_cascade[1] = {a->cascade};
	const char *p_catch[3] = {a->cascade, cur_tick, cur_xmin};
	struct sky_pg_stmt stmts[5];
	PGresult *res[5] = {NULL, NULL, NULL, NULL, NULL};
	size_t n = 0, i, wm_res = 0, catch_res = 0;
	int r;

	a->final = true; /* every held row is applied before complete_batch */
	if (sky_apply_flush(a, local, err) < 0)
		goto out;
	stmts[n++] = (struct sky_pg_stmt){
	    "select pgq_set.complete_batch($1, $2, $3, $4, $5, $6, $7)", 7, p_complete};
	if (a->watermark >= 0) {
		snprintf(wm, sizeof(wm), "%lld", a->watermark);
		stmts[n++] =
		    (struct sky_pg_stmt){"select pgq_set.set_global_watermark($1, $2)", 2, p_wm};
	}
	if (a->catching_up) {
		catch_res = n;
		stmts[n++] =
		    (struct sky_pg_stmt){"select pgq_set.finish_catch_up($1, $2, $3)", 3, p_catch};
	}
	if (watermark_out) {
		/* same value as after the commit: last_tick is cur already */
		wm_res = n;
		stmts[n++] =
		    (struct sky_pg_stmt){"select pgq_set.local_watermark($1)", 1, p_cascade};
	}
	stmts[n++] = (struct sky_pg_stmt){"commit", 0, NULL};
	if (sky_pg_pipeline(res, local, stmts, n, err) < 0)
		goto out;
	a->in_xact = false;
	shapes_end_xact(a, true);
	if (a->catching_up) {
		for (r = 0; r < PQntuples(res[catch_res]); r++)
			sky_info(
			    "cascade \"%s\": table \"%s\" has caught up and is replicated from "
			    "tick %s on",
			    a->cascade, PQgetvalue(res[catch_res], r, 0), cur_tick);
	}
	if (watermark_out) {
		*watermark_out = PQntuples(res[wm_res]) == 1 && !PQgetisnull(res[wm_res], 0, 0)
		                     ? sky_strdup(PQgetvalue(res[wm_res], 0, 0))
		                     : NULL;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		PQclear(res[i]);
	return ret;
}

void sky_apply_abort(struct sky_apply *a, PGconn *local)
{
	PGTransactionStatusType ts;

	if (a->flight) {
		/* read what is left of the script in flight: the connection must be idle */
		if (local && PQstatus(local) == CONNECTION_OK)
			sky_pg_script_finish(&a->flight->run, NULL, NULL);
		chunk_settle(a->flight, -1);
	}
	apply_ops_reset(a);
	if (local && PQstatus(local) == CONNECTION_OK) {
		ts = PQtransactionStatus(local);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			PGresult *res = PQexec(local, "rollback");

			PQclear(res);
		}
	}
	shapes_end_xact(a, false);
	a->in_xact = false;
}

struct sky_apply_stats sky_apply_get_stats(const struct sky_apply *a)
{
	return a->stats;
}
