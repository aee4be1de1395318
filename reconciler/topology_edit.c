/*
 * topology_edit: the failover decision as a minimal edit of topology.yaml's text (see
 * topology_edit.h and docs/reconciler.md, "Writing a decision back to git").
 *
 * The text is loaded with libyaml, whose nodes keep the marks of their first and last character
 * (libyaml counts characters, not bytes, and skips a UTF-8 byte order mark: char_at() maps a
 * mark to a byte offset). What changes is found by comparing the topology the text gives with
 * the proposed one, node by node: only role, provider and dead may differ. Each change becomes
 * an edit of a byte range of the original text:
 *  - a value that is there: its scalar is replaced, in the same quoting style (in a flow
 *    mapping aligned with spaces, the next key keeps its column);
 *  - a key that is missing: a new pair after the mapping's last one, on its own line with the
 *    mapping's indentation and the line's own line ending (block), or ", key: value" before
 *    the closing brace (flow; one per line when the mapping is written one pair per line);
 *  - a key to remove: its whole line (block), or the pair and one comma (flow).
 * The edited text is parsed again and must give exactly the proposed topology, so a file whose
 * shape this does not understand (anchors and aliases, explicit keys, block scalars) is an
 * error rather than a wrong edit.
 */
#include "topology_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "policy.h"
#include "sky_mem.h"

/* One replacement of the bytes [start, end) of the original text by text (owned). */
struct edit {
	size_t start;
	size_t end;
	char *text;
};

struct editor {
	const char *file;
	const char *text;
	size_t len;
	size_t *chars; /* byte offset of each character libyaml counts, then len */
	size_t n_chars;
	yaml_document_t *doc;
	int *refs; /* per node index (1-based): how many times the node is referenced */
	struct edit *edits;
	size_t n_edits;
	struct sky_error *err;
};

/* Byte offset of a libyaml mark. */
static size_t mark_byte(const struct editor *e, yaml_mark_t m)
{
	return m.index < e->n_chars ? e->chars[m.index] : e->len;
}

static yaml_node_t *ynode(const struct editor *e, int index)
{
	return yaml_document_get_node(e->doc, index);
}

static void edit_add(struct editor *e, size_t start, size_t end, char *text)
{
	e->edits = sky_realloc(e->edits, (e->n_edits + 1) * sizeof(*e->edits));
	e->edits[e->n_edits++] = (struct edit){.start = start, .end = end, .text = text};
}

/* "\r\n" when the line holding byte pos ends with CR LF, "\n" otherwise (also at the end). */
static const char *line_eol(const struct editor *e, size_t pos)
{
	const char *nl = memchr(e->text + pos, '\n', e->len - pos);

	if (!nl) {
		/* the last line has no line ending: use the file's first one */
		nl = memchr(e->text, '\n', e->len);
		if (!nl)
			return "\n";
	}
	return nl > e->text && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* The offset just after the line ending of the line holding pos (len when it has none). */
static size_t line_next(const struct editor *e, size_t pos)
{
	const char *nl = memchr(e->text + pos, '\n', e->len - pos);

	return nl ? (size_t)(nl - e->text) + 1 : e->len;
}

/* The offset of the start of the line holding pos. */
static size_t line_start(const struct editor *e, size_t pos)
{
	while (pos > 0 && e->text[pos - 1] != '\n')
		pos--;
	return pos;
}

/*
 * Where a value's text ends. A scalar or a flow collection ends at its end mark; a block
 * collection's end mark is where the next token starts (maybe lines later, after comments),
 * so its end is the end of its last entry.
 */
static size_t node_end(const struct editor *e, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE && n->data.mapping.style == YAML_BLOCK_MAPPING_STYLE &&
	    n->data.mapping.pairs.top > n->data.mapping.pairs.start)
		return node_end(e, ynode(e, n->data.mapping.pairs.top[-1].value));
	if (n->type == YAML_SEQUENCE_NODE && n->data.sequence.style == YAML_BLOCK_SEQUENCE_STYLE &&
	    n->data.sequence.items.top > n->data.sequence.items.start)
		return node_end(e, ynode(e, n->data.sequence.items.top[-1]));
	if (n->type == YAML_SCALAR_NODE && (n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	                                    n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE)) {
		/* a block scalar ends where the next token starts: back to its last character */
		size_t start = mark_byte(e, n->start_mark), end = mark_byte(e, n->end_mark);

		while (end > start && strchr(" \t\r\n", e->text[end - 1]))
			end--;
		return end;
	}
	return mark_byte(e, n->end_mark);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The pair of map whose key is the scalar key, NULL when there is none. */
static yaml_node_pair_t *pair_find(const struct editor *e, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(ynode(e, p->key));

		if (k && strcmp(k, key) == 0)
			return p;
	}
	return NULL;
}

/* True when n or anything under it is referenced more than once (an anchor with aliases). */
static bool shared(const struct editor *e, int index)
{
	yaml_node_t *n = ynode(e, index);

	if (e->refs[index] > 1)
		return true;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++)
			if (shared(e, p->key) || shared(e, p->value))
				return true;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (shared(e, *it))
				return true;
	}
	return false;
}

static void count_refs(struct editor *e)
{
	int n = (int)(e->doc->nodes.top - e->doc->nodes.start);

	e->refs = sky_calloc((size_t)n + 1, sizeof(*e->refs));
	for (int i = 1; i <= n; i++) {
		yaml_node_t *y = ynode(e, i);

		if (y->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = y->data.mapping.pairs.start;
			     p < y->data.mapping.pairs.top; p++) {
				e->refs[p->key]++;
				e->refs[p->value]++;
			}
		} else if (y->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = y->data.sequence.items.start;
			     it < y->data.sequence.items.top; it++)
				e->refs[*it]++;
		}
	}
}

/* The value text in the style of the scalar it replaces (names and booleans need no escape). */
static char *styled(const yaml_node_t *old, const char *value, bool plain_only)
{
	if (!plain_only && old && old->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE)
		return sky_asprintf("'%s'", value);
	if (!plain_only && old && old->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		return sky_asprintf("\"%s\"", value);
	return sky_strdup(value);
}

/* After a flow value ending at pos: the offset of the comma that follows it, or 0 for none. */
static size_t flow_comma(const struct editor *e, size_t pos, size_t close)
{
	while (pos < close) {
		char c = e->text[pos];

		if (c == ',')
			return pos;
		if (c == '#') {
			pos = line_next(e, pos);
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return 0;
		pos++;
	}
	return 0;
}

static bool same_line(const struct editor *e, size_t a, size_t b)
{
	return memchr(e->text + a, '\n', b - a) == NULL;
}

/* Add "key: value" to the mapping map of node `node`. */
static int pair_insert(struct editor *e, const char *node, yaml_node_t *map, const char *key,
                       const char *value)
{
	size_t n_pairs = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	yaml_node_pair_t *last = n_pairs ? map->data.mapping.pairs.top - 1 : NULL;

	if (map->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
		size_t close = mark_byte(e, map->end_mark);
		size_t open = mark_byte(e, map->start_mark);
		size_t vend, comma, kpos;
		const char *eol;
		int indent;

		if (close == 0 || close > e->len || e->text[close - 1] != '}')
			return sky_error_set(e->err,
			                     "%s: could not find the closing brace of node \"%s\"",
			                     e->file, node);
		close--;
		if (!last) {
			edit_add(e, close, close, sky_asprintf("%s: %s", key, value));
			return 0;
		}
		vend = node_end(e, ynode(e, last->value));
		kpos = mark_byte(e, ynode(e, last->key)->start_mark);
		comma = flow_comma(e, vend, close);
		if (same_line(e, open, kpos) || same_line(e, vend, close)) {
			/* written on one line (or closed on the last pair's line) */
			if (comma)
				edit_add(e, comma + 1, comma + 1,
				         sky_asprintf(" %s: %s,", key, value));
			else
				edit_add(e, vend, vend, sky_asprintf(", %s: %s", key, value));
			return 0;
		}
		/* one pair per line: a new line with the last key's indentation */
		indent = (int)ynode(e, last->key)->start_mark.column;
		eol = line_eol(e, kpos);
		if (comma) {
			edit_add(e, line_next(e, comma), line_next(e, comma),
			         sky_asprintf("%*s%s: %s,%s", indent, "", key, value, eol));
		} else {
			edit_add(e, vend, vend, sky_strdup(","));
			edit_add(e, line_next(e, vend), line_next(e, vend),
			         sky_asprintf("%*s%s: %s%s", indent, "", key, value, eol));
		}
		return 0;
	}

	/* block style: a new line after the last pair's, indented like the keys */
	{
		size_t vend, at;
		int indent;

		if (!last)
			return sky_error_set(e->err, "%s: node \"%s\" is an empty mapping", e->file,
			                     node);
		indent = (int)ynode(e, last->key)->start_mark.column;
		vend = node_end(e, ynode(e, last->value));
		at = line_next(e, vend);
		if (at == e->len && (e->len == 0 || e->text[e->len - 1] != '\n'))
			edit_add(
			    e, at, at,
			    sky_asprintf("%s%*s%s: %s", line_eol(e, vend), indent, "", key, value));
		else
			edit_add(
			    e, at, at,
			    sky_asprintf("%*s%s: %s%s", indent, "", key, value, line_eol(e, vend)));
	}
	return 0;
}

/* True when an edit already made touches the bytes [a, b]. */
static bool edits_touch(const struct editor *e, size_t a, size_t b)
{
	for (size_t i = 0; i < e->n_edits; i++)
		if (e->edits[i].start <= b && e->edits[i].end >= a)
			return true;
	return false;
}

/*
 * True when the word at pos (a key, up to its colon) starts at the same column on the line
 * before or after: the file aligns its flow mappings in columns.
 */
static bool aligned(const struct editor *e, size_t pos)
{
	size_t ls = line_start(e, pos), col = pos - ls, wlen = 0;

	while (pos + wlen < e->len && e->text[pos + wlen] != ':' && e->text[pos + wlen] != '\n')
		wlen++;
	if (wlen == 0 || pos + wlen >= e->len || e->text[pos + wlen] != ':')
		return false;
	for (int dir = -1; dir <= 1; dir += 2) {
		size_t other;

		if (dir < 0) {
			if (ls == 0)
				continue;
			other = line_start(e, ls - 1);
		} else {
			other = line_next(e, pos);
			if (other >= e->len)
				continue;
		}
		if (other + col + wlen < e->len &&
		    memchr(e->text + other, '\n', col + wlen) == NULL &&
		    memcmp(e->text + other + col, e->text + pos, wlen + 1) == 0)
			return true;
	}
	return false;
}

/* Set key to value in node's mapping: replace the scalar, or add the pair. */
static int pair_set(struct editor *e, const char *node, yaml_node_t *map, const char *key,
                    const char *value, bool plain_only)
{
	yaml_node_pair_t *p = pair_find(e, map, key);
	size_t start, end;
	yaml_node_t *v;
	char *text;

	if (!p)
		return pair_insert(e, node, map, key, value);
	v = ynode(e, p->value);
	if (v->type != YAML_SCALAR_NODE || v->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	    v->data.scalar.style == YAML_FOLDED_SCALAR_STYLE ||
	    mark_byte(e, v->start_mark) >= mark_byte(e, v->end_mark))
		return sky_error_set(e->err,
		                     "%s:%zu:%zu: cannot edit \"%s\" of node \"%s\" (expected a "
		                     "plain or quoted scalar): make the failover edit by hand",
		                     e->file, v->start_mark.line + 1, v->start_mark.column + 1, key,
		                     node);
	start = mark_byte(e, v->start_mark);
	end = mark_byte(e, v->end_mark);
	text = styled(v, value, plain_only);
	if (map->data.mapping.style == YAML_FLOW_MAPPING_STYLE && end < e->len &&
	    e->text[end] == ',') {
		/* keep the next key's column when the pairs were aligned with spaces */
		size_t k = strspn(e->text + end + 1, " ");
		long pad = (long)k + (long)(end - start) - (long)strlen(text);

		if ((k > 1 || aligned(e, end + 1 + k)) && !edits_touch(e, end, end + 1 + k)) {
			char *t = sky_asprintf("%s,%*s", text, (int)(pad < 1 ? 1 : pad), "");

			free(text);
			text = t;
			end += 1 + k;
		}
	}
	edit_add(e, start, end, text);
	return 0;
}

/* Remove key from node's mapping (nothing when it is not there). */
static int pair_remove(struct editor *e, const char *node, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p = pair_find(e, map, key);
	yaml_node_pair_t *first = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	yaml_node_t *k;
	size_t kstart, ls, vend;

	if (!p)
		return 0;
	k = ynode(e, p->key);
	kstart = mark_byte(e, k->start_mark);
	vend = node_end(e, ynode(e, p->value));
	if (map->data.mapping.style == YAML_FLOW_MAPPING_STYLE) {
		if (p + 1 < top)
			edit_add(e, kstart, mark_byte(e, ynode(e, p[1].key)->start_mark),
			         sky_strdup(""));
		else if (p > first)
			edit_add(e, node_end(e, ynode(e, p[-1].value)), vend, sky_strdup(""));
		else
			edit_add(e, kstart, vend, sky_strdup(""));
		return 0;
	}
	/* block style: the key starts its line; the pair's lines go */
	ls = line_start(e, kstart);
	for (size_t i = ls; i < kstart; i++)
		if (e->text[i] != ' ')
			return sky_error_set(
			    e->err,
			    "%s:%zu:%zu: cannot remove \"%s\" of node \"%s\" (expected "
			    "the key at the start of its line): make the failover "
			    "edit by hand",
			    e->file, k->start_mark.line + 1, k->start_mark.column + 1, key, node);
	edit_add(e, ls, line_next(e, vend), sky_strdup(""));
	return 0;
}

static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* The original text with the edits applied (caller frees), or NULL when two overlap. */
static char *edits_apply(struct editor *e)
{
	struct sky_buf b;
	size_t pos = 0;

	qsort(e->edits, e->n_edits, sizeof(*e->edits), edit_cmp);
	sky_buf_init(&b);
	for (size_t i = 0; i < e->n_edits; i++) {
		if (e->edits[i].start < pos) {
			sky_buf_release(&b);
			return NULL;
		}
		sky_buf_add(&b, e->text + pos, e->edits[i].start - pos);
		sky_buf_adds(&b, e->edits[i].text);
		pos = e->edits[i].end;
	}
	sky_buf_add(&b, e->text + pos, e->len - pos);
	return sky_buf_detach(&b);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The edits for one node whose role, provider or dead differ. */
static int node_edit(struct editor *e, yaml_node_t *nodes, const struct topo_node *was,
                     const struct topo_node *want)
{
	yaml_node_pair_t *p = pair_find(e, nodes, was->name);
	yaml_node_t *map;

	if (!p)
		return sky_error_set(e->err, "%s: node \"%s\" not found in the text", e->file,
		                     was->name);
	map = ynode(e, p->value);
	if (map->type != YAML_MAPPING_NODE)
		return sky_error_set(e->err, "%s: node \"%s\" is not a mapping", e->file,
		                     was->name);
	if (shared(e, p->value))
		return sky_error_set(e->err,
		                     "%s:%zu:%zu: node \"%s\" uses YAML anchors or aliases: make "
		                     "the failover edit by hand",
		                     e->file, map->start_mark.line + 1, map->start_mark.column + 1,
		                     was->name);
	/* a removal first: a value set next to it then leaves the spacing it touches alone */
	if (!str_eq(was->provider, want->provider) && !want->provider &&
	    pair_remove(e, was->name, map, "provider") < 0)
		return -1;
	if (was->role != want->role &&
	    pair_set(e, was->name, map, "role", sky_role_name(want->role), false) < 0)
		return -1;
	if (!str_eq(was->provider, want->provider) && want->provider &&
	    pair_set(e, was->name, map, "provider", want->provider, false) < 0)
		return -1;
	if (was->dead != want->dead) {
		if (!want->dead) {
			if (pair_remove(e, was->name, map, "dead") < 0)
				return -1;
		} else if (pair_set(e, was->name, map, "dead", "true", true) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Only role, provider and dead may differ between a node and its proposed version. */
static bool node_other_fields_equal(const struct topo_node *a, const struct topo_node *b)
{
	return str_eq(a->name, b->name) && str_eq(a->dsn, b->dsn) && a->paused == b->paused &&
	       str_eq(a->renamed_from, b->renamed_from) && a->parallel_copies == b->parallel_copies;
}

int topology_edit_failover(char **out, const char *file, const char *text, size_t len,
                           const struct policy_decision *d, struct sky_error *err)
{
	struct editor e = {.file = file, .text = text, .len = len, .err = err};
	struct topology *was = NULL, *now = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	yaml_node_t *top, *nodes;
	yaml_node_pair_t *np;
	char *result = NULL;
	char why[256];
	size_t start = 0;
	int ret = -1;

	if (!d || !d->dead || !d->chosen || !d->proposed) {
		sky_error_set(err, "%s: no failover decision to write (no node was chosen)", file);
		goto out;
	}
	if (topology_load_string(&was, file, text, len, err) < 0)
		goto out;
	if (was->n_nodes != d->proposed->n_nodes) {
		sky_error_set(err, "%s: the decision adds or removes nodes (not a failover edit)",
		              file);
		goto out;
	}

	/* libyaml counts characters after a UTF-8 byte order mark; map them to bytes */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	e.chars = sky_malloc((len - start + 1) * sizeof(*e.chars));
	for (size_t i = start; i < len; i++)
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			e.chars[e.n_chars++] = i;
	e.chars[e.n_chars++] = len;

	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "out of memory (libyaml)\n");
		abort();
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		sky_error_set(err, "%s: invalid YAML", file); /* topology_load_string said why */
		goto out;
	}
	have_doc = true;
	e.doc = &doc;
	count_refs(&e);
	top = yaml_document_get_root_node(&doc);
	np = top && top->type == YAML_MAPPING_NODE ? pair_find(&e, top, "nodes") : NULL;
	nodes = np ? ynode(&e, np->value) : NULL;
	if (!nodes || nodes->type != YAML_MAPPING_NODE) {
		sky_error_set(err, "%s: no \"nodes\" mapping", file);
		goto out;
	}

	for (size_t i = 0; i < was->n_nodes; i++) {
		const struct topo_node *a = &was->nodes[i];
		const struct topo_node *b = topology_node(d->proposed, a->name);

		if (!b || !node_other_fields_equal(a, b)) {
			sky_error_set(err,
			              "%s: the decision changes node \"%s\" beyond role, provider "
			              "and dead (not a failover edit)",
			              file, a->name);
			goto out;
		}
		if ((a->role != b->role || !str_eq(a->provider, b->provider) ||
		     a->dead != b->dead) &&
		    node_edit(&e, nodes, a, b) < 0)
			goto out;
	}
	result = edits_apply(&e);
	if (!result) {
		sky_error_set(err, "%s: the edits for the failover overlap: make it by hand", file);
		goto out;
	}
	if (topology_load_string(&now, file, result, strlen(result), err) < 0) {
		sky_error_prefix(err, "the edited file does not parse");
		goto out;
	}
	if (!topology_equal(now, d->proposed, why, sizeof(why))) {
		sky_error_set(err, "%s: the edited file does not express the decision: %s", file,
		              why);
		goto out;
	}
	*out = result;
	result = NULL;
	ret = 0;
out:
	free(result);
	for (size_t i = 0; i < e.n_edits; i++)
		free(e.edits[i].text);
	free(e.edits);
	free(e.refs);
	free(e.chars);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	topology_free(was);
	topology_free(now);
	return ret;
}

/* ---- equality ---- */

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		if (why)                                                                           \
			snprintf(why, why_len, __VA_ARGS__);                                       \
		return false;                                                                      \
	} while (0)

static bool names_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

bool topology_equal(const struct topology *a, const struct topology *b, char *why, size_t why_len)
{
	const struct topo_failover *fa = &a->failover, *fb = &b->failover;

	if (!str_eq(a->cascade, b->cascade))
		DIFF("cascade differs");
	if (a->n_nodes != b->n_nodes)
		DIFF("%zu nodes instead of %zu", a->n_nodes, b->n_nodes);
	for (size_t i = 0; i < a->n_nodes; i++) {
		const struct topo_node *x = &a->nodes[i], *y = &b->nodes[i];

		if (!str_eq(x->name, y->name))
			DIFF("node %zu is \"%s\" instead of \"%s\"", i + 1, x->name, y->name);
		if (x->role != y->role)
			DIFF("node \"%s\" is a %s instead of a %s", x->name, sky_role_name(x->role),
			     sky_role_name(y->role));
		if (!str_eq(x->provider, y->provider))
			DIFF("node \"%s\" has provider %s instead of %s", x->name,
			     x->provider ? x->provider : "(none)",
			     y->provider ? y->provider : "(none)");
		if (x->dead != y->dead)
			DIFF("node \"%s\" is %s", x->name, x->dead ? "dead" : "not dead");
		if (!str_eq(x->dsn, y->dsn)) /* never show a dsn */
			DIFF("node \"%s\" has another dsn", x->name);
		if (x->paused != y->paused || !str_eq(x->renamed_from, y->renamed_from) ||
		    x->parallel_copies != y->parallel_copies)
			DIFF("node \"%s\" differs in paused, renamed_from or parallel_copies",
			     x->name);
	}
	if (a->n_tables != b->n_tables)
		DIFF("%zu tables instead of %zu", a->n_tables, b->n_tables);
	for (size_t i = 0; i < a->n_tables; i++) {
		const struct topo_table *x = &a->tables[i], *y = &b->tables[i];

		if (!str_eq(x->schema, y->schema) || !str_eq(x->relname, y->relname) ||
		    !str_eq(x->name, y->name) || x->create != y->create ||
		    (x->nodes == NULL) != (y->nodes == NULL) || /* NULL: every node */
		    !names_equal(x->nodes, x->n_nodes, y->nodes, y->n_nodes))
			DIFF("table \"%s\" differs", x->name);
	}
	if (a->parallel_copies != b->parallel_copies)
		DIFF("settings.parallel_copies differs");
	if (a->ticker_max_count != b->ticker_max_count ||
	    a->has_ticker_max_lag != b->has_ticker_max_lag ||
	    (a->has_ticker_max_lag && a->ticker_max_lag_ms != b->ticker_max_lag_ms) ||
	    a->ticker_idle_period_ms != b->ticker_idle_period_ms)
		DIFF("settings.ticker_* differ");
	if (!names_equal(a->sequences, a->n_sequences, b->sequences, b->n_sequences))
		DIFF("sequences differ");
	if (fa->present != fb->present || fa->automatic != fb->automatic ||
	    fa->detect_after != fb->detect_after || fa->witnesses != fb->witnesses ||
	    fa->max_lag_ticks != fb->max_lag_ticks || fa->max_failovers != fb->max_failovers ||
	    fa->window != fb->window || fa->n_candidates != fb->n_candidates ||
	    !names_equal(fa->never, fa->n_never, fb->never, fb->n_never))
		DIFF("the failover policy differs");
	for (size_t i = 0; i < fa->n_candidates; i++)
		if (!str_eq(fa->candidates[i].node, fb->candidates[i].node) ||
		    fa->candidates[i].priority != fb->candidates[i].priority)
			DIFF("the failover candidates differ");
	return true;
}
