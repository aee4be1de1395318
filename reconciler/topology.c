/*
 * topology: read and validate topology.yaml (the format is in docs/topology.md).
 *
 * libyaml loads the file into a document tree that keeps the line and column of every key and
 * value. Two passes follow:
 *  1. read: every key and value in file order, driven by one key table per mapping; stops at the
 *     first malformed thing (wrong type, unknown/missing/duplicate key, bad name);
 *  2. check: what involves several entries (the root, providers, where tables go); every
 *     inconsistency is looked at and the one that comes first in the file is reported.
 * Messages are "FILE:LINE:COL: message"; a dsn value is never put into one.
 *
 * This file drives the passes and holds topology.h's API; the YAML layer, each section's key
 * table and the check pass are in their own files (topology_internal.h lists them).
 *
 * Part of the plan engine (no libpq): whether a dsn is a valid libpq connection string is
 * checked afterwards by topology_dsn_check (topology_dsn.c), at the position kept in dsn_pos.
 */
#include "topology_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {
    [SKY_ROLE_ROOT] = "root",
    [SKY_ROLE_BRANCH] = "branch",
    [SKY_ROLE_LEAF] = "leaf",
};

const char *sky_role_name(enum sky_role role)
{
	if ((unsigned)role < sizeof(role_names) / sizeof(role_names[0]))
		return role_names[role];
	return "unknown";
}

int sky_role_parse(enum sky_role *out, const char *name)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum sky_role)i;
			return 0;
		}
	}
	return -1;
}

long topo_node_index(const struct topology *topo, const char *name)
{
	for (size_t i = 0; i < topo->n_nodes; i++)
		if (strcmp(topo->nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* ---- the top level ---- */

static int read_cascade(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	const char *s;

	if (topo_field_string(&s, p, f) < 0)
		return -1;
	if (!s[0])
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "empty cascade name (expected 1 to %d characters from [a-z0-9_])",
		                 TOPO_NAME_MAX);
	if (!topo_valid_name(s))
		return topo_fail(
		    p, topo_ynode_pos(f->vnode),
		    "invalid cascade name %s (expected 1 to %d characters from [a-z0-9_])",
		    topo_quote(p, s), TOPO_NAME_MAX);
	p->topo->cascade = sky_strdup(s);
	return 0;
}

static const struct topo_key top_keys[] = {
    {"cascade", true, "the cascade name", read_cascade},
    {"nodes", true, "a mapping of node name to node", topo_read_nodes},
    {"tables", false, NULL, topo_read_tables},
    {"settings", false, NULL, topo_read_settings},
    {"sequences", false, NULL, topo_read_sequences},
    {"failover", false, NULL, topo_read_failover},
};

/* Read and check the document's top level into p->topo. */
static int topology_read(struct topo_parse *p, yaml_document_t *doc)
{
	yaml_node_t *top = yaml_document_get_root_node(doc);

	if (!top)
		return topo_fail(
		    p, (struct topo_pos){1, 1}, "empty file (expected a mapping with keys: %s)",
		    topo_key_list(p, top_keys, sizeof(top_keys) / sizeof(top_keys[0])));
	if (top->type != YAML_MAPPING_NODE)
		return topo_fail(p, topo_ynode_pos(top), "expected a mapping with keys: %s, got %s",
		                 topo_key_list(p, top_keys, sizeof(top_keys) / sizeof(top_keys[0])),
		                 topo_kind_name(topo_kind_of(top)));
	if (topo_read_map(p, top, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), NULL,
	                  " at top level", topo_ynode_pos(top)) < 0)
		return -1;
	return topo_check(p);
}

/* ---- loading ---- */

int topology_load_string(struct topology **out, const char *file, const char *text, size_t len,
                         struct sky_error *err)
{
	struct topo_parse p = {.file = file, .err = err};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	int ret = -1;

	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "out of memory (libyaml)\n");
		abort();
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		topo_yaml_fail(&p, &parser, text, len);
		goto out;
	}
	have_doc = true;
	if (!yaml_parser_load(&parser, &extra)) {
		topo_yaml_fail(&p, &parser, text, len);
		goto out;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		topo_fail(&p, topo_mark_pos(extra.start_mark),
		          "a second YAML document (expected exactly one document)");
		goto out;
	}

	p.doc = &doc;
	p.topo = sky_calloc(1, sizeof(*p.topo));
	p.topo->file = sky_strdup(file);
	p.topo->parallel_copies = 1;
	p.topo->failover.detect_after = 30;
	p.topo->failover.witnesses = 1;
	p.topo->failover.max_failovers = 1;
	p.topo->failover.window = 3600;
	if (topology_read(&p, &doc) < 0)
		goto out;
	*out = p.topo;
	p.topo = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < p.n_table_marks; i++)
		free(p.table_marks[i].nodes);
	free(p.table_marks);
	free(p.node_marks);
	for (size_t i = 0; i < p.n_scratch; i++)
		free(p.scratch[i]);
	free(p.scratch);
	topology_free(p.topo);
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int topology_load_file(struct topology **out, const char *path, struct sky_error *err)
{
	struct sky_buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int ret = -1;

	sky_buf_init(&b);
	f = fopen(path, "rb");
	if (!f) {
		sky_error_set(err, "%s: could not open file: %s", path, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&b, chunk, n);
	if (ferror(f)) {
		sky_error_set(err, "%s: could not read file: %s", path, strerror(errno));
		goto out;
	}
	ret = topology_load_string(out, path, b.data, b.len, err);
out:
	if (f)
		fclose(f);
	sky_buf_release(&b);
	return ret;
}

/* ---- freeing and copying ---- */

void topology_free(struct topology *topo)
{
	if (!topo)
		return;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		free(topo->nodes[i].name);
		free(topo->nodes[i].dsn);
		free(topo->nodes[i].provider);
		free(topo->nodes[i].renamed_from);
	}
	free(topo->nodes);
	for (size_t i = 0; i < topo->n_tables; i++) {
		struct topo_table *t = &topo->tables[i];

		free(t->schema);
		free(t->relname);
		free(t->name);
		for (size_t k = 0; k < t->n_nodes; k++)
			free(t->nodes[k]);
		free(t->nodes);
	}
	free(topo->tables);
	for (size_t i = 0; i < topo->failover.n_candidates; i++)
		free(topo->failover.candidates[i].node);
	free(topo->failover.candidates);
	for (size_t i = 0; i < topo->failover.n_never; i++)
		free(topo->failover.never[i]);
	free(topo->failover.never);
	for (size_t i = 0; i < topo->n_sequences; i++)
		free(topo->sequences[i]);
	free(topo->sequences);
	free(topo->cascade);
	free(topo->file);
	free(topo);
}

static char *dup_or_null(const char *s)
{
	return s ? sky_strdup(s) : NULL;
}

struct topology *topology_clone(const struct topology *topo)
{
	struct topology *c = sky_calloc(1, sizeof(*c));

	*c = *topo;
	c->file = dup_or_null(topo->file);
	c->cascade = dup_or_null(topo->cascade);
	c->nodes = sky_calloc(topo->n_nodes + 1, sizeof(*c->nodes));
	for (size_t i = 0; i < topo->n_nodes; i++) {
		struct topo_node *n = &c->nodes[i];

		*n = topo->nodes[i];
		n->name = dup_or_null(topo->nodes[i].name);
		n->dsn = dup_or_null(topo->nodes[i].dsn);
		n->provider = dup_or_null(topo->nodes[i].provider);
		n->renamed_from = dup_or_null(topo->nodes[i].renamed_from);
	}
	c->tables = sky_calloc(topo->n_tables + 1, sizeof(*c->tables));
	for (size_t i = 0; i < topo->n_tables; i++) {
		struct topo_table *t = &c->tables[i];

		*t = topo->tables[i];
		t->schema = dup_or_null(topo->tables[i].schema);
		t->relname = dup_or_null(topo->tables[i].relname);
		t->name = dup_or_null(topo->tables[i].name);
		if (topo->tables[i].nodes) {
			t->nodes = sky_calloc(topo->tables[i].n_nodes + 1, sizeof(*t->nodes));
			for (size_t k = 0; k < topo->tables[i].n_nodes; k++)
				t->nodes[k] = sky_strdup(topo->tables[i].nodes[k]);
		}
	}
	c->failover.candidates =
	    sky_calloc(topo->failover.n_candidates + 1, sizeof(*c->failover.candidates));
	for (size_t i = 0; i < topo->failover.n_candidates; i++) {
		c->failover.candidates[i].node = sky_strdup(topo->failover.candidates[i].node);
		c->failover.candidates[i].priority = topo->failover.candidates[i].priority;
	}
	c->sequences = sky_calloc(topo->n_sequences + 1, sizeof(*c->sequences));
	for (size_t i = 0; i < topo->n_sequences; i++)
		c->sequences[i] = sky_strdup(topo->sequences[i]);
	c->failover.never = sky_calloc(topo->failover.n_never + 1, sizeof(*c->failover.never));
	for (size_t i = 0; i < topo->failover.n_never; i++)
		c->failover.never[i] = sky_strdup(topo->failover.never[i]);
	return c;
}

/* ---- lookups ---- */

int topology_failover_priority(const struct topology *topo, const char *node)
{
	for (size_t i = 0; i < topo->failover.n_candidates; i++)
		if (strcmp(topo->failover.candidates[i].node, node) == 0)
			return topo->failover.candidates[i].priority;
	return 0;
}

bool topology_failover_never(const struct topology *topo, const char *node)
{
	for (size_t i = 0; i < topo->failover.n_never; i++)
		if (strcmp(topo->failover.never[i], node) == 0)
			return true;
	return false;
}

const struct topo_node *topology_node(const struct topology *topo, const char *name)
{
	long i = topo_node_index(topo, name);

	return i < 0 ? NULL : &topo->nodes[i];
}

const struct topo_node *topology_root(const struct topology *topo)
{
	for (size_t i = 0; i < topo->n_nodes; i++)
		if (topo->nodes[i].role == SKY_ROLE_ROOT && !topo->nodes[i].dead)
			return &topo->nodes[i];
	return NULL;
}

bool topology_table_on_node(const struct topo_table *t, const char *node)
{
	if (!t->nodes)
		return true;
	for (size_t i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i], node) == 0)
			return true;
	return false;
}

void topology_ticker(const struct topology *topo, int *max_count, int *max_lag_ms,
                     int *idle_period_ms)
{
	*max_count = topo->ticker_max_count > 0 ? topo->ticker_max_count : TOPO_TICKER_MAX_COUNT;
	*max_lag_ms = topo->has_ticker_max_lag ? topo->ticker_max_lag_ms : TOPO_TICKER_MAX_LAG_MS;
	*idle_period_ms = topo->ticker_idle_period_ms > 0 ? topo->ticker_idle_period_ms
	                                                  : TOPO_TICKER_IDLE_PERIOD_MS;
}

int topology_parallel_copies(const struct topology *topo, const struct topo_node *node)
{
	if (node->parallel_copies > 0)
		return node->parallel_copies;
	return topo->parallel_copies > 0 ? topo->parallel_copies : 1;
}
