/*
 * topology_tables: what is replicated, the "tables" and "sequences" sections of topology.yaml
 * (topology_internal.h). Table names are read the way PostgreSQL reads them ([schema.]table,
 * plain identifiers folded to lower case, "double-quoted" ones kept as written).
 */
#include "topology_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- tables ---- */

/* Say what c is, for a character that cannot be in a plain identifier. */
static void why_bad_char(struct sky_buf *why, char c)
{
	unsigned char u = (unsigned char)c;

	if (u == ' ')
		sky_buf_adds(why, "unexpected space");
	else if (u & 0x80)
		sky_buf_adds(why, "unexpected non-ASCII character");
	else if (u < 0x20 || u == 0x7f)
		sky_buf_adds(why, "unexpected control character");
	else
		sky_buf_addf(why, "unexpected character '%c'", c);
}

/*
 * Read one identifier from *sp (plain: folded to lower case; "quoted": as written, "" for ")
 * into out and advance *sp past it. On failure why says what was wrong.
 */
static int ident_read(struct sky_buf *out, const char **sp, struct sky_buf *why)
{
	const char *s = *sp;

	sky_buf_reset(out);
	if (*s == '"') {
		for (s++;; s++) {
			if (!*s) {
				sky_buf_adds(why, "unterminated quoted identifier");
				return -1;
			}
			if (*s == '"') {
				if (s[1] != '"')
					break;
				s++;
			}
			sky_buf_addch(out, *s);
		}
		s++;
		if (out->len == 0) {
			sky_buf_adds(why, "zero-length quoted identifier");
			return -1;
		}
	} else if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_') {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		       (*s >= '0' && *s <= '9') || *s == '_' || *s == '$') {
			sky_buf_addch(out, (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s);
			s++;
		}
	} else if (*s == '\0' || *s == '.') {
		sky_buf_adds(why, "empty name part");
		return -1;
	} else {
		why_bad_char(why, *s);
		return -1;
	}
	if (out->len > TOPO_NAME_MAX) {
		sky_buf_addf(why, "identifier longer than %d bytes", TOPO_NAME_MAX);
		return -1;
	}
	*sp = s;
	return 0;
}

/*
 * Split "schema.table" or "table" into the unquoted schema (default "public") and relname,
 * PostgreSQL style. On success the caller frees *schema and *relname; on failure why says why.
 */
static int table_name_parse(char **schema, char **relname, const char *name, struct sky_buf *why)
{
	struct sky_buf part;
	char *first = NULL;
	const char *s = name;
	int ret = -1;

	sky_buf_init(&part);
	if (ident_read(&part, &s, why) < 0)
		goto out;
	if (*s == '.') {
		first = sky_buf_detach(&part);
		sky_buf_init(&part);
		s++;
		if (ident_read(&part, &s, why) < 0)
			goto out;
	}
	if (*s == '.') {
		sky_buf_adds(why, "more than two name parts");
		goto out;
	}
	if (*s) {
		why_bad_char(why, *s);
		goto out;
	}
	*schema = first ? first : sky_strdup("public");
	*relname = sky_buf_detach(&part);
	first = NULL;
	ret = 0;
out:
	free(first);
	if (ret < 0)
		sky_buf_release(&part);
	return ret;
}

/* Fill t's schema, relname and name from the scalar v; duplicates are errors. */
static int table_set_name(struct topo_parse *p, struct topo_table *t, yaml_node_t *v)
{
	struct topology *topo = p->topo;
	struct sky_buf why;
	const char *s = topo_scalar_text(v);
	int ret = -1;

	sky_buf_init(&why);
	if (strlen(s) != v->data.scalar.length) {
		topo_fail(p, topo_ynode_pos(v), "unexpected NUL character in table name");
		goto out;
	}
	if (table_name_parse(&t->schema, &t->relname, s, &why) < 0) {
		topo_fail(
		    p, topo_ynode_pos(v),
		    "invalid table name %s: %s (expected [schema.]table, each part an identifier "
		    "[A-Za-z_][A-Za-z0-9_$]* or a \"double-quoted\" identifier)",
		    topo_quote(p, s), why.data);
		goto out;
	}
	t->name = sky_asprintf("%s.%s", t->schema, t->relname);
	t->pos = topo_ynode_pos(v);
	/* compare the parts: "a.b".c and a."b.c" are different tables with the same name */
	for (struct topo_table *o = topo->tables; o < t; o++) {
		if (strcmp(o->schema, t->schema) == 0 && strcmp(o->relname, t->relname) == 0) {
			topo_fail(p, t->pos, "duplicate table %s (first listed at %d:%d)",
			          topo_quote(p, t->name), o->pos.line, o->pos.col);
			goto out;
		}
	}
	ret = 0;
out:
	sky_buf_release(&why);
	return ret;
}

static int table_read_name(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	const char *s;

	if (topo_field_string(&s, p, f) < 0)
		return -1;
	return table_set_name(p, obj, f->vnode);
}

static int table_read_nodes(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_table *t = obj;
	struct table_marks *m = &p->table_marks[t - p->topo->tables];
	yaml_node_t *seq = f->vnode;
	size_t count;

	if (seq->type != YAML_SEQUENCE_NODE)
		return topo_fail(p, topo_ynode_pos(seq),
		                 "expected a list of node names for \"nodes\"%s, got %s", f->ctx,
		                 topo_kind_name(topo_kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (count == 0)
		return topo_fail(
		    p, topo_ynode_pos(seq),
		    "empty \"nodes\"%s (expected at least one node name; leave \"nodes\" out "
		    "to replicate to every node)",
		    f->ctx);
	t->nodes = sky_calloc(count, sizeof(*t->nodes));
	m->nodes = sky_calloc(count, sizeof(*m->nodes));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = topo_ynode(p, *it);
		enum topo_kind k = topo_kind_of(v);
		const char *s;

		if (k != KIND_STR)
			return topo_fail(
			    p, topo_ynode_pos(v), "expected a node name in \"nodes\"%s, got %s%s",
			    f->ctx, topo_kind_name(k),
			    k == KIND_BOOL || k == KIND_INT || k == KIND_FLOAT ? " (quote it)"
			                                                       : "");
		s = topo_scalar_text(v);
		for (size_t i = 0; i < t->n_nodes; i++)
			if (strcmp(t->nodes[i], s) == 0)
				return topo_fail(
				    p, topo_ynode_pos(v),
				    "duplicate node %s in \"nodes\"%s (first at %d:%d)",
				    topo_quote(p, s), f->ctx, m->nodes[i].line, m->nodes[i].col);
		m->nodes[t->n_nodes] = topo_ynode_pos(v);
		t->nodes[t->n_nodes++] = sky_strdup(s);
	}
	return 0;
}

static int table_read_create(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return topo_field_bool(&((struct topo_table *)obj)->create, p, f);
}

static const struct topo_key table_keys[] = {
    {"name", true, "a table name, [schema.]table", table_read_name},
    {"nodes", false, NULL, table_read_nodes},
    {"create", false, NULL, table_read_create},
};

/* " in table \"public.x\"" when the map's name is readable, else " in table #N". */
static const char *table_ctx(struct topo_parse *p, yaml_node_t *map, size_t index)
{
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = topo_ynode(p, pair->key);
		yaml_node_t *v = topo_ynode(p, pair->value);
		char *schema, *relname;
		struct sky_buf why;
		const char *ctx = NULL;

		if (k->type != YAML_SCALAR_NODE || strcmp(topo_scalar_text(k), "name") != 0 ||
		    topo_kind_of(v) != KIND_STR)
			continue;
		sky_buf_init(&why);
		if (table_name_parse(&schema, &relname, topo_scalar_text(v), &why) == 0) {
			char *full = sky_asprintf("%s.%s", schema, relname);

			ctx =
			    topo_scratch_keep(p, sky_asprintf(" in table %s", topo_quote(p, full)));
			free(full);
			free(schema);
			free(relname);
		}
		sky_buf_release(&why);
		if (ctx)
			return ctx;
		break;
	}
	return topo_scratch_keep(p, sky_asprintf(" in table #%zu", index + 1));
}

int topo_read_tables(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *seq = f->vnode;
	size_t count;

	/* "tables:" with nothing after it is the empty list: no replicated tables */
	if (topo_kind_of(seq) == KIND_NULL)
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return topo_fail(p, topo_ynode_pos(seq),
		                 "expected a list of tables for \"tables\", got %s",
		                 topo_kind_name(topo_kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	topo->tables = sky_calloc(count, sizeof(*topo->tables));
	p->table_marks = sky_calloc(count, sizeof(*p->table_marks));
	p->n_table_marks = count;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *v = topo_ynode(p, seq->data.sequence.items.start[i]);
		enum topo_kind k = topo_kind_of(v);
		struct topo_table *t = &topo->tables[topo->n_tables++];

		if (k == KIND_STR) {
			if (table_set_name(p, t, v) < 0)
				return -1;
		} else if (k == KIND_MAP) {
			if (topo_read_map(p, v, table_keys,
			                  sizeof(table_keys) / sizeof(table_keys[0]), t,
			                  table_ctx(p, v, i), topo_ynode_pos(v)) < 0)
				return -1;
		} else {
			return topo_fail(
			    p, topo_ynode_pos(v),
			    "expected a table name or a mapping (keys: %s) for table #%zu, "
			    "got %s",
			    topo_key_list(p, table_keys,
			                  sizeof(table_keys) / sizeof(table_keys[0])),
			    i + 1, topo_kind_name(k));
		}
	}
	return 0;
}

/* ---- sequences ---- */

/* sequences: [schema.name, ...] (no schema: public) */
int topo_read_sequences(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *seq = f->vnode;
	size_t count;

	if (seq->type != YAML_SEQUENCE_NODE)
		return topo_fail(p, topo_ynode_pos(seq),
		                 "expected a list of sequence names for \"sequences\", got %s",
		                 topo_kind_name(topo_kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	topo->sequences = sky_calloc(count + 1, sizeof(*topo->sequences));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = topo_ynode(p, *it);
		const char *s;
		char *name;

		if (topo_kind_of(v) != KIND_STR || !topo_scalar_text(v)[0] ||
		    strlen(topo_scalar_text(v)) != v->data.scalar.length)
			return topo_fail(
			    p, topo_ynode_pos(v),
			    "expected a sequence name ([schema.]name) in \"sequences\", got %s",
			    topo_describe(p, v, true));
		s = topo_scalar_text(v);
		name = strchr(s, '.') ? sky_strdup(s) : sky_asprintf("public.%s", s);
		for (size_t i = 0; i < topo->n_sequences; i++) {
			if (strcmp(topo->sequences[i], name) == 0) {
				free(name);
				return topo_fail(p, topo_ynode_pos(v),
				                 "duplicate sequence %s in \"sequences\"",
				                 topo_quote(p, s));
			}
		}
		topo->sequences[topo->n_sequences++] = name;
	}
	return 0;
}
