/*
 * topology_internal: what the parts of the topology.yaml reader share. Private to them (not
 * part of the plan engine's API: everything else includes topology.h).
 *
 * The reader is one parse (struct topo_parse) over the libyaml document tree, in two passes
 * (topology.c drives them):
 *   topology_yaml.c      positions, messages, value kinds, typed field readers, the key-table
 *                        walk of a mapping (topo_read_map), libyaml's own errors;
 *   topology_nodes.c     the "nodes" section;
 *   topology_tables.c    the "tables" and "sequences" sections;
 *   topology_settings.c  the "settings" and "failover" sections;
 *   topology_check.c     the check pass: rules across entries (topo_check);
 *   topology.c           the top level, loading, freeing, cloning and the lookups of topology.h.
 *
 * Strings returned by the message helpers (topo_quote, topo_describe, topo_key_list, ...) are
 * kept in the parse's scratch list: valid until the parse ends, never freed by the caller.
 * Pointers into the document (topo_scalar_text, topo_ynode) are borrowed, valid until the
 * document is deleted at the end of topology_load_string.
 */
#ifndef SKY_TOPOLOGY_INTERNAL_H
#define SKY_TOPOLOGY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "sky_error.h"
#include "sky_mem.h"
#include "topology.h"

/* PostgreSQL's identifier limit (NAMEDATALEN - 1); also used for node and cascade names. */
#define TOPO_NAME_MAX 63

/* What a YAML value is, in the YAML 1.2 core schema (only plain scalars are resolved). */
enum topo_kind {
	KIND_MAP,
	KIND_SEQ,
	KIND_NULL,
	KIND_BOOL,
	KIND_INT,
	KIND_FLOAT,
	KIND_STR,
};

/* Positions that the check pass needs and struct topo_node has no room for. */
struct node_marks {
	struct topo_pos role;         /* the role value */
	struct topo_pos provider_key; /* the "provider" key */
	struct topo_pos provider;     /* the provider value */
	struct topo_pos renamed_from; /* the renamed_from value */
	struct topo_pos dead;         /* the "dead" key */
};

struct table_marks {
	struct topo_pos *nodes; /* one per entry of the table's nodes list */
};

struct topo_parse {
	const char *file;
	yaml_document_t *doc;
	struct topology *topo;
	struct sky_error *err;
	struct node_marks *node_marks;   /* parallel to topo->nodes */
	struct table_marks *table_marks; /* parallel to topo->tables */
	size_t n_table_marks;
	struct topo_pos nodes_key; /* the top-level "nodes" key */
	char **scratch;            /* strings made for messages, freed at the end */
	size_t n_scratch;
	/* check pass: the earliest inconsistency so far */
	bool found;
	struct topo_pos found_pos;
};

/* One key/value pair being read; ctx is " in node \"db2\"" and the like. */
struct topo_field {
	const char *key;
	yaml_node_t *knode;
	yaml_node_t *vnode;
	const char *ctx;
};

struct topo_key {
	const char *name;
	bool required;
	const char *what; /* for "missing required key": what the value should be */
	int (*read)(struct topo_parse *p, void *obj, const struct topo_field *f);
};

/* ---- topology_yaml.c: positions and messages ---- */

/* 1-based line and column of a libyaml mark, of the start of a node. */
struct topo_pos topo_mark_pos(yaml_mark_t m);
struct topo_pos topo_ynode_pos(const yaml_node_t *n);

/* Read pass: set p->err to "FILE:LINE:COL: message" and return -1. */
int topo_fail(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Check pass: keep the message when pos comes before the one kept so far (sets p->found). */
void topo_note(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Keep s (allocated) until the parse ends; returns s. */
const char *topo_scratch_keep(struct topo_parse *p, char *s);
/* s quoted for a message (a dsn-looking value hidden); valid until the parse ends. */
const char *topo_quote(struct topo_parse *p, const char *s);

/* ---- topology_yaml.c: values ---- */

yaml_node_t *topo_ynode(struct topo_parse *p, int index);
const char *topo_scalar_text(const yaml_node_t *n);
enum topo_kind topo_kind_of(const yaml_node_t *n);
/* "a mapping", "an integer", ... (static string) */
const char *topo_kind_name(enum topo_kind k);
/* What n is, for "got ..." in a message; with show the value itself. Valid until the parse ends. */
const char *topo_describe(struct topo_parse *p, const yaml_node_t *n, bool show);
/* Names of keys[] as "a, b, c" (valid until the parse ends). */
const char *topo_key_list(struct topo_parse *p, const struct topo_key *keys, size_t n);
/* Typed readers of f's value: 0 and *out set, or -1 with the error set (*out untouched). */
int topo_field_string(const char **out, struct topo_parse *p, const struct topo_field *f);
int topo_field_bool(bool *out, struct topo_parse *p, const struct topo_field *f);
int topo_field_count(int *out, struct topo_parse *p, const struct topo_field *f);
/* 1 to TOPO_NAME_MAX characters of [a-z0-9_] */
bool topo_valid_name(const char *s);
/*
 * Read the mapping map with the key table keys[] (at most 16 keys), each key's value going to
 * its read function with obj; unknown, repeated and missing required keys are errors.
 */
int topo_read_map(struct topo_parse *p, yaml_node_t *map, const struct topo_key *keys,
                  size_t n_keys, void *obj, const char *ctx, struct topo_pos missing_pos);
/* libyaml could not load text: the error at its position; returns -1. */
int topo_yaml_fail(struct topo_parse *p, const yaml_parser_t *parser, const char *text, size_t len);

/* ---- the sections: read functions of the top-level key table (struct topo_key) ---- */

int topo_read_nodes(struct topo_parse *p, void *obj, const struct topo_field *f);
int topo_read_tables(struct topo_parse *p, void *obj, const struct topo_field *f);
int topo_read_sequences(struct topo_parse *p, void *obj, const struct topo_field *f);
int topo_read_settings(struct topo_parse *p, void *obj, const struct topo_field *f);
int topo_read_failover(struct topo_parse *p, void *obj, const struct topo_field *f);

/* ---- topology.c ---- */

/* Index of node `name` in topo->nodes, or -1. */
long topo_node_index(const struct topology *topo, const char *name);

/* ---- topology_check.c ---- */

/* The check pass over a read topology: 0, or -1 with the earliest inconsistency in p->err. */
int topo_check(struct topo_parse *p);

#endif
