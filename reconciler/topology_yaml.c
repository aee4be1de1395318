/*
 * topology_yaml: the YAML layer of the topology.yaml reader (topology_internal.h).
 *
 * Positions (every libyaml node keeps its line and column), messages ("FILE:LINE:COL: ..."
 * through topo_fail and the check pass's topo_note, user text always quoted by topo_quote, a
 * dsn never shown), what a value is in the YAML 1.2 core schema, the typed readers of one
 * key's value, the key-table walk of a mapping (topo_read_map) and libyaml's own errors.
 */
#include "topology_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest piece of a user value quoted in a message. */
#define TOPO_QUOTE_MAX 64

struct topo_pos topo_mark_pos(yaml_mark_t m)
{
	return (struct topo_pos){.line = (int)m.line + 1, .col = (int)m.column + 1};
}

struct topo_pos topo_ynode_pos(const yaml_node_t *n)
{
	return topo_mark_pos(n->start_mark);
}

static bool pos_before(struct topo_pos a, struct topo_pos b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

int topo_fail(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
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
void topo_note(struct topo_parse *p, struct topo_pos pos, const char *fmt, ...)
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
const char *topo_scratch_keep(struct topo_parse *p, char *s)
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
const char *topo_quote(struct topo_parse *p, const char *s)
{
	struct sky_buf b;

	sky_buf_init(&b);
	buf_add_quoted(&b, s, strlen(s));
	return topo_scratch_keep(p, sky_buf_detach(&b));
}

yaml_node_t *topo_ynode(struct topo_parse *p, int index)
{
	return yaml_document_get_node(p->doc, index);
}

const char *topo_scalar_text(const yaml_node_t *n)
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

enum topo_kind topo_kind_of(const yaml_node_t *n)
{
	const char *s;
	size_t len;

	if (n->type == YAML_MAPPING_NODE)
		return KIND_MAP;
	if (n->type == YAML_SEQUENCE_NODE)
		return KIND_SEQ;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return KIND_STR;
	s = topo_scalar_text(n);
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

const char *topo_kind_name(enum topo_kind k)
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
const char *topo_describe(struct topo_parse *p, const yaml_node_t *n, bool show)
{
	enum topo_kind k = topo_kind_of(n);
	struct sky_buf b;

	if (!show || k == KIND_MAP || k == KIND_SEQ || k == KIND_NULL)
		return topo_kind_name(k);
	sky_buf_init(&b);
	if (k == KIND_STR) {
		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			sky_buf_adds(&b, "the quoted string ");
		buf_add_quoted(&b, topo_scalar_text(n), n->data.scalar.length);
	} else {
		sky_buf_add(&b, topo_scalar_text(n), n->data.scalar.length);
	}
	return topo_scratch_keep(p, sky_buf_detach(&b));
}

/* Names of keys[] as "a, b, c" (valid until the parse ends). */
const char *topo_key_list(struct topo_parse *p, const struct topo_key *keys, size_t n)
{
	struct sky_buf b;

	sky_buf_init(&b);
	for (size_t i = 0; i < n; i++)
		sky_buf_addf(&b, "%s%s", i ? ", " : "", keys[i].name);
	return topo_scratch_keep(p, sky_buf_detach(&b));
}

/*
 * The text of a string value (borrowed from the document). Anything but a string is an error
 * that names the key; the value itself is never shown (this reads dsn too).
 */
int topo_field_string(const char **out, struct topo_parse *p, const struct topo_field *f)
{
	enum topo_kind k = topo_kind_of(f->vnode);

	/*
	 * The failure paths return -1 themselves rather than topo_fail()'s value: topo_fail() is
	 * variadic, so never inlined, and the callers' "< 0 means *out is unset" must be visible to
	 * the compiler where this function is inlined (GCC -O3 -Wmaybe-uninitialized).
	 */
	if (k != KIND_STR) {
		topo_fail(p, topo_ynode_pos(f->vnode), "expected a string for \"%s\"%s, got %s%s",
		          f->key, f->ctx, topo_kind_name(k),
		          k == KIND_BOOL || k == KIND_INT || k == KIND_FLOAT ? " (quote it)" : "");
		return -1;
	}
	if (strlen(topo_scalar_text(f->vnode)) != f->vnode->data.scalar.length) {
		topo_fail(p, topo_ynode_pos(f->vnode), "unexpected NUL character in \"%s\"%s",
		          f->key, f->ctx);
		return -1;
	}
	*out = topo_scalar_text(f->vnode);
	return 0;
}

int topo_field_bool(bool *out, struct topo_parse *p, const struct topo_field *f)
{
	const char *s = topo_scalar_text(f->vnode);

	if (topo_kind_of(f->vnode) != KIND_BOOL)
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected true or false for \"%s\"%s, got %s", f->key, f->ctx,
		                 topo_describe(p, f->vnode, true));
	*out = s[0] == 't' || s[0] == 'T';
	return 0;
}

/* An int >= 1, written in decimal. */
int topo_field_count(int *out, struct topo_parse *p, const struct topo_field *f)
{
	const char *s = topo_scalar_text(f->vnode);
	long long v;
	char *end;

	if (topo_kind_of(f->vnode) != KIND_INT || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || v < 1)
		goto bad;
	if (errno == ERANGE || v > INT_MAX)
		return topo_fail(p, topo_ynode_pos(f->vnode),
		                 "expected an integer >= 1 for \"%s\"%s, got %s (too large)",
		                 f->key, f->ctx, topo_describe(p, f->vnode, true));
	*out = (int)v;
	return 0;
bad:
	return topo_fail(p, topo_ynode_pos(f->vnode),
	                 "expected an integer >= 1 for \"%s\"%s, got %s", f->key, f->ctx,
	                 topo_describe(p, f->vnode, true));
}

/* 1 to TOPO_NAME_MAX characters of [a-z0-9_] */
bool topo_valid_name(const char *s)
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
int topo_read_map(struct topo_parse *p, yaml_node_t *map, const struct topo_key *keys,
                  size_t n_keys, void *obj, const char *ctx, struct topo_pos missing_pos)
{
	yaml_node_t *seen[16] = {0}; /* per key of keys[]; no table has more */
	yaml_node_pair_t *pair;

	assert(n_keys <= sizeof(seen) / sizeof(seen[0]));
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = topo_ynode(p, pair->key);
		struct topo_field f;
		const char *name;
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return topo_fail(
			    p, topo_ynode_pos(k), "expected a key (one of: %s)%s, got %s",
			    topo_key_list(p, keys, n_keys), ctx, topo_kind_name(topo_kind_of(k)));
		name = topo_scalar_text(k);
		for (i = 0; i < n_keys; i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == n_keys)
			return topo_fail(p, topo_ynode_pos(k),
			                 "unknown key %s%s (expected one of: %s)",
			                 topo_quote(p, name), ctx, topo_key_list(p, keys, n_keys));
		if (seen[i])
			return topo_fail(p, topo_ynode_pos(k),
			                 "duplicate key \"%s\"%s (first at %d:%d)", keys[i].name,
			                 ctx, topo_ynode_pos(seen[i]).line,
			                 topo_ynode_pos(seen[i]).col);
		seen[i] = k;
		f.key = keys[i].name;
		f.knode = k;
		f.vnode = topo_ynode(p, pair->value);
		f.ctx = ctx;
		if (keys[i].read(p, obj, &f) < 0)
			return -1;
	}
	for (size_t i = 0; i < n_keys; i++)
		if (keys[i].required && !seen[i])
			return topo_fail(p, missing_pos,
			                 "missing required key \"%s\"%s (expected %s)",
			                 keys[i].name, ctx, keys[i].what);
	return 0;
}

/* ---- libyaml's errors ---- */

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

int topo_yaml_fail(struct topo_parse *p, const yaml_parser_t *parser, const char *text, size_t len)
{
	struct topo_pos pos;

	if (parser->error == YAML_MEMORY_ERROR) {
		fprintf(stderr, "out of memory (libyaml)\n");
		abort();
	}
	if (parser->error == YAML_READER_ERROR)
		pos = offset_pos(text, len, parser->problem_offset);
	else
		pos = topo_mark_pos(parser->problem_mark);
	/* an unclosed quote: where the user must look is the opening quote, not the end */
	if (parser->context && parser->error == YAML_SCANNER_ERROR &&
	    strcmp(parser->context, "while scanning a quoted scalar") == 0)
		return topo_fail(p, topo_mark_pos(parser->context_mark),
		                 "invalid YAML: unclosed quote: %s (%s at %d:%d)",
		                 parser->problem ? parser->problem : "syntax error",
		                 parser->context, topo_mark_pos(parser->context_mark).line,
		                 topo_mark_pos(parser->context_mark).col);
	if (parser->context && parser->error != YAML_READER_ERROR)
		return topo_fail(p, pos, "invalid YAML: %s (%s at %d:%d)",
		                 parser->problem ? parser->problem : "syntax error",
		                 parser->context, topo_mark_pos(parser->context_mark).line,
		                 topo_mark_pos(parser->context_mark).col);
	return topo_fail(p, pos, "invalid YAML: %s",
	                 parser->problem ? parser->problem : "syntax error");
}
