/*
 * loop_internal: what the parts of the worker's loop share (struct wk, its states, the
 * failure path). Private to them: everything else includes worker.h.
 *
 * Modules:
 *   loop.c          the driver of the state machine (sky_worker_run), and what every state
 *                   uses: log context, dropping a connection, the one failure path (wk_fail)
 *                   and its backoff, error recording;
 *   loop_session.c  the two sessions: the local one (CONNECT), the provider's (PROVIDER),
 *                   its encoding matched on the local session, and the stall guard's question;
 *   loop_state.c    between batches: the state read (READ_STATE: heartbeat, witness report,
 *                   advisory lock, --metrics tables, copies to claim), PAUSE, ROOT_TICK;
 *   loop_batch.c    a batch: NEXT_BATCH (the poll pause, leaf batches spanning ticks, the
 *                   witness's contact), APPLY (the pipeline), LOCAL_TICK, FINISH.
 */
#ifndef SKY_LOOP_INTERNAL_H
#define SKY_LOOP_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "apply.h"
#include "batch.h"
#include "copy.h"
#include "sky_error.h"
#include "worker.h"

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

/* ---------------------------------------------------------------- loop.c */

/* Both non-NULL and equal. */
bool wk_streq(const char *a, const char *b);

/* Replace *dst with a copy of src (NULL: none); the old value is freed. */
void wk_set_str(char **dst, const char *src);

/* This node is a branch (keeps a copy of the queue). */
bool wk_is_branch(const struct wk *w);

/* Log prefix: node "db2" cascade "app" (and the batch when one is being worked on), in buf. */
const char *wk_ctx(const struct wk *w, char *buf, size_t size);

/* c is connected, idle or in a transaction, and not in pipeline mode. */
bool wk_conn_usable(PGconn *c);

/* Close the local session (its lock, encoding and the applier's session state go with it). */
void wk_drop_local(struct wk *w);

/* Close the provider session (its cursor, prefetched batch and stall guard go with it). */
void wk_drop_provider(struct wk *w);

/* Abort whatever batch is under way on both connections. */
void wk_abort_batch(struct wk *w);

/* The provider went away while the local session is fine: retry it later (IDLE meanwhile). */
enum wk_state wk_provider_down(struct wk *w, const struct sky_error *err);

/* The one failure path (see loop.c): the next state (BACKOFF, IDLE or EXIT). */
enum wk_state wk_fail(struct wk *w, struct sky_error *err, bool record);

/* A batch (or a root round) went through: reset the backoff and clear a recorded error. */
void wk_succeeded(struct wk *w);

/* The states: each runs one step and returns the next state. */
/* loop_session.c */
enum wk_state wk_st_connect(struct wk *w);
enum wk_state wk_st_provider(struct wk *w);
/* loop_state.c */
enum wk_state wk_st_read_state(struct wk *w);
enum wk_state wk_st_pause(struct wk *w);
enum wk_state wk_st_root_tick(struct wk *w);
/* loop_batch.c */
enum wk_state wk_st_next_batch(struct wk *w);
enum wk_state wk_st_apply(struct wk *w);
enum wk_state wk_st_local_tick(struct wk *w);
enum wk_state wk_st_finish(struct wk *w);

#endif
