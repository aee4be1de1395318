/*
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
 */
#include "apply.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgscript.h"
#include "queuecopy.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"

struct apply_shape {
	struct apply_shape *next;
	unsigned group; /* script group that COPYs into the staging table (chunk_build) */
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
 * Rows held before their statements run (chunk_build): bounds the staging tables on the
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
	unsigned group_counter;     /* script groups (chunk_build) */

	/*
	 * Held rows (chunk_build): shapes whose staging tables hold rows of earlier chunks of
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

static int apply_wait(struct sky_apply *a, struct sky_error *err);

/* ---------------------------------------------------------------- tables */

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct apply_table *table_lookup(const struct sky_apply *a, const char *name)
{
	struct apply_table *found = NULL;
	size_t i;

	if (name && a->nslots > 0) {
		for (i = hash_str(name) & (a->nslots - 1); a->slots[i] && !found;
		     i = (i + 1) & (a->nslots - 1)) {
			if (strcmp(a->slots[i]->name, name) == 0)
				found = a->slots[i];
		}
	}
	return found;
}

static void table_slot_put(struct apply_table **slots, size_t nslots, struct apply_table *t)
{
	size_t i = hash_str(t->name) & (nslots - 1);

	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = t;
}

static struct apply_table *table_add(struct sky_apply *a, const char *name, const char *schema,
                                     const char *rel)
{
	struct apply_table *t = sky_calloc(1, sizeof(*t));
	char *qs = sky_pg_quote_ident(schema), *qr = sky_pg_quote_ident(rel);
	size_t i;

	t->name = sky_strdup(name);
	t->qname = sky_asprintf("%s.%s", qs, qr);
	t->open_op = t->last_op = -1;
	free(qs);
	free(qr);
	if ((a->ntables + 1) * 2 > a->nslots) {
		size_t n = a->nslots ? a->nslots * 2 : 64;
		struct apply_table **slots = sky_calloc(n, sizeof(*slots));

		for (i = 0; i < a->nslots; i++) {
			if (a->slots[i])
				table_slot_put(slots, n, a->slots[i]);
		}
		free(a->slots);
		a->slots = slots;
		a->nslots = n;
	}
	table_slot_put(a->slots, a->nslots, t);
	a->ntables++;
	return t;
}

static void shape_free(struct apply_shape *s)
{
	size_t i;

	for (i = 0; i < s->ncols; i++) {
		free(s->enc_names[i]);
		free(s->names[i]);
	}
	free(s->enc_names);
	free(s->enc_lens);
	free(s->names);
	free(s->pk_raw);
	free(s->pk_idx);
	free(s->stage);
	free(s->create_sql);
	free(s->truncate_sql);
	free(s->copy_sql);
	free(s->apply_src[0]);
	free(s->apply_src[1]);
	free(s);
}

static void table_free_meta(struct apply_table *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->generated);
	free(t->identity_all);
	free(t->in_pk);
	t->cols = NULL;
	t->generated = t->identity_all = t->in_pk = NULL;
	t->ncols = 0;
	t->other_unique = false;
	t->meta_loaded = false;
}

static void table_free(struct apply_table *t)
{
	struct apply_shape *s, *next;

	for (s = t->shapes; s; s = next) {
		next = s->next;
		shape_free(s);
	}
	table_free_meta(t);
	sky_snapshot_release(&t->copy_snap);
	free(t->name);
	free(t->qname);
	free(t);
}

/* Columns and keys of t from the local catalog, once per table and session. */
static int table_load_meta(struct apply_table *t, PGconn *local, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *params[1] = {t->qname};
	int i;

	if (t->meta_loaded) {
		ret = 0;
		goto out;
	}
	if (sky_pg_exec(
	        &res, local, err,
	        "select a.attname, a.attgenerated <> '', a.attidentity = 'a',"
	        " coalesce(a.attnum = any (p.indkey), false),"
	        " exists (select 1 from pg_catalog.pg_index u where u.indrelid = a.attrelid"
	        "         and (u.indisexclusion or (u.indisunique and not u.indisprimary)))"
	        " from pg_catalog.pg_attribute a"
	        " left join pg_catalog.pg_index p on p.indrelid = a.attrelid and p.indisprimary"
	        " where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped"
	        " order by a.attnum",
	        1, params) < 0) {
		sky_error_prefix(err, "could not read columns of table \"%s\"", t->name);
		goto out;
	}
	table_free_meta(t);
	t->ncols = (size_t)PQntuples(res);
	t->cols = sky_calloc(t->ncols + 1, sizeof(char *));
	t->generated = sky_calloc(t->ncols + 1, sizeof(bool));
	t->identity_all = sky_calloc(t->ncols + 1, sizeof(bool));
	t->in_pk = sky_calloc(t->ncols + 1, sizeof(bool));
	for (i = 0; i < PQntuples(res); i++) {
		t->cols[i] = sky_strdup(PQgetvalue(res, i, 0));
		t->generated[i] = PQgetvalue(res, i, 1)[0] == 't';
		t->identity_all[i] = PQgetvalue(res, i, 2)[0] == 't';
		t->in_pk[i] = PQgetvalue(res, i, 3)[0] == 't';
		t->other_unique = PQgetvalue(res, i, 4)[0] == 't';
	}
	t->meta_loaded = true;
	ret = 0;
out:
	PQclear(res);
	return ret;
}

/* Index of column name in t's catalog columns, or -1 when the table has no such column. */
static long table_col(const struct apply_table *t, const char *name)
{
	long found = -1;
	size_t i;

	for (i = 0; i < t->ncols && found < 0; i++) {
		if (strcmp(t->cols[i], name) == 0)
			found = (long)i;
	}
	return found;
}

/* ---------------------------------------------------------------- shapes */

static bool shape_matches(const struct apply_shape *s, const struct sky_row *row,
                          const struct sky_ev_type *et)
{
	bool same = s->ncols == row->n && s->pk_len == et->pk_len &&
	            memcmp(s->pk_raw, et->pk, et->pk_len) == 0;
	size_t i;

	for (i = 0; same && i < row->n; i++) {
		same = s->enc_lens[i] == row->fields[i].name_len &&
		       memcmp(s->enc_names[i], row->fields[i].name, row->fields[i].name_len) == 0;
	}
	return same;
}

/* Append the quoted names of s's columns selected by idx (all when idx is NULL). */
static void add_quoted_list(struct sky_buf *b, char *const *names, const size_t *idx, size_t n,
                            const char *prefix)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *q = sky_pg_quote_ident(names[idx ? idx[i] : i]);

		sky_buf_addf(b, "%s%s%s", i ? ", " : "", prefix, q);
		free(q);
	}
}

/*
 * The upsert path needs ON CONFLICT on exactly the event's key, and no other unique or
 * exclusion constraint (rows of one statement could collide with each other on it while
 * they move, e.g. two rows swapping a unique value).
 */
static bool shape_can_upsert(const struct apply_shape *s, const struct apply_table *t,
                             const size_t *pk_idx, size_t npk)
{
	size_t i, local_pk = 0;
	bool ok = !t->other_unique;

	for (i = 0; i < t->ncols; i++)
		local_pk += t->in_pk[i];
	ok = ok && local_pk == npk;
	for (i = 0; ok && i < npk; i++) {
		long c = table_col(t, s->names[pk_idx[i]]);

		ok = c >= 0 && t->in_pk[c];
	}
	return ok;
}

/*
 * Statements of a shape. Both paths apply the last state of each key the chunk touched:
 *   upsert:  with f as (last event per key),
 *                 d as (delete the keys whose last event is D)
 *            insert the others ... on conflict (key) do update
 *   general: delete every touched key; insert the others
 * Both are order-correct for one table; the general one never lets two rows of the chunk
 * collide on a secondary unique constraint.
 */
static void shape_build_sql(struct apply_shape *s, const struct apply_table *t,
                            const size_t *pk_idx, size_t npk, unsigned stage_no)
{
	struct sky_buf b, cols, ins, pk, set, join;
	size_t i, nins = 0, nset = 0;
	bool *is_pk = sky_calloc(s->ncols, sizeof(bool));

	sky_buf_init(&b);
	sky_buf_init(&cols);
	sky_buf_init(&ins);
	sky_buf_init(&pk);
	sky_buf_init(&set);
	sky_buf_init(&join);
	for (i = 0; i < npk; i++)
		is_pk[pk_idx[i]] = true;
	add_quoted_list(&cols, s->names, NULL, s->ncols, "");
	add_quoted_list(&pk, s->names, pk_idx, npk, "");
	for (i = 0; i < npk; i++) {
		char *q = sky_pg_quote_ident(s->names[pk_idx[i]]);

		sky_buf_addf(&join, "%st.%s = f.%s", i ? " and " : "", q, q);
		free(q);
	}
	for (i = 0; i < s->ncols; i++) {
		long c = table_col(t, s->names[i]);
		char *q;

		if (c >= 0 && t->generated[c])
			continue;
		q = sky_pg_quote_ident(s->names[i]);
		sky_buf_addf(&ins, "%s%s", nins++ ? ", " : "", q);
		if (!is_pk[i] && !(c >= 0 && t->identity_all[c]))
			sky_buf_addf(&set, "%s%s = excluded.%s", nset++ ? ", " : "", q, q);
		free(q);
	}

	s->stage = sky_asprintf("pg_temp.\"_sky_s%u\"", stage_no);
	s->create_sql =
	    sky_asprintf("create temp table \"_sky_s%u\" on commit delete rows as select %s,"
	                 " 0::bigint as _sky_seq, ''::\"char\" as _sky_op from %s with no data",
	                 stage_no, cols.data, t->qname);
	s->truncate_sql = sky_asprintf("truncate %s", s->stage);
	s->copy_sql =
	    sky_asprintf("copy %s (%s, _sky_seq, _sky_op) from stdin", s->stage, cols.data);

	s->stage_no = stage_no;
	if (shape_can_upsert(s, t, pk_idx, npk)) {
		sky_buf_addf(
		    &b,
		    "with f as (select distinct on (%s) * from %s order by %s, _sky_seq desc),"
		    " d as (delete from %s t using f where f._sky_op = 'D' and %s)"
		    " insert into %s (%s) overriding system value select %s from f"
		    " where f._sky_op <> 'D' on conflict (%s) do ",
		    pk.data, s->stage, pk.data, t->qname, join.data, t->qname, ins.data, ins.data,
		    pk.data);
		if (nset)
			sky_buf_addf(&b, "update set %s", set.data);
		else
			sky_buf_adds(&b, "nothing");
		s->apply_src[0] = sky_buf_detach(&b);
		sky_buf_init(&b);
		/*
		 * Chunks without a delete (most) need no join at all: the conflict check is the
		 * only index work. That one statement is prepared: with no join, its generic plan
		 * cannot go wrong. The statements with a join (the delete CTE above, the general
		 * delete + insert) are sent as text and planned at every execution: a generic
		 * plan made during the first chunks of a batch keeps the estimates of a table
		 * that was small then, and a nested loop with that table outside turned quadratic
		 * once a giant batch had filled it (7 s per 10,000-row chunk, test 30).
		 */
		sky_buf_addf(&b,
		             "insert into %s (%s) overriding system value select %s from"
		             " (select distinct on (%s) * from %s order by %s, _sky_seq desc) f"
		             " on conflict (%s) do ",
		             t->qname, ins.data, ins.data, pk.data, s->stage, pk.data, pk.data);
		if (nset)
			sky_buf_addf(&b, "update set %s", set.data);
		else
			sky_buf_adds(&b, "nothing");
		s->apply_src[1] = sky_buf_detach(&b);
		s->upsert = true;
	} else {
		s->apply_src[0] =
		    sky_asprintf("delete from %s t using (select distinct %s from %s) f where %s",
		                 t->qname, pk.data, s->stage, join.data);
		s->apply_src[1] =
		    sky_asprintf("insert into %s (%s) overriding system value select %s from"
		                 " (select distinct on (%s) * from %s order by %s, _sky_seq desc) f"
		                 " where f._sky_op <> 'D'",
		                 t->qname, ins.data, ins.data, pk.data, s->stage, pk.data);
		sky_buf_release(&b);
	}
	sky_buf_release(&cols);
	sky_buf_release(&ins);
	sky_buf_release(&pk);
	sky_buf_release(&set);
	sky_buf_release(&join);
	free(is_pk);
}

/* The shape of this event's row, made (with its statements) the first time it is seen. */
static int shape_get(struct apply_shape **out, struct sky_apply *a, PGconn *local,
                     struct apply_table *t, const struct sky_row *row, const struct sky_ev_type *et,
                     struct sky_error *err)
{
	int ret = -1;
	struct apply_shape *s;
	size_t *pk_idx = NULL, npk = 0, i;

	if (t->open_op >= 0 && shape_matches(a->ch->ops[t->open_op].shape, row, et)) {
		*out = a->ch->ops[t->open_op].shape;
		ret = 0;
		goto out;
	}
	for (s = t->shapes; s; s = s->next) {
		if (shape_matches(s, row, et)) {
			*out = s;
			ret = 0;
			goto out;
		}
	}
	/* the catalog query needs the connection: wait for the chunk in flight */
	if (!t->meta_loaded && apply_wait(a, err) < 0)
		goto out;
	if (table_load_meta(t, local, err) < 0)
		goto out;
	s = sky_calloc(1, sizeof(*s));
	s->ncols = row->n;
	s->enc_names = sky_calloc(row->n, sizeof(char *));
	s->enc_lens = sky_calloc(row->n, sizeof(size_t));
	s->names = sky_calloc(row->n, sizeof(char *));
	s->pk_raw = sky_strndup(et->pk, et->pk_len);
	s->pk_len = et->pk_len;
	for (i = 0; i < row->n; i++) {
		s->enc_names[i] = sky_strndup(row->fields[i].name, row->fields[i].name_len);
		s->enc_lens[i] = row->fields[i].name_len;
		sky_buf_reset(&a->tmp);
		if (sky_urldecode_append(&a->tmp, row->fields[i].name, row->fields[i].name_len,
		                         err) < 0) {
			sky_error_prefix(err, "column name \"%s\"", s->enc_names[i]);
			s->names[i] = sky_strdup("");
			shape_free(s);
			goto out;
		}
		s->names[i] = sky_strdup(a->tmp.data);
	}
	pk_idx = sky_calloc(row->n, sizeof(size_t));
	if (sky_pk_resolve(pk_idx, &npk, et->pk, et->pk_len, (const char *const *)s->names,
	                   s->ncols, err) < 0) {
		shape_free(s);
		goto out;
	}
	s->table = t;
	shape_build_sql(s, t, pk_idx, npk, ++a->stage_counter);
	s->pk_idx = pk_idx;
	s->npk = npk;
	pk_idx = NULL;
	s->next = t->shapes;
	t->shapes = s;
	*out = s;
	ret = 0;
out:
	free(pk_idx);
	return ret;
}

/* ---------------------------------------------------------------- ops */

/* Empty an op for reuse (memory is kept). */
static void op_clear(struct apply_op *op)
{
	if (op->nrows && op->nslots)
		memset(op->slots, 0, op->nslots * sizeof(*op->slots));
	sky_buf_reset(&op->buf);
	sky_buf_reset(&op->keys);
	sky_buf_reset(&op->live);
	op->nrows = 0;
	op->ndead = 0;
	op->ndel = 0;
	op->ntables = 0;
}

static void op_release(struct apply_op *op)
{
	sky_buf_release(&op->buf);
	sky_buf_release(&op->keys);
	sky_buf_release(&op->live);
	free(op->rows);
	free(op->slots);
	free(op->tables);
}

static size_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* Slot of key in op's hash: where it is, or the empty slot where it would go. */
static size_t op_slot(const struct apply_op *op, const char *key, size_t key_len, size_t hash)
{
	size_t mask = op->nslots - 1, i = hash & mask;

	while (op->slots[i]) {
		const struct op_row *r = &op->rows[op->slots[i] - 1];

		if (r->key_len == key_len && memcmp(op->keys.data + r->key_off, key, key_len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void op_rehash(struct apply_op *op)
{
	size_t n = op->nslots ? op->nslots * 2 : 1024, i;

	free(op->slots);
	op->slots = sky_calloc(n, sizeof(*op->slots));
	op->nslots = n;
	for (i = 0; i < op->nrows; i++) {
		const struct op_row *r = &op->rows[i];
		size_t slot;

		if (r->dead)
			continue;
		slot = op_slot(op, op->keys.data + r->key_off, r->key_len,
		               hash_bytes(op->keys.data + r->key_off, r->key_len));
		op->slots[slot] = i + 1;
	}
}

/*
 * Record the COPY line just appended to op->buf at [off, buf.len) for key (borrowed). A
 * previous line of the same key is marked dead: only the last state of a key matters, and
 * the SQL keeps the last one anyway (distinct on ... _sky_seq desc); this only spares the
 * server the rows. Keys are compared as encoded text, so two spellings of one value (1.0,
 * 1.00) stay two lines and the server's typed comparison decides.
 */
static void op_add_row(struct apply_op *op, size_t off, const char *key, size_t key_len,
                       long long ev_id)
{
	struct op_row *r;
	size_t slot;

	if ((op->nrows + 1) * 2 > op->nslots)
		op_rehash(op);
	slot = op_slot(op, key, key_len, hash_bytes(key, key_len));
	if (op->slots[slot]) {
		op->rows[op->slots[slot] - 1].dead = true;
		op->ndead++;
	}
	if (op->nrows == op->cap_rows) {
		op->cap_rows = op->cap_rows ? op->cap_rows * 2 : 256;
		op->rows = sky_realloc(op->rows, op->cap_rows * sizeof(*op->rows));
	}
	r = &op->rows[op->nrows];
	r->off = off;
	r->len = op->buf.len - off;
	r->key_off = op->keys.len;
	r->key_len = key_len;
	r->ev_id = ev_id;
	r->dead = false;
	sky_buf_add(&op->keys, key, key_len);
	op->slots[slot] = ++op->nrows;
}

/* The COPY data to send for op: buf, or its live lines when some died. */
static struct sky_buf *op_copy_data(struct apply_op *op)
{
	struct sky_buf *data = &op->buf;
	size_t i;

	if (op->ndead > 0) {
		sky_buf_reset(&op->live);
		for (i = 0; i < op->nrows; i++) {
			if (!op->rows[i].dead)
				sky_buf_add(&op->live, op->buf.data + op->rows[i].off,
				            op->rows[i].len);
		}
		data = &op->live;
	}
	return data;
}

/* The row behind line `line` (1-based) of op's COPY data, or NULL. */
static const struct op_row *op_line_row(const struct apply_op *op, long line)
{
	const struct op_row *found = NULL;
	size_t i;
	long n = 0;

	for (i = 0; i < op->nrows && !found; i++) {
		if (!op->rows[i].dead && ++n == line)
			found = &op->rows[i];
	}
	return found;
}

static long op_new(struct sky_apply *a, enum op_kind kind)
{
	struct apply_op *op;

	if (a->ch->nops == a->ch->cap_ops) {
		size_t n = a->ch->cap_ops ? a->ch->cap_ops * 2 : 8, i;

		a->ch->ops = sky_realloc(a->ch->ops, n * sizeof(*a->ch->ops));
		for (i = a->ch->cap_ops; i < n; i++) {
			memset(&a->ch->ops[i], 0, sizeof(a->ch->ops[i]));
			sky_buf_init(&a->ch->ops[i].buf);
			sky_buf_init(&a->ch->ops[i].keys);
			sky_buf_init(&a->ch->ops[i].live);
		}
		a->ch->cap_ops = n;
	}
	op = &a->ch->ops[a->ch->nops];
	op->kind = kind;
	op->table = NULL;
	op->shape = NULL;
	op_clear(op);
	return (long)a->ch->nops++;
}

static void op_add_table(struct apply_op *op, struct apply_table *t)
{
	if (op->ntables == op->cap_tables) {
		op->cap_tables = op->cap_tables ? op->cap_tables * 2 : 4;
		op->tables = sky_realloc(op->tables, op->cap_tables * sizeof(*op->tables));
	}
	op->tables[op->ntables++] = t;
}

/* The tables no longer point at ch's ops (ch was sent, or is dropped). */
static void chunk_detach(struct apply_chunk *ch)
{
	size_t i, j;

	for (i = 0; i < ch->nops; i++) {
		struct apply_op *op = &ch->ops[i];

		if (op->table)
			op->table->open_op = op->table->last_op = -1;
		for (j = 0; j < op->ntables; j++)
			op->tables[j]->open_op = op->tables[j]->last_op = -1;
	}
}

/* Empty ch for reuse (memory is kept for the next chunk). */
static void chunk_clear(struct apply_chunk *ch)
{
	size_t i;

	for (i = 0; i < ch->nops; i++)
		op_clear(&ch->ops[i]);
	ch->nops = 0;
	ch->last_trunc_op = -1;
	ch->nstmts = 0;
	sky_qcopy_reset(&ch->qc);
	sky_buf_reset(&ch->backlog);
	ch->nbacklog = 0;
}

static void chunk_init(struct apply_chunk *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->last_trunc_op = -1;
	sky_qcopy_init(&ch->qc);
	sky_buf_init(&ch->backlog);
	sky_buf_init(&ch->script);
}

static void chunk_release(struct apply_chunk *ch)
{
	size_t i;

	for (i = 0; i < ch->cap_ops; i++)
		op_release(&ch->ops[i]);
	free(ch->ops);
	sky_qcopy_release(&ch->qc);
	sky_buf_release(&ch->backlog);
	sky_buf_release(&ch->script);
	free(ch->bufs);
	free(ch->stmt_op);
	free(ch->applied);
}

/*
 * Forget the collecting chunk's ops (memory is kept for the next chunk). A chunk in flight
 * is forgotten too: only for callers whose connection is idle or gone (begin, abort after
 * draining, a new session).
 */
static void ops_reset(struct sky_apply *a)
{
	chunk_detach(a->ch);
	chunk_clear(a->ch);
	if (a->flight) {
		chunk_clear(a->flight);
		a->flight = NULL;
	}
}

/*
 * TRUNCATE of t, after the rows of t seen so far. Consecutive truncates go into one
 * statement (TRUNCATE a, b) when no op of t lies between, which is what lets a table be
 * truncated together with the tables that reference it, as on the root.
 */
static void plan_truncate(struct sky_apply *a, struct apply_table *t)
{
	long idx;

	t->open_op = -1;
	if (a->ch->last_trunc_op >= 0 && a->ch->last_trunc_op > t->last_op) {
		idx = a->ch->last_trunc_op;
		sky_buf_addf(&a->ch->ops[idx].buf, ", %s", t->qname);
	} else {
		idx = op_new(a, OP_TRUNCATE);
		sky_buf_addf(&a->ch->ops[idx].buf, "truncate %s", t->qname);
		a->ch->last_trunc_op = idx;
	}
	op_add_table(&a->ch->ops[idx], t);
	t->last_op = idx;
}

static int plan_row(struct sky_apply *a, PGconn *local, struct apply_table *t,
                    const struct sky_ev_type *et, const struct sky_event *ev, long long ev_id,
                    struct sky_error *err)
{
	int ret = -1;
	struct apply_shape *shape;
	struct apply_op *op;
	struct sky_buf *b;
	size_t i, off;

	if (sky_row_parse(&a->row, ev->data, ev->data ? strlen(ev->data) : 0, err) < 0)
		goto out;
	if (shape_get(&shape, a, local, t, &a->row, et, err) < 0)
		goto out;
	if (t->open_op < 0 || a->ch->ops[t->open_op].shape != shape) {
		t->open_op = op_new(a, OP_ROWS);
		a->ch->ops[t->open_op].table = t;
		a->ch->ops[t->open_op].shape = shape;
	}
	op = &a->ch->ops[t->open_op];
	b = &op->buf;
	off = b->len;
	for (i = 0; i < a->row.n; i++) {
		const struct sky_field *f = &a->row.fields[i];

		if (i)
			sky_buf_addch(b, '\t');
		if (!f->value) {
			sky_buf_add(b, "\\N", 2);
		} else if (sky_urldecode_copy_append(b, f->value, f->value_len, err) < 0) {
			sky_error_prefix(err, "column \"%s\"", shape->names[i]);
			goto out;
		}
	}
	sky_buf_addf(b, "\t%lld\t%c\n", ++a->seq, et->op);
	/* the key: encoded values of the key columns; '&' cannot occur in them */
	sky_buf_reset(&a->tmp);
	for (i = 0; i < shape->npk; i++) {
		const struct sky_field *f = &a->row.fields[shape->pk_idx[i]];

		if (f->value)
			sky_buf_add(&a->tmp, f->value, f->value_len);
		sky_buf_add(&a->tmp, f->value ? "&" : "\x01&", f->value ? 1 : 2);
	}
	op_add_row(op, off, a->tmp.data, a->tmp.len, ev_id);
	if (et->op == 'D')
		op->ndel++;
	t->last_op = t->open_op;
	ret = 0;
out:
	return ret;
}

/* ---------------------------------------------------------------- public */

struct sky_apply *sky_apply_new(void)
{
	struct sky_apply *a = sky_calloc(1, sizeof(*a));

	a->watermark = -1;
	chunk_init(&a->chunks[0]);
	chunk_init(&a->chunks[1]);
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
				table_free(a->slots[i]);
		}
		free(a->slots);
		chunk_release(&a->chunks[0]);
		chunk_release(&a->chunks[1]);
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

	ops_reset(a);
	for (i = 0; i < a->nslots; i++) {
		if (!a->slots[i])
			continue;
		table_free_meta(a->slots[i]);
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
	struct apply_table *t = table_lookup(a, name);

	if (!t)
		t = table_add(a, name, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
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

	ops_reset(a);
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
		plan_truncate(a, t);
		a->stats.applied++;
	} else if (plan_row(a, local, t, &et, ev, ev_id, err) < 0) {
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
	if (a->copy_queue)
		sky_qcopy_add(&a->ch->qc, ev);
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
	t = table_lookup(a, ev->extra1);
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

/* stmt_op of the statements applying the held rows of chunk->applied[k] */
#define HELD_STMT(k) (-10 - (long)(k))

static void script_add(struct sky_apply *a, size_t *nstmts, long op, const char *sql, int count)
{
	int i;

	sky_buf_adds(&a->ch->script, sql);
	sky_buf_adds(&a->ch->script, ";\n");
	if (*nstmts + (size_t)count > a->ch->cap_stmts) {
		a->ch->cap_stmts = (*nstmts + (size_t)count) * 2;
		a->ch->stmt_op = sky_realloc(a->ch->stmt_op, a->ch->cap_stmts * sizeof(long));
	}
	for (i = 0; i < count; i++)
		a->ch->stmt_op[(*nstmts)++] = op;
}

static void script_add_buf(struct sky_apply *a, size_t *nbufs, struct sky_buf *b)
{
	if (*nbufs == a->ch->cap_bufs) {
		a->ch->cap_bufs = a->ch->cap_bufs ? a->ch->cap_bufs * 2 : 8;
		a->ch->bufs = sky_realloc(a->ch->bufs, a->ch->cap_bufs * sizeof(*a->ch->bufs));
	}
	a->ch->bufs[(*nbufs)++] = b;
}

/* Say which table and event a failed script statement was about. */
static void flush_error_context(const struct apply_chunk *ch, const struct sky_pg_script_pos *pos,
                                struct sky_error *err)
{
	const struct apply_op *op;
	const struct op_row *row;
	long idx = pos->stmt < ch->nstmts ? ch->stmt_op[pos->stmt] : -2;

	if (idx <= HELD_STMT(0) && (size_t)(HELD_STMT(0) - idx) < ch->napplied) {
		const struct held_apply *h = &ch->applied[HELD_STMT(0) - idx];

		sky_error_prefix(err, "could not apply events %lld..%lld to table \"%s\"", h->first,
		                 h->last, h->table->name);
	} else if (idx == -1) {
		sky_error_prefix(err, "could not copy events into the local queue");
	} else if (idx == -3) {
		sky_error_prefix(err, "could not set events aside for tables being copied");
	} else if (idx >= 0) {
		op = &ch->ops[idx];
		if (op->kind == OP_TRUNCATE)
			sky_error_prefix(err, "could not apply %s", op->buf.data);
		else if (pos->copy_line > 0 && (row = op_line_row(op, pos->copy_line)) != NULL)
			sky_error_prefix(err, "could not apply event %lld to table \"%s\"",
			                 row->ev_id, op->table->name);
		else
			sky_error_prefix(err, "could not apply events %lld..%lld to table \"%s\"",
			                 op->rows[0].ev_id, op->rows[op->nrows - 1].ev_id,
			                 op->table->name);
	}
}

/*
 * The statements of TRUNCATE op idx, added to the script. TRUNCATE refuses a table that another
 * table references unless that one is truncated in the same statement. On the root it was
 * (TRUNCATE ... CASCADE), but here its event may be in a later chunk (--fetch-size), set aside
 * (the table is being copied), skipped (the table is not replicated here, or its copy already
 * holds the truncate). So a table referenced by a foreign key from a table outside the op's set
 * is emptied with DELETE: the session runs in replica mode, where no foreign-key trigger fires;
 * the others keep TRUNCATE, in one statement. One catalog query per TRUNCATE op (rare).
 */
static int truncate_script(struct sky_apply *a, PGconn *local, size_t *nstmts, long idx,
                           struct sky_error *err)
{
	int ret = -1;
	struct apply_op *op = &a->ch->ops[idx];
	PGresult *res = NULL;
	const char *params[1];
	bool *del = sky_calloc(op->ntables, sizeof(bool));
	char *sql = NULL;
	const char *p;
	size_t i, ntrunc = 0;
	int r;

	/* the qualified names as a text[] literal: every element quoted, \ and " escaped */
	sky_buf_reset(&a->tmp);
	sky_buf_addch(&a->tmp, '{');
	for (i = 0; i < op->ntables; i++) {
		sky_buf_adds(&a->tmp, i ? ",\"" : "\"");
		for (p = op->tables[i]->qname; *p; p++) {
			if (*p == '"' || *p == '\\')
				sky_buf_addch(&a->tmp, '\\');
			sky_buf_addch(&a->tmp, *p);
		}
		sky_buf_addch(&a->tmp, '"');
	}
	sky_buf_adds(&a->tmp, "}");
	params[0] = a->tmp.data;
	if (sky_pg_exec(&res, local, err,
	                "select u.i from unnest($1::text[]) with ordinality u(t, i)"
	                " where exists (select 1 from pg_catalog.pg_constraint k"
	                "  where k.contype = 'f' and k.confrelid = u.t::regclass"
	                "    and k.conrelid <> all (select v::regclass from unnest($1::text[]) v))",
	                1, params) < 0) {
		sky_error_prefix(err, "could not plan %s", op->buf.data);
		goto out;
	}
	for (r = 0; r < PQntuples(res); r++) {
		long long k = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		if (k >= 1 && (size_t)k <= op->ntables)
			del[k - 1] = true;
	}
	for (i = 0; i < op->ntables; i++) {
		if (!del[i]) {
			ntrunc++;
			continue;
		}
		free(sql);
		sql = sky_asprintf("delete from %s", op->tables[i]->qname);
		script_add(a, nstmts, idx, sql, 1);
	}
	if (ntrunc > 0) {
		sky_buf_reset(&a->tmp);
		sky_buf_adds(&a->tmp, "truncate ");
		ntrunc = 0;
		for (i = 0; i < op->ntables; i++) {
			if (del[i])
				continue;
			if (ntrunc++)
				sky_buf_adds(&a->tmp, ", ");
			sky_buf_adds(&a->tmp, op->tables[i]->qname);
		}
		script_add(a, nstmts, idx, a->tmp.data, 1);
	}
	ret = 0;
out:
	PQclear(res);
	free(sql);
	free(del);
	return ret;
}

/* The statements of rows op i that fill its staging table, added to the script. */
static void rows_fill_script(struct sky_apply *a, long i)
{
	struct apply_op *op = &a->ch->ops[i];
	struct apply_shape *s = op->shape;
	size_t *nstmts = &a->ch->nstmts, nbufs;

	if (s->used_now && s->held_rows == 0) {
		/* a second use of the staging table in this transaction (held rows stay) */
		script_add(a, nstmts, i, s->truncate_sql, 1);
	}
	if (!s->created) {
		script_add(a, nstmts, i, s->create_sql, 1);
		s->created = s->created_now = true;
	}
	if (s->upsert && !s->prepared && !s->prepared_now) {
		/* the join-free upsert only: see shape_build_sql */
		sky_buf_addf(&a->ch->script, "prepare sky_a%u_%u as ", s->stage_no, s->prep_gen);
		script_add(a, nstmts, i, s->apply_src[1], 1);
		s->prepared_now = true;
	}
	script_add(a, nstmts, i, s->copy_sql, 1);
	nbufs = a->ch->nbufs;
	script_add_buf(a, &nbufs, op_copy_data(op));
	a->ch->nbufs = nbufs;
	s->used_now = true;
}

/* The queue copy and the set-aside events of the chunk, added to the script. */
static int side_copies_script(struct sky_apply *a, struct sky_error *err)
{
	int ret = -1;
	size_t nbufs = a->ch->nbufs;

	if (a->ch->qc.n > 0) {
		if (!a->ch->qc.copy_sql) {
			sky_error_set(err, "no event table to copy events into");
			goto out;
		}
		script_add(a, &a->ch->nstmts, -1, a->ch->qc.copy_sql, 1);
		script_add_buf(a, &nbufs, &a->ch->qc.rows);
	}
	if (a->ch->nbacklog > 0) {
		script_add(a, &a->ch->nstmts, -3,
		           "copy pgq_set.copy_backlog (cascade, table_name, ev_id, ev_txid,"
		           " batch_tick, ev_type, ev_data) from stdin",
		           1);
		script_add_buf(a, &nbufs, &a->ch->backlog);
	}
	a->ch->nbufs = nbufs;
	ret = 0;
out:
	return ret;
}

/* The statements that apply shape s's staged rows (ndel: deletes among them), to the script. */
static void shape_apply_script(struct sky_apply *a, struct apply_shape *s, bool del, long op)
{
	int k;

	if (s->upsert && !del) {
		sky_buf_addf(&a->ch->script, "execute sky_a%u_%u", s->stage_no, s->prep_gen);
		script_add(a, &a->ch->nstmts, op, "", 1);
		return;
	}
	for (k = 0; k < (s->upsert ? 1 : 2); k++)
		script_add(a, &a->ch->nstmts, op, s->apply_src[k], 1);
}

/* Apply every held row now: their statements, to the script; nothing is held after. */
static void held_apply_script(struct sky_apply *a)
{
	struct apply_chunk *ch = a->ch;
	size_t k;

	for (k = 0; k < a->nheld; k++) {
		struct apply_shape *s = a->held[k];

		if (ch->napplied == ch->cap_applied) {
			ch->cap_applied = ch->cap_applied ? ch->cap_applied * 2 : 8;
			ch->applied =
			    sky_realloc(ch->applied, ch->cap_applied * sizeof(*ch->applied));
		}
		ch->applied[ch->napplied] =
		    (struct held_apply){s->table, s->held_first, s->held_last};
		shape_apply_script(a, s, s->held_del, HELD_STMT(ch->napplied));
		ch->napplied++;
		s->held_rows = 0;
		s->held_del = false;
	}
	a->nheld = 0;
	a->held_rows = 0;
}

/*
 * Can the chunk's rows join the held rows (and be held themselves)? Only rows ops (a
 * TRUNCATE must follow what came before it), each shape once, and no table with rows held in
 * another shape (a schema change: the older shape's rows go first).
 */
static bool chunk_can_hold(struct sky_apply *a)
{
	unsigned group = ++a->group_counter;
	size_t i;

	for (i = 0; i < a->ch->nops; i++) {
		const struct apply_op *op = &a->ch->ops[i];
		const struct apply_shape *x;

		if (op->kind != OP_ROWS || op->shape->group == group)
			return false;
		op->shape->group = group;
		for (x = op->table->shapes; x; x = x->next) {
			if (x != op->shape && x->held_rows > 0)
				return false;
		}
	}
	return true;
}

/*
 * The script of the collecting chunk. Its COPY statements come first and the set-based
 * statements after them, so that the server runs most of the chunk after its last COPY,
 * without the worker (sky_apply_send).
 *
 * Held rows: the set-based statements need not run chunk by chunk. They apply the last
 * state of each key the staging table holds (ordered by _sky_seq, the batch's event order),
 * so rows staged by several chunks of a batch give the same result in one statement, and
 * one statement over many rows in key order touches each page of the table and its index
 * once instead of once per chunk (a 1,000,000-row table: 200,000 rows in one statement took
 * a third of the time of 20 chunks of 10,000 here). So when a chunk holds only rows ops that
 * can join the rows held already (chunk_can_hold), its rows are only staged, and the
 * statements run once HOLD_MAX_ROWS are held or at the batch's last flush (before its commit:
 * everything applied, then complete_batch). Otherwise the held rows are applied first, at
 * the start of the script (before any staging table is emptied), and the chunk goes the
 * chunk-by-chunk way: ops are taken in groups; a group ends before an op whose staging table
 * the group fills already (the same table and shape again after a TRUNCATE in the chunk),
 * since that table must be applied and emptied before it is filled again. Within a group,
 * the statements that change tables (upserts, deletes, TRUNCATEs) keep the chunk's order;
 * staging tables and the queue copy are nobody else's, so filling them early changes nothing.
 * Tables are independent here: the session runs in replica mode (no triggers, no foreign-key
 * checks), so applying one table's rows later than another's changes nothing either.
 */
static int chunk_build(struct sky_apply *a, PGconn *local, struct sky_error *err)
{
	int ret = -1;
	size_t gstart = 0, gend, i;
	bool side_done = false;

	sky_buf_reset(&a->ch->script);
	a->ch->nstmts = 0;
	a->ch->nbufs = 0;
	a->ch->napplied = 0;
	if (chunk_can_hold(a)) {
		if (side_copies_script(a, err) < 0)
			goto out;
		for (i = 0; i < a->ch->nops; i++) {
			struct apply_op *op = &a->ch->ops[i];
			struct apply_shape *s = op->shape;

			rows_fill_script(a, (long)i);
			if (op->nrows == 0)
				continue;
			if (s->held_rows == 0) {
				s->held_first = op->rows[0].ev_id;
				if (a->nheld == a->cap_held) {
					a->cap_held = a->cap_held ? a->cap_held * 2 : 8;
					a->held =
					    sky_realloc(a->held, a->cap_held * sizeof(*a->held));
				}
				a->held[a->nheld++] = s;
			}
			s->held_last = op->rows[op->nrows - 1].ev_id;
			s->held_rows += op->nrows - op->ndead;
			s->held_del = s->held_del || op->ndel > 0;
			a->held_rows += op->nrows - op->ndead;
		}
		if (a->final || a->held_rows >= HOLD_MAX_ROWS)
			held_apply_script(a);
		ret = 0;
		goto out;
	}
	held_apply_script(a);
	while (gstart < a->ch->nops || !side_done) {
		unsigned group = ++a->group_counter;

		for (gend = gstart; gend < a->ch->nops; gend++) {
			struct apply_shape *s = a->ch->ops[gend].shape;

			if (a->ch->ops[gend].kind != OP_ROWS)
				continue;
			if (s->group == group)
				break;
			s->group = group;
		}
		if (!side_done) {
			if (side_copies_script(a, err) < 0)
				goto out;
			side_done = true;
		}
		for (i = gstart; i < gend; i++) {
			if (a->ch->ops[i].kind == OP_ROWS)
				rows_fill_script(a, (long)i);
		}
		for (i = gstart; i < gend; i++) {
			if (a->ch->ops[i].kind == OP_TRUNCATE) {
				if (truncate_script(a, local, &a->ch->nstmts, (long)i, err) < 0)
					goto out;
				continue;
			}
			shape_apply_script(a, a->ch->ops[i].shape, a->ch->ops[i].ndel > 0, (long)i);
		}
		gstart = gend;
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
static int apply_wait(struct sky_apply *a, struct sky_error *err)
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
		flush_error_context(ch, &pos, err);
	chunk_clear(ch);
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
	if (chunk_build(a, local, err) < 0)
		goto out;
	rc = sky_pg_script_start(&ch->run, local, ch->script.data, ch->bufs, ch->nbufs, &pos, err);
	if (rc < 0) {
		/* start reads everything after a failure: nothing is in flight */
		chunk_settle(ch, rc);
		flush_error_context(ch, &pos, err);
		goto out;
	}
	/* in flight: the next events go into the other chunk */
	chunk_detach(ch);
	a->flight = ch;
	a->ch = ch == &a->chunks[0] ? &a->chunks[1] : &a->chunks[0];
	ret = 0;
out:
	if (ret < 0)
		ops_reset(a);
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
	ops_reset(a);
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
