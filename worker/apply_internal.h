/*
 * apply_internal: what the parts of the applier share. Private to them (everything else
 * includes apply.h).
 *
 * apply: batches into local tables through COPY into temp staging tables and two set-based
 * statements per table and chunk, all of a chunk in one round trip (pgscript).
 *
 * Vocabulary:
 *   table  a replicated table applied here (from pgq_set.get_apply_tables), kept for the
 *          life of the process; looked up by ev_extra1 in a small hash table.
 *   shape  one column list + primary key list of a table's events. Each shape owns a
 *          session temp table `_sky_sN` (ON COMMIT DELETE ROWS) and its cached statements.
 *          A table normally has one shape; a schema change on the root adds another.
 *   op     a step of the current chunk, in event order: the rows of one table in one shape,
 *          or a TRUNCATE of one or more tables. A table's events open a new op when their
 *          shape changes or after a TRUNCATE, so each table's order is kept.
 *
 * Modules:
 *   apply_tables.c  tables (the hash of replicated tables, their catalog metadata) and
 *                   shapes (staging tables and statement text: shape_build_sql, apply_shape_get);
 *   apply_ops.c     ops and chunks: the rows of a chunk planned per table and shape, with
 *                   only the last state of each key kept (hot keys), TRUNCATEs in order;
 *   apply_script.c  the chunk's statement script: staging fills, side copies (queue copy,
 *                   backlog), held rows, TRUNCATE statements, the error context of a failed
 *                   statement;
 *   apply.c         the API of apply.h: begin, event, backlog, send, flush, commit, abort.
 */
#ifndef SKY_APPLY_INTERNAL_H
#define SKY_APPLY_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "apply.h"
#include "decode.h"
#include "pgscript.h"
#include "queuecopy.h"
#include "sky_error.h"
#include "sky_mem.h"

struct apply_shape {
	struct apply_shape *next;
	unsigned group; /* script group that COPYs into the staging table (apply_chunk_build) */
	size_t ncols;
	char **enc_names; /* as they appear in ev_data (still urlencoded) */
	size_t *enc_lens;
	char **names; /* decoded */
	char *pk_raw; /* the key list of ev_type */
	size_t pk_len;
	size_t *pk_idx; /* key columns, in key order */
	size_t npk;
	char *stage; /* pg_temp."_sky_sN" */
	char *create_sql;
	char *truncate_sql;
	char *copy_sql;
	/* upsert with the chunk's deletes, upsert without (prepared once per session); or
	 * delete, insert (sent as text: planned at every execution, see shape_build_sql) */
	char *apply_src[2];
	bool upsert;
	unsigned stage_no;
	unsigned prep_gen; /* the prepared upsert is sky_a<stage_no>_<prep_gen> */
	bool prepared;     /* the statements are prepared in this session */
	bool prepared_now; /* ... by the script being run (not known yet) */
	bool created;      /* the staging table exists in this session */
	bool created_now;  /* ... created by the open transaction (gone after a rollback) */
	bool used_now;     /* holds rows of the open transaction: truncate before reuse */
	size_t held_rows;  /* rows staged by this batch and not applied yet (held rows) */
	bool held_del;     /* ... some of them deletes */
	long long held_first, held_last; /* ... of the events with these ids */
	struct apply_table *table;       /* the table of the shape */
};

/* get_apply_tables: apply, set the events aside while the copy runs, or apply those the
 * copy does not contain */
enum table_state { TABLE_OK, TABLE_COPYING, TABLE_CATCHING_UP };

struct apply_table {
	char *name;  /* schema.relname, unquoted: the key, as in ev_extra1 */
	char *qname; /* "schema"."relname" */
	bool active; /* listed by get_apply_tables for the current batch */
	enum table_state state;
	struct sky_snapshot copy_snap; /* catching-up: the copy's root snapshot ... */
	bool has_copy_snap;
	long long copy_tick; /* ... or the branch tick it was copied at */
	bool has_copy_tick;
	/* from the local catalog, once per table and session */
	bool meta_loaded;
	char **cols;        /* every column */
	bool *generated;    /* never inserted into or updated */
	bool *identity_all; /* GENERATED ALWAYS AS IDENTITY: never updated */
	bool *in_pk;        /* part of the local primary key */
	size_t ncols;
	bool other_unique; /* a unique or exclusion constraint besides the primary key */
	struct apply_shape *shapes;
	long open_op; /* op collecting this table's rows in the chunk, -1 if none */
	long last_op; /* last op of the chunk touching this table, -1 if none */
};

enum op_kind { OP_ROWS, OP_TRUNCATE };

/*
 * Rows held before their statements run (apply_chunk_build): bounds the staging tables on the
 * server (~50 MB for rows of 200 bytes) and the sort of one statement; not the worker's memory.
 */
#define HOLD_MAX_ROWS 250000

/* One COPY line of an OP_ROWS op: the state of one key after one event. */
struct op_row {
	size_t off, len;         /* the line in op->buf */
	size_t key_off, key_len; /* the key (encoded values) in op->keys */
	long long ev_id;
	bool dead; /* a later event of the op replaced this key */
};

struct apply_op {
	enum op_kind kind;
	struct apply_table *table; /* OP_ROWS */
	struct apply_shape *shape; /* OP_ROWS */
	struct sky_buf buf;        /* OP_ROWS: COPY data; OP_TRUNCATE: the statement */
	/* OP_ROWS: lines and a hash of key -> latest line, so that only the last state of
	 * each key is sent (hot rows: counters, balances) */
	struct op_row *rows;
	size_t nrows, cap_rows, ndead;
	size_t ndel; /* delete events among rows */
	struct sky_buf keys;
	size_t *slots; /* line index + 1; 0 is empty */
	size_t nslots;
	struct sky_buf live;         /* buf without the dead lines, built at flush */
	struct apply_table **tables; /* OP_TRUNCATE: tables truncated */
	size_t ntables, cap_tables;
};

/*
 * One chunk of the batch: its ops, its events for the local queue and the backlog, the
 * script that applies them and, once sent, the state of that script on the connection.
 */
struct apply_chunk {
	struct apply_op *ops;
	size_t nops, cap_ops;
	long last_trunc_op;
	struct sky_qcopy qc;
	struct sky_buf backlog; /* COPY rows for pgq_set.copy_backlog */
	size_t nbacklog;
	struct sky_buf script;
	struct sky_buf **bufs;
	/* op of each statement of script: index, or -1 queue, -3 backlog, HELD_STMT(k) the
	 * held rows applied[k] */
	long *stmt_op;
	struct held_apply {
		const struct apply_table *table;
		long long first, last;
	} * applied;
	size_t napplied, cap_applied;
	size_t nbufs, cap_bufs, cap_stmts, nstmts;
	struct sky_pg_script run; /* while in flight */
};

struct sky_apply {
	/* tables: open addressing, power-of-two slots */
	struct apply_table **slots;
	size_t nslots, ntables;
	unsigned stage_counter;

	/* the open batch */
	bool in_xact;
	bool copy_queue;
	const char *cascade;
	const char *cur_tick; /* the batch's tick: batch_tick of events set aside */
	long long cur_tick_ll;
	bool catching_up; /* some table is catching up: hand over after the batch */
	struct sky_apply_stats stats;
	long long seq;       /* event order within the batch (_sky_seq) */
	long long watermark; /* highest pgq_set.watermark of the batch, -1 if none */

	/*
	 * Two chunks: ch collects the events being decoded while the other one may be in flight
	 * (its script sent, the server still running it). See sky_apply_send.
	 */
	struct apply_chunk chunks[2];
	struct apply_chunk *ch;     /* collecting */
	struct apply_chunk *flight; /* sent, results not read yet; NULL if none */
	unsigned group_counter;     /* script groups (apply_chunk_build) */

	/*
	 * Held rows (apply_chunk_build): shapes whose staging tables hold rows of earlier chunks of
	 * this batch that are applied later, in one statement with the rows that follow them.
	 */
	struct apply_shape **held;
	size_t nheld, cap_held;
	size_t held_rows;
	bool final; /* the flush before the commit: nothing may stay held */

	/* scratch, reused */
	struct sky_row row;
	struct sky_buf tmp;
};

/* ---------------------------------------------------------------- apply_tables.c */

/* The table named name (schema.relname, unquoted), or NULL; borrowed, owned by a. */
struct apply_table *apply_table_lookup(const struct sky_apply *a, const char *name);

/* A new table, added to a's hash (owned by a: freed with apply_table_free by sky_apply_free). */
struct apply_table *apply_table_add(struct sky_apply *a, const char *name, const char *schema,
                                    const char *rel);

/* Forget t's catalog metadata (read again when next needed: a new session). */
void apply_table_free_meta(struct apply_table *t);

/* Free t with its shapes. */
void apply_table_free(struct apply_table *t);

/*
 * The shape of this event's row, made (with its statements) the first time it is seen; *out
 * is owned by t. May wait for the chunk in flight (apply_wait) to read the catalog.
 */
int apply_shape_get(struct apply_shape **out, struct sky_apply *a, PGconn *local,
                    struct apply_table *t, const struct sky_row *row, const struct sky_ev_type *et,
                    struct sky_error *err);

/* ---------------------------------------------------------------- apply_ops.c */

/* The COPY data to send for op: buf, or its live lines when some died (borrowed from op). */
struct sky_buf *apply_op_copy_data(struct apply_op *op);

/* The row behind line `line` (1-based) of op's COPY data, or NULL (borrowed from op). */
const struct op_row *apply_op_line_row(const struct apply_op *op, long line);

/* Chunks: init, empty for reuse (memory kept), release; detach unlinks the tables from its ops. */
void apply_chunk_init(struct apply_chunk *ch);
void apply_chunk_clear(struct apply_chunk *ch);
void apply_chunk_detach(struct apply_chunk *ch);
void apply_chunk_release(struct apply_chunk *ch);

/* Forget the collecting chunk's ops, and a chunk in flight (connection idle or gone). */
void apply_ops_reset(struct sky_apply *a);

/* Plan a TRUNCATE of t, or a row event of t, into the collecting chunk. */
void apply_plan_truncate(struct sky_apply *a, struct apply_table *t);
int apply_plan_row(struct sky_apply *a, PGconn *local, struct apply_table *t,
                   const struct sky_ev_type *et, const struct sky_event *ev, long long ev_id,
                   struct sky_error *err);

/* ---------------------------------------------------------------- apply_script.c */

/* The script of the collecting chunk (a->ch->script, bufs, stmt_op). */
int apply_chunk_build(struct sky_apply *a, PGconn *local, struct sky_error *err);

/* Say which table and event a failed script statement of ch was about (prefixes err). */
void apply_flush_error_context(const struct apply_chunk *ch, const struct sky_pg_script_pos *pos,
                               struct sky_error *err);

/* ---------------------------------------------------------------- apply.c */

/*
 * Wait for the chunk in flight, if any, and read its results. Afterwards the connection is
 * idle (or broken) and nothing is in flight, whatever the outcome.
 */
int apply_wait(struct sky_apply *a, struct sky_error *err);

#endif
