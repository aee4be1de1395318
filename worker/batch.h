/*
 * batch: the provider side of a batch. PgQ consumer calls on the provider connection.
 *
 *   sky_batch_next    pgq.next_batch_info + pgq.batch_event_sql in one round trip; PgQ
 *                     returns the same batch until it is finished (DESIGN invariant 4)
 *   sky_batch_open    BEGIN; DECLARE a no-scroll cursor over the batch's events; first FETCH
 *   sky_batch_fetch_send / _recv
 *                     next FETCH, sent before the chunk in hand is applied: memory stays
 *                     flat whatever the batch size
 *   sky_batch_finish  end the cursor's transaction, report this node's watermark and
 *                     pgq.finish_batch, and (optionally) ask for the next batch, in one round
 *                     trip and one commit
 */
#ifndef SKY_BATCH_H
#define SKY_BATCH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "decode.h"
#include "sky_error.h"

struct sky_batch {
	long long batch_id;
	long long prev_tick;
	long long cur_tick;
	/* text forms, for parameters and messages */
	char batch_id_s[24];
	char prev_tick_s[24];
	char cur_tick_s[24];
	char *cur_tick_time;      /* as the provider prints it */
	char *cur_tick_event_seq; /* as the provider prints it */
	char *prev_tick_time;
	char *prev_tick_event_seq;
	char *cur_tick_xmin;   /* xmin of tick cur's snapshot (hand-over of root copies) */
	double cur_tick_epoch; /* tick cur's time as Unix time (metrics: lag) */
	long long head_tick;   /* the provider's newest tick when the batch was taken; -1 */
	char *event_sql;       /* pgq.batch_event_sql: the SELECT of the batch's events */
	bool cursor_open;      /* the cursor's transaction is open on the provider */
	bool fetch_pending;    /* a FETCH was sent (sky_batch_fetch_send), not read yet */
};

void sky_batch_init(struct sky_batch *b);
/* Free what b holds; b can be reused after sky_batch_init. */
void sky_batch_release(struct sky_batch *b);

/*
 * Ask the provider for the next batch of consumer `consumer` on queue `queue`. *found is
 * false when none is ready. On success with *found, b describes the batch (b is released
 * and refilled). span_events > 0: a batch may span several ticks, up to about that many
 * events (pgq.next_batch_custom; only for a node without a queue copy, a leaf); 0: the
 * next tick.
 */
int sky_batch_next(struct sky_batch *b, bool *found, PGconn *prov, const char *queue,
                   const char *consumer, int span_events, struct sky_error *err);

/* Open the event cursor and fetch the first fetch_size events (caller PQclears *out). */
int sky_batch_open(PGresult **out, struct sky_batch *b, PGconn *prov, int fetch_size,
                   struct sky_error *err);

/*
 * The next fetch_size events, in two halves: send the FETCH and return at once, so that the
 * provider runs it while the worker applies; then read its result (caller PQclears *out).
 * Fewer than asked: the end. Nothing else may be sent on prov in between (sky_batch_abort
 * reads and drops a pending result).
 */
int sky_batch_fetch_send(struct sky_batch *b, PGconn *prov, int fetch_size, struct sky_error *err);
/* sky_batch_open's query, sent only: its result is read with sky_batch_fetch_recv. */
int sky_batch_open_send(struct sky_batch *b, PGconn *prov, int fetch_size, struct sky_error *err);
int sky_batch_fetch_recv(PGresult **out, struct sky_batch *b, PGconn *prov, struct sky_error *err);

/*
 * Event i of a fetched result, borrowed from res. The columns are in the order of
 * pgq.batch_event_sql: ev_id, ev_time, ev_txid, ev_retry, ev_type, ev_data, ev_extra1..4.
 */
void sky_batch_event(struct sky_event *out, const PGresult *res, int i);

/*
 * Close the cursor's transaction (if open), then in one statement report watermark
 * (may be NULL) for subscriber `node` and finish the batch, in one round trip. The finish
 * commits synchronously (the session's setting). With next_found, the same transaction also
 * asks for the next batch (sky_batch_next's question, with span_events: consumer `node` on queue
 * `cascade`): on success b then describes it when *next_found (b is released and refilled).
 */
int sky_batch_finish(struct sky_batch *b, PGconn *prov, const char *cascade, const char *node,
                     const char *watermark, bool *next_found, int span_events,
                     struct sky_error *err);
/* Roll back the cursor's transaction if it is open (best effort, after a failure). */
void sky_batch_abort(struct sky_batch *b, PGconn *prov);

#endif
