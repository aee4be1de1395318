/*
 * batch: PgQ consumer side of a batch on the provider connection.
 */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgscript.h"
#include "sky_mem.h"
#include "sky_pg.h"

/* the columns batch_event_sql selects, in order */
enum {
	COL_ID,
	COL_TIME,
	COL_TXID,
	COL_RETRY,
	COL_TYPE,
	COL_DATA,
	COL_EX1,
	COL_EX2,
	COL_EX3,
	COL_EX4,
	NCOLS
};

void sky_batch_init(struct sky_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void sky_batch_release(struct sky_batch *b)
{
	free(b->cur_tick_time);
	free(b->cur_tick_event_seq);
	free(b->prev_tick_time);
	free(b->prev_tick_event_seq);
	free(b->cur_tick_xmin);
	free(b->event_sql);
	sky_batch_init(b);
}

static int tick_parse(long long *out, char *text, size_t text_size, const char *s,
                      struct sky_error *err)
{
	int ret = -1;
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end) {
		sky_error_set(err, "provider returned an invalid id \"%s\"", s);
		goto out;
	}
	*out = v;
	snprintf(text, text_size, "%lld", v);
	ret = 0;
out:
	return ret;
}

/*
 * The next batch: pgq.next_batch_info ($1 queue, $2 consumer) with the batch's event SQL.
 * The function scan runs to completion before the select list, so batch_event_sql sees the
 * batch next_batch_info just opened.
 */
#define SQL_NEXT_COLUMNS                                                                           \
	"select b.batch_id, b.cur_tick_id, b.prev_tick_id, b.cur_tick_time,"                       \
	" b.cur_tick_event_seq,"                                                                   \
	" case when b.batch_id is not null then pgq.batch_event_sql(b.batch_id) end,"              \
	" b.prev_tick_time, b.prev_tick_event_seq,"                                                \
	" case when b.batch_id is not null then pgq_set.tick_xmin($1, b.cur_tick_id) end,"         \
	" extract(epoch from b.cur_tick_time),"                                                    \
	" case when b.batch_id is not null then (select max(t.tick_id) from pgq.tick t"            \
	"  join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = $1) end"
static const char SQL_NEXT[] = SQL_NEXT_COLUMNS " from pgq.next_batch_info($1, $2) b";
/*
 * The ticks waiting as one batch of up to about $3 events: PgQ's next_batch_custom with a
 * minimum count of what is pending, capped at $3, takes the newest tick when that is at most
 * 2 × $3 events away, else the first tick at least $3 events away (pgq.find_tick_helper).
 * An empty queue gives no batch, idle ticks one empty batch up to the newest.
 */
static const char SQL_NEXT_SPAN[] =
    SQL_NEXT_COLUMNS " from pgq.next_batch_custom($1, $2, null,"
                     " (select least($3::bigint, greatest(i.pending_events, 0))::int4"
                     "  from pgq.get_consumer_info($1, $2) i), null) b";

/* b := the batch SQL_NEXT's result describes (released first); *found: there is one */
static int next_take(struct sky_batch *b, bool *found, const PGresult *res, struct sky_error *err)
{
	int ret = -1;

	sky_batch_release(b);
	*found = false;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		ret = 0;
		goto out;
	}
	if (tick_parse(&b->batch_id, b->batch_id_s, sizeof(b->batch_id_s), PQgetvalue(res, 0, 0),
	               err) < 0 ||
	    tick_parse(&b->cur_tick, b->cur_tick_s, sizeof(b->cur_tick_s), PQgetvalue(res, 0, 1),
	               err) < 0 ||
	    tick_parse(&b->prev_tick, b->prev_tick_s, sizeof(b->prev_tick_s), PQgetvalue(res, 0, 2),
	               err) < 0) {
		sky_batch_release(b);
		goto out;
	}
	b->cur_tick_time = sky_strdup(PQgetvalue(res, 0, 3));
	b->cur_tick_event_seq = sky_strdup(PQgetvalue(res, 0, 4));
	b->event_sql = sky_strdup(PQgetvalue(res, 0, 5));
	b->prev_tick_time = sky_strdup(PQgetvalue(res, 0, 6));
	b->prev_tick_event_seq = sky_strdup(PQgetvalue(res, 0, 7));
	b->cur_tick_xmin = PQgetisnull(res, 0, 8) ? NULL : sky_strdup(PQgetvalue(res, 0, 8));
	/* for the metrics only: never a reason to refuse a batch */
	b->cur_tick_epoch = PQgetisnull(res, 0, 9) ? 0 : strtod(PQgetvalue(res, 0, 9), NULL);
	b->head_tick = PQgetisnull(res, 0, 10) ? -1 : strtoll(PQgetvalue(res, 0, 10), NULL, 10);
	*found = true;
	ret = 0;
out:
	return ret;
}

int sky_batch_next(struct sky_batch *b, bool *found, PGconn *prov, const char *queue,
                   const char *consumer, int span_events, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	char span[24];
	const char *params[3] = {queue, consumer, span};

	sky_batch_release(b);
	*found = false;
	snprintf(span, sizeof(span), "%d", span_events);
	if (sky_pg_exec(&res, prov, err, span_events > 0 ? SQL_NEXT_SPAN : SQL_NEXT,
	                span_events > 0 ? 3 : 2, params) < 0) {
		sky_error_prefix(err, "could not get the next batch");
		goto out;
	}
	ret = next_take(b, found, res, err);
out:
	PQclear(res);
	return ret;
}

static int fetch_check(PGresult *res, PGconn *prov, struct sky_error *err)
{
	int ret = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		sky_pg_error(err, prov, res);
		sky_error_prefix(err, "could not fetch events");
		goto out;
	}
	if (PQnfields(res) != NCOLS) {
		sky_error_set(err, "event query returned %d columns, expected %d", PQnfields(res),
		              NCOLS);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

int sky_batch_open(PGresult **out, struct sky_batch *b, PGconn *prov, int fetch_size,
                   struct sky_error *err)
{
	if (sky_batch_open_send(b, prov, fetch_size, err) < 0)
		return -1;
	return sky_batch_fetch_recv(out, b, prov, err);
}

int sky_batch_open_send(struct sky_batch *b, PGconn *prov, int fetch_size, struct sky_error *err)
{
	int ret = -1;
	/* begin, declare and the first fetch in one round trip; the SQL is PgQ's own */
	char *sql = sky_asprintf(
	    "begin; declare sky_batch no scroll cursor for %s; fetch %d from sky_batch",
	    b->event_sql, fetch_size);

	if (!PQsendQuery(prov, sql)) {
		sky_pg_error(err, prov, NULL);
		sky_error_prefix(err, "could not fetch events");
		goto out;
	}
	b->fetch_pending = true;
	b->cursor_open = true; /* sky_batch_abort looks at the session's state */
	ret = 0;
out:
	free(sql);
	return ret;
}

int sky_batch_fetch_send(struct sky_batch *b, PGconn *prov, int fetch_size, struct sky_error *err)
{
	int ret = -1;
	char sql[64];

	snprintf(sql, sizeof(sql), "fetch %d from sky_batch", fetch_size);
	if (!PQsendQuery(prov, sql)) {
		sky_pg_error(err, prov, NULL);
		sky_error_prefix(err, "could not fetch events");
		goto out;
	}
	b->fetch_pending = true;
	ret = 0;
out:
	return ret;
}

static bool result_ok(const PGresult *res)
{
	return PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
}

/*
 * Read every result of the query sent last (a FETCH, or sky_batch_open_send's begin, declare
 * and fetch); keep the first failed one, else the last rows (the fetch's).
 */
static PGresult *results_drain(PGconn *prov)
{
	PGresult *keep = NULL, *res;

	for (;;) {
		sky_pg_wait_result(prov); /* a stalled provider is given up (the stall guard) */
		if ((res = PQgetResult(prov)) == NULL)
			break;
		if (!keep || (result_ok(keep) &&
		              (!result_ok(res) || PQresultStatus(res) == PGRES_TUPLES_OK))) {
			PQclear(keep);
			keep = res;
		} else {
			PQclear(res);
		}
	}
	return keep;
}

int sky_batch_fetch_recv(PGresult **out, struct sky_batch *b, PGconn *prov, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;

	if (!b->fetch_pending) {
		sky_error_set(err, "no fetch was sent");
		goto out;
	}
	res = results_drain(prov);
	b->fetch_pending = false;
	if (fetch_check(res, prov, err) < 0)
		goto out;
	*out = res;
	res = NULL;
	ret = 0;
out:
	PQclear(res);
	return ret;
}

void sky_batch_event(struct sky_event *out, const PGresult *res, int i)
{
#define COL(c) (PQgetisnull(res, i, (c)) ? NULL : PQgetvalue(res, i, (c)))
	out->id = COL(COL_ID);
	out->time = COL(COL_TIME);
	out->txid = COL(COL_TXID);
	out->retry = COL(COL_RETRY);
	out->type = COL(COL_TYPE);
	out->data = COL(COL_DATA);
	out->extra1 = COL(COL_EX1);
	out->extra2 = COL(COL_EX2);
	out->extra3 = COL(COL_EX3);
	out->extra4 = COL(COL_EX4);
#undef COL
}

int sky_batch_finish(struct sky_batch *b, PGconn *prov, const char *cascade, const char *node,
                     const char *watermark, bool *next_found, int span_events,
                     struct sky_error *err)
{
	int ret = -1;
	const char *params[4] = {cascade, node, watermark, b->batch_id_s};
	char span[24];
	const char *p_next[3] = {cascade, node, span};
	struct sky_pg_stmt stmts[3];
	PGresult *res[3] = {NULL, NULL, NULL};
	size_t n = 0, i;

	if (b->cursor_open)
		stmts[n++] = (struct sky_pg_stmt){"commit", 0, NULL};
	/*
	 * Synchronous (the session's setting, loop_session.c): a provider that crashed after losing
	 * two finishes would offer a batch this node has moved past ("lost position"). The next
	 * batch's registration shares the transaction and its commit: a lost commit loses
	 * both, and the provider offers this batch again ("applied before").
	 */
	stmts[n++] = (struct sky_pg_stmt){
	    "select pgq_set.report_watermark($1, $2, $3), pgq.finish_batch($4)", 4, params};
	snprintf(span, sizeof(span), "%d", span_events);
	if (next_found && span_events > 0)
		stmts[n++] = (struct sky_pg_stmt){SQL_NEXT_SPAN, 3, p_next};
	else if (next_found)
		stmts[n++] = (struct sky_pg_stmt){SQL_NEXT, 2, p_next};
	if (sky_pg_pipeline(res, prov, stmts, n, err) < 0) {
		PGTransactionStatusType ts = PQtransactionStatus(prov);

		b->cursor_open = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
		sky_error_prefix(err, "could not finish batch %s", b->batch_id_s);
		goto out;
	}
	b->cursor_open = false;
	if (next_found && next_take(b, next_found, res[n - 1], err) < 0) {
		sky_error_prefix(err, "could not get the next batch");
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		PQclear(res[i]);
	return ret;
}

void sky_batch_abort(struct sky_batch *b, PGconn *prov)
{
	if (b->fetch_pending && prov && PQstatus(prov) == CONNECTION_OK)
		PQclear(results_drain(prov));
	b->fetch_pending = false;
	if (b->cursor_open && prov && PQstatus(prov) == CONNECTION_OK &&
	    PQtransactionStatus(prov) != PQTRANS_IDLE &&
	    PQtransactionStatus(prov) != PQTRANS_ACTIVE) {
		PGresult *res = PQexec(prov, "rollback");

		PQclear(res);
	}
	b->cursor_open = false;
}
