/*
 * apply_script: the statement script of a chunk (its COPYs into the staging tables, the local
 * queue and the backlog, then the set-based statements), held rows, TRUNCATE statements, and
 * the context of a failed statement. See apply_internal.h.
 */
#include "apply_internal.h"

#include <stdlib.h>
#include <string.h>

#include "sky_pg.h"

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
void apply_flush_error_context(const struct apply_chunk *ch, const struct sky_pg_script_pos *pos,
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
		else if (pos->copy_line > 0 &&
		         (row = apply_op_line_row(op, pos->copy_line)) != NULL)
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
	script_add_buf(a, &nbufs, apply_op_copy_data(op));
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
		sky_qcopy_finish(&a->ch->qc);
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
int apply_chunk_build(struct sky_apply *a, PGconn *local, struct sky_error *err)
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
