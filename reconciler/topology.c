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
 * Part of the plan engine (no libpq): whether a dsn is a valid libpq connection string is
 * checked afterwards by topology_dsn_check (topology_dsn.c), at the position kept in dsn_pos.
 */
#include "topology.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "sky_mem.h"

/* PostgreSQL's identifier limit (NAMEDATALEN - 1); also used for node and cascade names. */
#define TOPO_NAME_MAX 63
/* Longest piece of a user value quoted in a message. */
#define TOPO_QUOTE_MAX 64
/* At most this many names in an "expected one of" list. */
#define TOPO_LIST_MAX 20

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

static struct topo_pos mark_pos(yaml_mark_t m)
{
	return (struct topo_pos){.line = (int)m.line + 1, .col = (int)m.column + 1};
}

static struct topo_pos ynode_pos(const yaml_node_t *n)
{
	return mark_pos(n->start_mark);
}

static bool pos_before(struct topo_pos a, struct topo_pos b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

static int fail(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
{
	struct sky_buf b;
	va_list ap;

	sky_buf_init(&b);
	sky_buf_addf(&b, "%s:%d:%d: ", p->file, pos.line, pos.col);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sky_error_set(p->err, "%s", b.data);
	sky_buf_release(&b);
	return -1;
}

/* Check pass: keep the message when pos comes before the one kept so far. */
static void note(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
{
	struct sky_buf b;
	va_list ap;

	if (p->found && !pos_before(pos, p->found_pos))
		return;
	sky_buf_init(&b);
	sky_buf_addf(&b, "%s:%d:%d: ", p->file, pos.line, pos.col);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sky_error_set(p->err, "%s", b.data);
	sky_buf_release(&b);
	p->found = true;
	p->found_pos = pos;
}

/* Keep s until the parse ends; returns s. */
static const char *scratch_keep(struct topo_parse *p, char *s)
{
	p->scratch = sky_realloc(p->scratch, (p->n_scratch + 1) * sizeof(*p->scratch));
	p->scratch[p->n_scratch++] = s;
	return s;
}

/*
 * True when s might be (part of) a connection string: a dsn written where a key or a name
 * belongs must not be shown either.
 */
static bool looks_like_dsn(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=' || s[i] == '@' || (s[i] == ':' && i + 2 < len && s[i + 1] == '/'))
			return true;
		if (len - i >= 8 && strncasecmp(s + i, "password", 8) == 0)
			return true;
	}
	return false;
}

/*
 * Append s (len bytes) in double quotes, escaping quotes, backslashes and control characters,
 * cut after TOPO_QUOTE_MAX bytes (on a UTF-8 character boundary). Every piece of user text in a
 * message goes through here; what looks like a connection string is replaced by a placeholder.
 */
static void buf_add_quoted(struct sky_buf *b, const char *s, size_t len)
{
	size_t i;

	if (looks_like_dsn(s, len)) {
		sky_buf_adds(b, "<hidden: looks like a connection string>");
		return;
	}
	sky_buf_addch(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= TOPO_QUOTE_MAX && (c & 0xC0) != 0x80) {
			sky_buf_adds(b, "...");
			break;
		}
		if (c == '"' || c == '\\') {
			sky_buf_addch(b, '\\');
			sky_buf_addch(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			sky_buf_addf(b, "\\x%02x", c);
		} else {
			sky_buf_addch(b, (char)c);
		}
	}
	sky_buf_addch(b, '"');
}

/* s quoted for a message; valid until the parse ends. */
static const char *q(struct topo_parse *p, const char *s)
{
	struct sky_buf b;

	sky_buf_init(&b);
	buf_add_quoted(&b, s, strlen(s));
	return scratch_keep(p, sky_buf_detach(&b));
}

static yaml_node_t *ynode(struct topo_parse *p, int index)
{
	return yaml_document_get_node(p->doc, index);
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool all_in(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

static bool is_core_int(const char *s, size_t len)
{
	if (len > 2 && s[0] == '0' && s[1] == 'o')
		return all_in(s + 2, len - 2, "01234567");
	if (len > 2 && s[0] == '0' && s[1] == 'x')
		return all_in(s + 2, len - 2, "0123456789abcdefABCDEF");
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		len--;
	}
	return len > 0 && all_in(s, len, "0123456789");
}

static bool is_core_float(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0)
		return true;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (strcmp(s + i, ".inf") == 0 || strcmp(s + i, ".Inf") == 0 || strcmp(s + i, ".INF") == 0)
		return true;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i >= len)
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == len;
}

static enum topo_kind kind_of(const yaml_node_t *n)
{
	const char *s;
	size_t len;

	if (n->type == YAML_MAPPING_NODE)
		return KIND_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return KIND_SEQ;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return KIND_STR;
	s = scalar_text(n);
	len = n->data.scalar.length;
	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return KIND_NULL;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0 ||
	    strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return KIND_BOOL;
	if (is_core_int(s, len))
		return KIND_INT;
	if (is_core_float(s, len))
		return KIND_FLOAT;
	return KIND_STR;
}

static const char *kind_name(enum topo_kind k)
{
	switch (k) {
	case KIND_MAP:
		return "a mapping";
	case KIND_SEQ:
		return "a list";
	case KIND_NULL:
		return "null";
	case KIND_BOOL:
		return "a boolean";
	case KIND_INT:
		return "an integer";
	case KIND_FLOAT:
		return "a number";
	case KIND_STR:
		break;
	}
	return "a string";
}

/*
 * What n is, for "got ..." in a message: the kind, or with show the value itself (plain scalars
 * as written, quoted strings as `the quoted string "..."`). Valid until the parse ends.
 */
static const char *describe(struct topo_parse *p, const yaml_node_t *n, bool show)
{
	enum topo_kind k = kind_of(n);
	struct sky_buf b;

	if (!show || k == KIND_MAP || k == KIND_SEQ || k == KIND_NULL)
		return kind_name(k);
	sky_buf_init(&b);
	if (k == KIND_STR) {
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			sky_buf_adds(&b, "the quoted string ");
		buf_add_quoted(&b, scalar_text(n), n->data.scalar.length);
	} else {
		sky_buf_add(&b, scalar_text(n), n->data.scalar.length);
	}
	return scratch_keep(p, sky_buf_detach(&b));
}

/* Names of keys[] as "a, b, c" (valid until the parse ends). */
static const char *key_list(struct topo_parse *p, const struct topo_key *keys, size_t n)
{
	struct sky_buf b;

	sky_buf_init(&b);
	for (size_t i = 0; i < n; i++)
		sky_buf_addf(&b, "%s%s", i ? ", " : "", keys[i].name);
	return scratch_keep(p, sky_buf_detach(&b));
}

/*
 * The text of a string value (borrowed from the document). Anything but a string is an error
 * that names the key; the value itself is never shown (this reads dsn too).
 */
static int field_string(const char **out, struct topo_parse *p, const struct topo_field *f)
{
	enum topo_kind k = kind_of(f->vnode);

	/*
	 * The failure paths return -1 themselves rather than fail()'s value: fail() is variadic,
	 * so never inlined, and the callers' "< 0 means *out is unset" must be visible to the
	 * compiler where this function is inlined (GCC -O3 -Wmaybe-uninitialized).
	 */
	if (k != KIND_STR) {
		fail(p, ynode_pos(f->vnode), "expected a string for \"%s\"%s, got %s%s", f->key,
		     f->ctx, kind_name(k),
		     k == KIND_BOOL || k == KIND_INT || k == KIND_FLOAT ? " (quote it)" : "");
		return -1;
	}
	if (strlen(scalar_text(f->vnode)) != f->vnode->data.scalar.length) {
		fail(p, ynode_pos(f->vnode), "unexpected NUL character in \"%s\"%s", f->key,
		     f->ctx);
		return -1;
	}
	*out = scalar_text(f->vnode);
	return 0;
}

static int field_bool(bool *out, struct topo_parse *p, const struct topo_field *f)
{
	const char *s = scalar_text(f->vnode);

	if (kind_of(f->vnode) != KIND_BOOL)
		return fail(p, ynode_pos(f->vnode), "expected true or false for \"%s\"%s, got %s",
		            f->key, f->ctx, describe(p, f->vnode, true));
	*out = s[0] == 't' || s[0] == 'T';
	return 0;
}

/* An int >= 1, written in decimal. */
static int field_count(int *out, struct topo_parse *p, const struct topo_field *f)
{
	const char *s = scalar_text(f->vnode);
	long long v;
	char *end;

	if (kind_of(f->vnode) != KIND_INT || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || v < 1)
		goto bad;
	if (errno == ERANGE || v > INT_MAX)
		return fail(p, ynode_pos(f->vnode),
		            "expected an integer >= 1 for \"%s\"%s, got %s (too large)", f->key,
		            f->ctx, describe(p, f->vnode, true));
	*out = (int)v;
	return 0;
bad:
	return fail(p, ynode_pos(f->vnode), "expected an integer >= 1 for \"%s\"%s, got %s", f->key,
	            f->ctx, describe(p, f->vnode, true));
}

/* 1 to TOPO_NAME_MAX characters of [a-z0-9_] */
static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= TOPO_NAME_MAX &&
	       all_in(s, len, "abcdefghijklmnopqrstuvwxyz0123456789_");
}

/*
 * Read the mapping map with the key table keys[]: each key in file order goes to its read
 * function; unknown and repeated keys are errors, then missing required keys (reported at
 * missing_pos). ctx is appended to messages (" in node \"db2\"").
 */
static int read_map(struct topo_parse *p, yaml_node_t *map, const struct topo_key *keys,
                    size_t n_keys, void *obj, const char *ctx, struct topo_pos missing_pos)
{
	yaml_node_t *seen[16] = {0}; /* per key of keys[]; no table has more */
	yaml_node_pair_t *pair;

	assert(n_keys <= sizeof(seen) / sizeof(seen[0]));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = ynode(p, pair->key);
		struct topo_field f;
		const char *name;
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return fail(p, ynode_pos(k), "expected a key (one of: %s)%s, got %s",
			            key_list(p, keys, n_keys), ctx, kind_name(kind_of(k)));
		name = scalar_text(k);
		for (i = 0; i < n_keys; i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == n_keys)
			return fail(p, ynode_pos(k), "unknown key %s%s (expected one of: %s)",
			            q(p, name), ctx, key_list(p, keys, n_keys));
		if (seen[i])
			return fail(p, ynode_pos(k), "duplicate key \"%s\"%s (first at %d:%d)",
			            keys[i].name, ctx, ynode_pos(seen[i]).line,
			            ynode_pos(seen[i]).col);
		seen[i] = k;
		f.key = keys[i].name;
		f.knode = k;
		f.vnode = ynode(p, pair->value);
		f.ctx = ctx;
		if (keys[i].read(p, obj, &f) < 0)
			return -1;
	}
	for (size_t i = 0; i < n_keys; i++)
		if (keys[i].required && !seen[i])
			return fail(p, missing_pos, "missing required key \"%s\"%s (expected %s)",
			            keys[i].name, ctx, keys[i].what);
	return 0;
}

/* ---- nodes ---- */

static int node_read_role(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;

	if (kind_of(f->vnode) != KIND_STR || sky_role_parse(&n->role, scalar_text(f->vnode)) < 0)
		return fail(p, ynode_pos(f->vnode),
		            "expected root, branch or leaf for \"role\"%s, got %s", f->ctx,
		            describe(p, f->vnode, true));
	p->node_marks[n - p->topo->nodes].role = ynode_pos(f->vnode);
	return 0;
}

static int node_read_dsn(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	const char *s;

	if (field_string(&s, p, f) < 0)
		return -1;
	if (!s[0])
		return fail(p, ynode_pos(f->vnode),
		            "empty \"dsn\"%s (expected a libpq connection string)", f->ctx);
	/*
	 * The syntax is libpq's to judge, and the engine has no libpq: topology_dsn_check
	 * (topology_dsn.c) parses every dsn after the load and reports at dsn_pos.
	 */
	n->dsn = sky_strdup(s);
	n->dsn_pos = ynode_pos(f->vnode);
	return 0;
}

static int node_read_provider(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	struct node_marks *m = &p->node_marks[n - p->topo->nodes];
	const char *s;

	if (field_string(&s, p, f) < 0)
		return -1;
	n->provider = sky_strdup(s);
	m->provider_key = ynode_pos(f->knode);
	m->provider = ynode_pos(f->vnode);
	return 0;
}

static int node_read_renamed_from(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;
	const char *s;

	if (field_string(&s, p, f) < 0)
		return -1;
	if (!valid_name(s))
		return fail(p, ynode_pos(f->vnode),
		            "invalid node name %s for \"renamed_from\"%s (expected 1 to %d "
		            "characters from [a-z0-9_])",
		            q(p, s), f->ctx, TOPO_NAME_MAX);
	n->renamed_from = sky_strdup(s);
	p->node_marks[n - p->topo->nodes].renamed_from = ynode_pos(f->vnode);
	return 0;
}

static int node_read_dead(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_node *n = obj;

	p->node_marks[n - p->topo->nodes].dead = ynode_pos(f->knode);
	return field_bool(&n->dead, p, f);
}

static int node_read_paused(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_bool(&((struct topo_node *)obj)->paused, p, f);
}

static int node_read_parallel_copies(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&((struct topo_node *)obj)->parallel_copies, p, f);
}

static const struct topo_key node_keys[] = {
    {"role", true, "root, branch or leaf", node_read_role},
    {"dsn", true, "a libpq connection string", node_read_dsn},
    {"provider", false, NULL, node_read_provider},
    {"paused", false, NULL, node_read_paused},
    {"parallel_copies", false, NULL, node_read_parallel_copies},
    {"renamed_from", false, NULL, node_read_renamed_from},
    {"dead", false, NULL, node_read_dead},
};

static int read_nodes(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *map = f->vnode;
	yaml_node_pair_t *pair;
	size_t count;

	p->nodes_key = ynode_pos(f->knode);
	if (map->type != YAML_MAPPING_NODE)
		return fail(p, ynode_pos(map),
		            "expected a mapping of node name to node for \"nodes\", got %s",
		            kind_name(kind_of(map)));
	count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (count == 0)
		return fail(p, ynode_pos(map), "no nodes (expected at least the root node)");
	topo->nodes = sky_calloc(count, sizeof(*topo->nodes));
	p->node_marks = sky_calloc(count, sizeof(*p->node_marks));

	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = ynode(p, pair->key);
		yaml_node_t *v = ynode(p, pair->value);
		struct topo_node *n;
		const char *name;
		char *ctx;

		if (k->type != YAML_SCALAR_NODE)
			return fail(p, ynode_pos(k), "expected a node name in \"nodes\", got %s",
			            kind_name(kind_of(k)));
		name = scalar_text(k);
		if (!valid_name(name) || strlen(name) != k->data.scalar.length)
			return fail(p, ynode_pos(k),
			            "invalid node name %s (expected 1 to %d characters from "
			            "[a-z0-9_])",
			            q(p, name), TOPO_NAME_MAX);
		for (size_t i = 0; i < topo->n_nodes; i++)
			if (strcmp(topo->nodes[i].name, name) == 0)
				return fail(p, ynode_pos(k),
				            "duplicate node \"%s\" (first defined at %d:%d)", name,
				            topo->nodes[i].pos.line, topo->nodes[i].pos.col);
		n = &topo->nodes[topo->n_nodes++];
		n->name = sky_strdup(name);
		n->pos = ynode_pos(k);
		if (v->type != YAML_MAPPING_NODE)
			return fail(
			    p, ynode_pos(v),
			    "expected a mapping (keys: %s) for node \"%s\", got %s",
			    key_list(p, node_keys, sizeof(node_keys) / sizeof(node_keys[0])), name,
			    kind_name(kind_of(v)));
		ctx = sky_asprintf(" in node \"%s\"", name);
		scratch_keep(p, ctx);
		if (read_map(p, v, node_keys, sizeof(node_keys) / sizeof(node_keys[0]), n, ctx,
		             n->pos) < 0)
			return -1;
	}
	return 0;
}

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
	const char *s = scalar_text(v);
	int ret = -1;

	sky_buf_init(&why);
	if (strlen(s) != v->data.scalar.length) {
		fail(p, ynode_pos(v), "unexpected NUL character in table name");
		goto out;
	}
	if (table_name_parse(&t->schema, &t->relname, s, &why) < 0) {
		fail(p, ynode_pos(v),
		     "invalid table name %s: %s (expected [schema.]table, each part an identifier "
		     "[A-Za-z_][A-Za-z0-9_$]* or a \"double-quoted\" identifier)",
		     q(p, s), why.data);
		goto out;
	}
	t->name = sky_asprintf("%s.%s", t->schema, t->relname);
	t->pos = ynode_pos(v);
	/* compare the parts: "a.b".c and a."b.c" are different tables with the same name */
	for (struct topo_table *o = topo->tables; o < t; o++) {
		if (strcmp(o->schema, t->schema) == 0 && strcmp(o->relname, t->relname) == 0) {
			fail(p, t->pos, "duplicate table %s (first listed at %d:%d)", q(p, t->name),
			     o->pos.line, o->pos.col);
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

	if (field_string(&s, p, f) < 0)
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
		return fail(p, ynode_pos(seq),
		            "expected a list of node names for \"nodes\"%s, got %s", f->ctx,
		            kind_name(kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (count == 0)
		return fail(
		    p, ynode_pos(seq),
		    "empty \"nodes\"%s (expected at least one node name; leave \"nodes\" out "
		    "to replicate to every node)",
		    f->ctx);
	t->nodes = sky_calloc(count, sizeof(*t->nodes));
	m->nodes = sky_calloc(count, sizeof(*m->nodes));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = ynode(p, *it);
		enum topo_kind k = kind_of(v);
		const char *s;

		if (k != KIND_STR)
			return fail(
			    p, ynode_pos(v), "expected a node name in \"nodes\"%s, got %s%s",
			    f->ctx, kind_name(k),
			    k == KIND_BOOL || k == KIND_INT || k == KIND_FLOAT ? " (quote it)"
			                                                       : "");
		s = scalar_text(v);
		for (size_t i = 0; i < t->n_nodes; i++)
			if (strcmp(t->nodes[i], s) == 0)
				return fail(p, ynode_pos(v),
				            "duplicate node %s in \"nodes\"%s (first at %d:%d)",
				            q(p, s), f->ctx, m->nodes[i].line, m->nodes[i].col);
		m->nodes[t->n_nodes] = ynode_pos(v);
		t->nodes[t->n_nodes++] = sky_strdup(s);
	}
	return 0;
}

static int table_read_create(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_bool(&((struct topo_table *)obj)->create, p, f);
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
		yaml_node_t *k = ynode(p, pair->key);
		yaml_node_t *v = ynode(p, pair->value);
		char *schema, *relname;
		struct sky_buf why;
		const char *ctx = NULL;

		if (k->type != YAML_SCALAR_NODE || strcmp(scalar_text(k), "name") != 0 ||
		    kind_of(v) != KIND_STR)
			continue;
		sky_buf_init(&why);
		if (table_name_parse(&schema, &relname, scalar_text(v), &why) == 0) {
			char *full = sky_asprintf("%s.%s", schema, relname);

			ctx = scratch_keep(p, sky_asprintf(" in table %s", q(p, full)));
			free(full);
			free(schema);
			free(relname);
		}
		sky_buf_release(&why);
		if (ctx)
			return ctx;
		break;
	}
	return scratch_keep(p, sky_asprintf(" in table #%zu", index + 1));
}

static int read_tables(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *seq = f->vnode;
	size_t count;

	/* "tables:" with nothing after it is the empty list: no replicated tables */
	if (kind_of(seq) == KIND_NULL)
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(p, ynode_pos(seq), "expected a list of tables for \"tables\", got %s",
		            kind_name(kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	topo->tables = sky_calloc(count, sizeof(*topo->tables));
	p->table_marks = sky_calloc(count, sizeof(*p->table_marks));
	p->n_table_marks = count;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *v = ynode(p, seq->data.sequence.items.start[i]);
		enum topo_kind k = kind_of(v);
		struct topo_table *t = &topo->tables[topo->n_tables++];

		if (k == KIND_STR) {
			if (table_set_name(p, t, v) < 0)
				return -1;
		} else if (k == KIND_MAP) {
			if (read_map(p, v, table_keys, sizeof(table_keys) / sizeof(table_keys[0]),
			             t, table_ctx(p, v, i), ynode_pos(v)) < 0)
				return -1;
		} else {
			return fail(
			    p, ynode_pos(v),
			    "expected a table name or a mapping (keys: %s) for table #%zu, "
			    "got %s",
			    key_list(p, table_keys, sizeof(table_keys) / sizeof(table_keys[0])),
			    i + 1, kind_name(k));
		}
	}
	return 0;
}

/* ---- failover policy ---- */

static int failover_read_mode(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	const char *s = scalar_text(f->vnode);

	if (kind_of(f->vnode) != KIND_STR ||
	    (strcmp(s, "manual") != 0 && strcmp(s, "automatic") != 0))
		return fail(p, ynode_pos(f->vnode),
		            "expected manual or automatic for \"mode\"%s, got %s", f->ctx,
		            describe(p, f->vnode, true));
	p->topo->failover.automatic = strcmp(s, "automatic") == 0;
	return 0;
}

static int failover_read_detect_after(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&p->topo->failover.detect_after, p, f);
}

static int failover_read_witnesses(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&p->topo->failover.witnesses, p, f);
}

static int failover_read_max_lag_ticks(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&p->topo->failover.max_lag_ticks, p, f);
}

static int failover_read_max_failovers(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&p->topo->failover.max_failovers, p, f);
}

static int failover_read_window(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	return field_count(&p->topo->failover.window, p, f);
}

/* candidates: {node: priority, ...} */
static int failover_read_candidates(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_failover *fo = &p->topo->failover;
	yaml_node_t *map = f->vnode;
	yaml_node_pair_t *pair;
	size_t count;

	if (map->type != YAML_MAPPING_NODE)
		return fail(
		    p, ynode_pos(map),
		    "expected a mapping of node name to priority for \"candidates\"%s, got %s",
		    f->ctx, kind_name(kind_of(map)));
	count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	fo->candidates = sky_calloc(count + 1, sizeof(*fo->candidates));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = ynode(p, pair->key);
		struct topo_field vf = {
		    .key = "candidates", .knode = k, .vnode = ynode(p, pair->value), .ctx = f->ctx};
		struct topo_candidate *c;

		if (k->type != YAML_SCALAR_NODE || !valid_name(scalar_text(k)))
			return fail(p, ynode_pos(k),
			            "expected a node name in \"candidates\"%s, got %s", f->ctx,
			            describe(p, k, true));
		for (size_t i = 0; i < fo->n_candidates; i++)
			if (strcmp(fo->candidates[i].node, scalar_text(k)) == 0)
				return fail(p, ynode_pos(k),
				            "duplicate node \"%s\" in \"candidates\"%s",
				            scalar_text(k), f->ctx);
		c = &fo->candidates[fo->n_candidates];
		if (field_count(&c->priority, p, &vf) < 0)
			return -1;
		c->node = sky_strdup(scalar_text(k));
		fo->n_candidates++;
	}
	return 0;
}

static int failover_read_never(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topo_failover *fo = &p->topo->failover;
	yaml_node_t *seq = f->vnode;
	size_t count;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(p, ynode_pos(seq),
		            "expected a list of node names for \"never\"%s, got %s", f->ctx,
		            kind_name(kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	fo->never = sky_calloc(count + 1, sizeof(*fo->never));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = ynode(p, *it);

		if (kind_of(v) != KIND_STR || !valid_name(scalar_text(v)))
			return fail(p, ynode_pos(v), "expected a node name in \"never\"%s, got %s",
			            f->ctx, describe(p, v, true));
		fo->never[fo->n_never++] = sky_strdup(scalar_text(v));
	}
	return 0;
}

static const struct topo_key failover_keys[] = {
    {"mode", false, NULL, failover_read_mode},
    {"detect_after", false, NULL, failover_read_detect_after},
    {"witnesses", false, NULL, failover_read_witnesses},
    {"candidates", false, NULL, failover_read_candidates},
    {"never", false, NULL, failover_read_never},
    {"max_lag_ticks", false, NULL, failover_read_max_lag_ticks},
    {"max_failovers", false, NULL, failover_read_max_failovers},
    {"window", false, NULL, failover_read_window},
};

static int read_failover(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	p->topo->failover.present = true;
	p->topo->failover.pos = ynode_pos(f->knode);
	if (f->vnode->type != YAML_MAPPING_NODE)
		return fail(
		    p, ynode_pos(f->vnode),
		    "expected a mapping (keys: %s) for \"failover\", got %s",
		    key_list(p, failover_keys, sizeof(failover_keys) / sizeof(failover_keys[0])),
		    kind_name(kind_of(f->vnode)));
	return read_map(p, f->vnode, failover_keys,
	                sizeof(failover_keys) / sizeof(failover_keys[0]), NULL, " in failover",
	                ynode_pos(f->vnode));
}

/* ---- sequences ---- */

/* sequences: [schema.name, ...] (no schema: public) */
static int read_sequences(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	struct topology *topo = p->topo;
	yaml_node_t *seq = f->vnode;
	size_t count;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(p, ynode_pos(seq),
		            "expected a list of sequence names for \"sequences\", got %s",
		            kind_name(kind_of(seq)));
	count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	topo->sequences = sky_calloc(count + 1, sizeof(*topo->sequences));
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *v = ynode(p, *it);
		const char *s;
		char *name;

		if (kind_of(v) != KIND_STR || !scalar_text(v)[0] ||
		    strlen(scalar_text(v)) != v->data.scalar.length)
			return fail(
			    p, ynode_pos(v),
			    "expected a sequence name ([schema.]name) in \"sequences\", got %s",
			    describe(p, v, true));
		s = scalar_text(v);
		name = strchr(s, '.') ? sky_strdup(s) : sky_asprintf("public.%s", s);
		for (size_t i = 0; i < topo->n_sequences; i++) {
			if (strcmp(topo->sequences[i], name) == 0) {
				free(name);
				return fail(p, ynode_pos(v),
				            "duplicate sequence %s in \"sequences\"", q(p, s));
			}
		}
		topo->sequences[topo->n_sequences++] = name;
	}
	return 0;
}

/* ---- settings and the top level ---- */

static int settings_read_parallel_copies(struct topo_parse *p, void *obj,
                                         const struct topo_field *f)
{
	return field_count(&p->topo->parallel_copies, p, f);
}

/*
 * A duration in seconds (an integer or a decimal number, at most 86400), as milliseconds:
 * > 0, or >= 0 with zero_ok.
 */
static int field_seconds(int *out, struct topo_parse *p, const struct topo_field *f, bool zero_ok)
{
	const char *s = scalar_text(f->vnode);
	enum topo_kind k = kind_of(f->vnode);
	double v;
	char *end;

	if ((k != KIND_INT && k != KIND_FLOAT) || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno == ERANGE || v != v || v < 0 || (!zero_ok && v * 1000 < 1) || v > 86400)
		goto bad;
	*out = (int)(v * 1000 + 0.5);
	return 0;
bad:
	return fail(p, ynode_pos(f->vnode), "expected a number of seconds %s for \"%s\"%s, got %s",
	            zero_ok ? "from 0 to 86400" : "from 0.001 to 86400", f->key, f->ctx,
	            describe(p, f->vnode, true));
}

static int settings_read_ticker_max_count(struct topo_parse *p, void *obj,
                                          const struct topo_field *f)
{
	(void)obj;
	return field_count(&p->topo->ticker_max_count, p, f);
}

static int settings_read_ticker_max_lag(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	(void)obj;
	if (field_seconds(&p->topo->ticker_max_lag_ms, p, f, true) < 0)
		return -1;
	p->topo->has_ticker_max_lag = true;
	return 0;
}

static int settings_read_ticker_idle_period(struct topo_parse *p, void *obj,
                                            const struct topo_field *f)
{
	(void)obj;
	return field_seconds(&p->topo->ticker_idle_period_ms, p, f, false);
}

static const struct topo_key settings_keys[] = {
    {"parallel_copies", false, NULL, settings_read_parallel_copies},
    {"ticker_max_count", false, NULL, settings_read_ticker_max_count},
    {"ticker_max_lag", false, NULL, settings_read_ticker_max_lag},
    {"ticker_idle_period", false, NULL, settings_read_ticker_idle_period},
};

static int read_settings(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	if (f->vnode->type != YAML_MAPPING_NODE)
		return fail(
		    p, ynode_pos(f->vnode),
		    "expected a mapping (keys: %s) for \"settings\", got %s",
		    key_list(p, settings_keys, sizeof(settings_keys) / sizeof(settings_keys[0])),
		    kind_name(kind_of(f->vnode)));
	return read_map(p, f->vnode, settings_keys,
	                sizeof(settings_keys) / sizeof(settings_keys[0]), NULL, " in settings",
	                ynode_pos(f->vnode));
}

static int read_cascade(struct topo_parse *p, void *obj, const struct topo_field *f)
{
	const char *s;

	if (field_string(&s, p, f) < 0)
		return -1;
	if (!s[0])
		return fail(p, ynode_pos(f->vnode),
		            "empty cascade name (expected 1 to %d characters from [a-z0-9_])",
		            TOPO_NAME_MAX);
	if (!valid_name(s))
		return fail(p, ynode_pos(f->vnode),
		            "invalid cascade name %s (expected 1 to %d characters from [a-z0-9_])",
		            q(p, s), TOPO_NAME_MAX);
	p->topo->cascade = sky_strdup(s);
	return 0;
}

static const struct topo_key top_keys[] = {
    {"cascade", true, "the cascade name", read_cascade},
    {"nodes", true, "a mapping of node name to node", read_nodes},
    {"tables", false, NULL, read_tables},
    {"settings", false, NULL, read_settings},
    {"sequences", false, NULL, read_sequences},
    {"failover", false, NULL, read_failover},
};

/* ---- the check pass ---- */

static long node_index(const struct topology *topo, const char *name)
{
	for (size_t i = 0; i < topo->n_nodes; i++)
		if (strcmp(topo->nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* "db1, db2, ..." of the nodes that could be a provider for node `self` (or every node when
 * providers_only is false). Valid until the parse ends. */
static const char *node_list(struct topo_parse *p, bool providers_only, const char *self)
{
	struct sky_buf b;
	size_t shown = 0;

	sky_buf_init(&b);
	for (size_t i = 0; i < p->topo->n_nodes; i++) {
		const struct topo_node *n = &p->topo->nodes[i];

		if (providers_only && (n->role == SKY_ROLE_LEAF || strcmp(n->name, self) == 0))
			continue;
		if (shown == TOPO_LIST_MAX) {
			sky_buf_adds(&b, ", ...");
			break;
		}
		sky_buf_addf(&b, "%s%s", shown ? ", " : "", n->name);
		shown++;
	}
	if (!shown)
		sky_buf_adds(&b, "none");
	return scratch_keep(p, sky_buf_detach(&b));
}

/* The provider of node i as an index, or -1 (root, none, unknown, itself). */
static long provider_index(const struct topology *topo, size_t i)
{
	const struct topo_node *n = &topo->nodes[i];
	long pi;

	if (n->role == SKY_ROLE_ROOT || !n->provider)
		return -1;
	pi = node_index(topo, n->provider);
	return pi == (long)i ? -1 : pi;
}

static void check_nodes(struct topo_parse *p)
{
	struct topology *topo = p->topo;
	const struct topo_node *root = NULL;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *n = &topo->nodes[i];
		const struct node_marks *m = &p->node_marks[i];
		long pi;

		if (n->dead)
			continue; /* fenced: kept for its DSN, counted for nothing else */
		if (n->role == SKY_ROLE_ROOT) {
			if (root)
				note(p, m->role,
				     "second root node \"%s\" (node \"%s\" is already the root; "
				     "expected exactly one live root: mark the old one \"dead: "
				     "true\" "
				     "for a failover)",
				     n->name, root->name);
			else
				root = n;
			if (n->provider)
				note(p, m->provider_key,
				     "root node \"%s\" cannot have a provider (remove \"provider\" "
				     "or "
				     "change the role)",
				     n->name);
			continue;
		}
		if (!n->provider) {
			note(p, n->pos,
			     "missing required key \"provider\" in node \"%s\" (expected the name "
			     "of "
			     "a root or branch node: a %s needs a provider)",
			     n->name, sky_role_name(n->role));
			continue;
		}
		if (strcmp(n->provider, n->name) == 0) {
			note(p, m->provider, "node \"%s\" cannot be its own provider", n->name);
			continue;
		}
		pi = node_index(topo, n->provider);
		if (pi < 0)
			note(p, m->provider,
			     "unknown provider %s for node \"%s\" (expected one of: %s)",
			     q(p, n->provider), n->name, node_list(p, true, n->name));
		else if (topo->nodes[pi].role == SKY_ROLE_LEAF)
			note(p, m->provider,
			     "provider \"%s\" of node \"%s\" is a leaf (expected a root or branch "
			     "node)",
			     n->provider, n->name);
		else if (topo->nodes[pi].dead)
			note(p, m->provider,
			     "provider \"%s\" of node \"%s\" is dead (expected a live root or "
			     "branch node: give \"%s\" another provider)",
			     n->provider, n->name, n->name);
	}
	if (!root)
		note(p, p->nodes_key, "no root node (expected exactly one node with role root)");
}

/*
 * renamed_from: the old name is not a node of the file (references use new names), not the
 * node's own name, and claimed by one node only.
 */
static void check_renames(struct topo_parse *p)
{
	struct topology *topo = p->topo;

	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *n = &topo->nodes[i];
		struct topo_pos pos = p->node_marks[i].renamed_from;

		if (!n->renamed_from)
			continue;
		if (strcmp(n->renamed_from, n->name) == 0) {
			note(p, pos,
			     "node \"%s\" cannot be renamed from itself (remove \"renamed_from\")",
			     n->name);
			continue;
		}
		if (node_index(topo, n->renamed_from) >= 0) {
			note(p, pos,
			     "node \"%s\" is renamed from \"%s\", which is still a node of the "
			     "file (expected the old name, no longer in \"nodes\")",
			     n->name, n->renamed_from);
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (topo->nodes[k].renamed_from &&
			    strcmp(topo->nodes[k].renamed_from, n->renamed_from) == 0) {
				note(p, pos,
				     "node \"%s\" is renamed from \"%s\", which node \"%s\" is "
				     "already renamed from (expected one new name per old name)",
				     n->name, n->renamed_from, topo->nodes[k].name);
				break;
			}
		}
	}
}

/* failover: candidates and never name nodes of the file, and no node is both. */
static void check_failover(struct topo_parse *p)
{
	const struct topo_failover *fo = &p->topo->failover;

	for (size_t i = 0; i < fo->n_candidates; i++) {
		if (node_index(p->topo, fo->candidates[i].node) < 0)
			note(p, fo->pos,
			     "unknown node \"%s\" in \"candidates\" in failover (expected one of: "
			     "%s)",
			     fo->candidates[i].node, node_list(p, false, NULL));
		for (size_t k = 0; k < fo->n_never; k++)
			if (strcmp(fo->never[k], fo->candidates[i].node) == 0)
				note(p, fo->pos,
				     "node \"%s\" is both in \"candidates\" and in \"never\" in "
				     "failover",
				     fo->never[k]);
	}
	for (size_t k = 0; k < fo->n_never; k++)
		if (node_index(p->topo, fo->never[k]) < 0)
			note(p, fo->pos,
			     "unknown node \"%s\" in \"never\" in failover (expected one of: %s)",
			     fo->never[k], node_list(p, false, NULL));
}

/*
 * Follow providers from each node in file order; a walk that comes back to a node of the same
 * walk has found a cycle, reported at the cycle's first node in file order.
 */
static void check_cycles(struct topo_parse *p)
{
	struct topology *topo = p->topo;
	size_t n = topo->n_nodes;
	char *state = sky_calloc(n, 1); /* 0 new, 1 on the current walk, 2 done */
	long *walk = sky_calloc(n, sizeof(*walk));

	for (size_t start = 0; start < n; start++) {
		size_t len = 0, from;
		long j = (long)start;

		while (j >= 0 && state[j] == 0) {
			state[j] = 1;
			walk[len++] = j;
			j = provider_index(topo, (size_t)j);
		}
		if (j >= 0 && state[j] == 1) {
			struct sky_buf b;
			size_t first, cyc_len;

			for (from = 0; walk[from] != j; from++)
				;
			cyc_len = len - from;
			first = from;
			for (size_t k = from; k < len; k++)
				if (walk[k] < walk[first])
					first = k;
			sky_buf_init(&b);
			for (size_t k = 0; k <= cyc_len; k++)
				sky_buf_addf(
				    &b, "%s%s", k ? " -> " : "",
				    topo->nodes[walk[from + (first - from + k) % cyc_len]].name);
			note(p, p->node_marks[walk[first]].provider,
			     "provider cycle %s (expected a chain of providers that ends at the "
			     "root)",
			     b.data);
			sky_buf_release(&b);
		}
		for (size_t k = 0; k < len; k++)
			state[walk[k]] = 2;
	}
	free(state);
	free(walk);
}

static void check_tables(struct topo_parse *p)
{
	struct topology *topo = p->topo;

	for (size_t i = 0; i < topo->n_tables; i++) {
		const struct topo_table *t = &topo->tables[i];

		for (size_t k = 0; k < t->n_nodes; k++) {
			struct topo_pos pos = p->table_marks[i].nodes[k];
			long ni = node_index(topo, t->nodes[k]), pi;

			if (ni < 0) {
				note(p, pos,
				     "unknown node %s in \"nodes\" of table %s (expected one of: "
				     "%s)",
				     q(p, t->nodes[k]), q(p, t->name), node_list(p, false, NULL));
				continue;
			}
			pi = provider_index(topo, (size_t)ni);
			if (pi >= 0 && !topology_table_on_node(t, topo->nodes[pi].name))
				note(
				    p, pos,
				    "table %s is on node \"%s\" but not on its provider \"%s\" (a "
				    "node "
				    "copies its tables from its provider: add \"%s\" to \"nodes\")",
				    q(p, t->name), t->nodes[k], topo->nodes[pi].name,
				    topo->nodes[pi].name);
		}
	}
}

/* ---- loading ---- */

/* Line and column of byte offset off in text (for libyaml reader errors, which carry no mark). */
static struct topo_pos offset_pos(const char *text, size_t len, size_t off)
{
	struct topo_pos pos = {1, 1};

	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			pos.col++;
		}
	}
	return pos;
}

static int yaml_fail(struct topo_parse *p, const yaml_parser_t *parser, const char *text,
                     size_t len)
{
	struct topo_pos pos;

	if (parser->error == YAML_MEMORY_ERROR) {
		fprintf(stderr, "out of memory (libyaml)\n");
		abort();
	}
	if (parser->error == YAML_READER_ERROR)
		pos = offset_pos(text, len, parser->problem_offset);
	else
		pos = mark_pos(parser->problem_mark);
	/* an unclosed quote: where the user must look is the opening quote, not the end */
	if (parser->context && parser->error == YAML_SCANNER_ERROR &&
	    strcmp(parser->context, "while scanning a quoted scalar") == 0)
		return fail(p, mark_pos(parser->context_mark),
		            "invalid YAML: unclosed quote: %s (%s at %d:%d)",
		            parser->problem ? parser->problem : "syntax error", parser->context,
		            mark_pos(parser->context_mark).line,
		            mark_pos(parser->context_mark).col);
	if (parser->context && parser->error != YAML_READER_ERROR)
		return fail(p, pos, "invalid YAML: %s (%s at %d:%d)",
		            parser->problem ? parser->problem : "syntax error", parser->context,
		            mark_pos(parser->context_mark).line,
		            mark_pos(parser->context_mark).col);
	return fail(p, pos, "invalid YAML: %s", parser->problem ? parser->problem : "syntax error");
}

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

/* Read and check the document's top level into p->topo. */
static int topology_read(struct topo_parse *p, yaml_document_t *doc)
{
	yaml_node_t *top = yaml_document_get_root_node(doc);

	if (!top)
		return fail(p, (struct topo_pos){1, 1},
		            "empty file (expected a mapping with keys: %s)",
		            key_list(p, top_keys, sizeof(top_keys) / sizeof(top_keys[0])));
	if (top->type != YAML_MAPPING_NODE)
		return fail(p, ynode_pos(top), "expected a mapping with keys: %s, got %s",
		            key_list(p, top_keys, sizeof(top_keys) / sizeof(top_keys[0])),
		            kind_name(kind_of(top)));
	if (read_map(p, top, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), NULL,
	             " at top level", ynode_pos(top)) < 0)
		return -1;
	check_nodes(p);
	check_renames(p);
	check_failover(p);
	check_cycles(p);
	check_tables(p);
	return p->found ? -1 : 0;
}

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
		yaml_fail(&p, &parser, text, len);
		goto out;
	}
	have_doc = true;
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_fail(&p, &parser, text, len);
		goto out;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		fail(&p, mark_pos(extra.start_mark),
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

const struct topo_node *topology_node(const struct topology *topo, const char *name)
{
	long i = node_index(topo, name);

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
