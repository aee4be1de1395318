/*
 * apply_tables: the replicated tables applied here (a hash by name, their columns and keys
 * from the local catalog, once per table and session) and their shapes (staging table and
 * statements per column list). See apply_internal.h.
 */
#include "apply_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sky_pg.h"

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

struct apply_table *apply_table_lookup(const struct sky_apply *a, const char *name)
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

struct apply_table *apply_table_add(struct sky_apply *a, const char *name, const char *schema,
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

void apply_table_free_meta(struct apply_table *t)
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

void apply_table_free(struct apply_table *t)
{
	struct apply_shape *s, *next;

	for (s = t->shapes; s; s = next) {
		next = s->next;
		shape_free(s);
	}
	apply_table_free_meta(t);
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
	apply_table_free_meta(t);
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
int apply_shape_get(struct apply_shape **out, struct sky_apply *a, PGconn *local,
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
