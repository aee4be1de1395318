/*
 * apply_ops: the ops of a chunk (the rows of one table and shape, or a TRUNCATE), in event
 * order per table, keeping only the last state of each key (hot keys), and the chunks that
 * hold them. No I/O but the shape's one-time catalog read. See apply_internal.h.
 */
#include "apply_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
struct sky_buf *apply_op_copy_data(struct apply_op *op)
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
const struct op_row *apply_op_line_row(const struct apply_op *op, long line)
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
void apply_chunk_detach(struct apply_chunk *ch)
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
void apply_chunk_clear(struct apply_chunk *ch)
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

void apply_chunk_init(struct apply_chunk *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->last_trunc_op = -1;
	sky_qcopy_init(&ch->qc);
	sky_buf_init(&ch->backlog);
	sky_buf_init(&ch->script);
}

void apply_chunk_release(struct apply_chunk *ch)
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
void apply_ops_reset(struct sky_apply *a)
{
	apply_chunk_detach(a->ch);
	apply_chunk_clear(a->ch);
	if (a->flight) {
		apply_chunk_clear(a->flight);
		a->flight = NULL;
	}
}

/*
 * TRUNCATE of t, after the rows of t seen so far. Consecutive truncates go into one
 * statement (TRUNCATE a, b) when no op of t lies between, which is what lets a table be
 * truncated together with the tables that reference it, as on the root.
 */
void apply_plan_truncate(struct sky_apply *a, struct apply_table *t)
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

int apply_plan_row(struct sky_apply *a, PGconn *local, struct apply_table *t,
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
	if (apply_shape_get(&shape, a, local, t, &a->row, et, err) < 0)
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
