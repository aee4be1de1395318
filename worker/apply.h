/*
 * apply: one batch into the local database, set-based, in one transaction.
 *
 * Life of a batch on the local connection:
 *   sky_apply_begin         BEGIN; the tables of the batch loop and their states (and, on a
 *                           branch, the event table)
 *   sky_apply_take_backlog  catching-up tables: apply the events set aside while they were
 *                           copied that the copy does not contain, before the batch's own
 *   sky_apply_event         per event: decode, group by table, queue-copy (branch), set aside
 *                           (tables being copied); no I/O except a one-time catalog look-up
 *                           per table and session
 *   sky_apply_send          per fetched chunk: one statement script that COPYs the events into
 *                           the local queue, the set-aside events into pgq_set.copy_backlog and
 *                           each table's rows into a session temp staging table, then replaces
 *                           the touched keys in the target and runs TRUNCATEs in order; it
 *                           returns once the COPY data is sent and the rest runs on the server
 *                           while the worker fetches and decodes the next chunk (one chunk in
 *                           flight at most; the next send, flush or commit waits for it)
 *   sky_apply_flush         the same, waiting for the result
 *   sky_apply_commit        complete_batch, global watermark, catch-up hand-over, COMMIT (one
 *                           round trip)
 *   sky_apply_abort         ROLLBACK after any failure
 * Only the order of events within one table matters (the session runs with
 * session_replication_role = replica: no FK or deny triggers), so each table's rows of a
 * chunk are applied as a set: the last state of every key the chunk touched. See
 * docs/worker.md.
 */
#ifndef SKY_APPLY_H
#define SKY_APPLY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "decode.h"
#include "sky_error.h"

struct sky_apply;

struct sky_apply_stats {
	size_t events;    /* events of the batch */
	size_t applied;   /* row and truncate events applied to local tables */
	size_t skipped;   /* events of tables not replicated here, already in a table's copy,
	                     and non-row events */
	size_t set_aside; /* events of tables being copied, kept in pgq_set.copy_backlog */
	size_t backlog;   /* events set aside earlier, applied now (catching up) */
};

/* New applier (caller frees with sky_apply_free). */
struct sky_apply *sky_apply_new(void);
void sky_apply_free(struct sky_apply *a);

/* The local connection was replaced: forget everything that lived in the old session. */
void sky_apply_reset_session(struct sky_apply *a);

/*
 * Start the transaction of batch (prev, cur_tick] on local. cascade and cur_tick are
 * borrowed until sky_apply_commit or sky_apply_abort; copy_queue: this node is a branch and
 * keeps a copy of the queue.
 */
int sky_apply_begin(struct sky_apply *a, PGconn *local, const char *cascade, bool copy_queue,
                    const char *cur_tick, struct sky_error *err);

/* After sky_apply_begin: apply what catching-up tables set aside (fetch_size at a time). */
int sky_apply_take_backlog(struct sky_apply *a, PGconn *local, int fetch_size,
                           struct sky_error *err);

/*
 * Take one event of the batch (borrowed only during the call). Decoding problems are
 * permanent errors naming the event.
 */
int sky_apply_event(struct sky_apply *a, PGconn *local, const struct sky_event *ev,
                    struct sky_error *err);

/*
 * Send everything taken since the last send (after waiting for the chunk in flight, whose
 * failure is reported here). On success the new chunk may be in flight: local is busy until
 * the next sky_apply_send, sky_apply_flush, sky_apply_commit or sky_apply_abort, and must not
 * be used by the caller in between. Events taken meanwhile go into a second chunk.
 */
int sky_apply_send(struct sky_apply *a, PGconn *local, struct sky_error *err);

/* A chunk is in flight on the local connection. */
bool sky_apply_in_flight(const struct sky_apply *a);

/* Apply everything taken since the last flush and wait for the result. */
int sky_apply_flush(struct sky_apply *a, PGconn *local, struct sky_error *err);

/*
 * Flush, record the batch (prev, cur] as completed, apply the highest global watermark the
 * batch carried, hand caught-up tables over to 'ok' (the batch's cur_tick_xmin, may be NULL),
 * and commit. The ticks are recorded by identity (id, time, event seq as the provider has
 * them; pgq_set.complete_batch refuses another tick with prev's number). When watermark_out is
 * not NULL it receives the node's pgq_set.local_watermark after the commit (caller frees with
 * free(); NULL if none).
 */
int sky_apply_commit(struct sky_apply *a, PGconn *local, const struct sky_batch *batch,
                     char **watermark_out, struct sky_error *err);

/* Roll back the batch's transaction if one is open (best effort) and drop pending work. */
void sky_apply_abort(struct sky_apply *a, PGconn *local);

/* Counters of the current (or last) batch. */
struct sky_apply_stats sky_apply_get_stats(const struct sky_apply *a);

#endif
