/*
 * decode: logutriga events (ev_type, urlencoded ev_data) and COPY text escaping. No I/O.
 */
#include "decode.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int sky_ev_type_parse(struct sky_ev_type *out, const char *ev_type, struct sky_error *err)
{
	int ret = -1;
	char op;

	out->kind = SKY_EV_OTHER;
	out->op = 0;
	out->pk = NULL;
	out->pk_len = 0;
	if (!ev_type || !ev_type[0] || (ev_type[1] != ':' && ev_type[1] != '\0')) {
		ret = 0;
		goto out;
	}
	op = ev_type[0];
	if (op == 'R' && ev_type[1] == '\0') {
		out->kind = SKY_EV_TRUNCATE;
		out->op = 'R';
		ret = 0;
		goto out;
	}
	if (op != 'I' && op != 'U' && op != 'D') {
		ret = 0;
		goto out;
	}
	if (ev_type[1] != ':' || ev_type[2] == '\0') {
		sky_error_set(err,
		              "event type \"%s\" has no primary key list (only logutriga events "
		              "are supported)",
		              ev_type);
		goto out;
	}
	out->kind = op == 'I' ? SKY_EV_INSERT : op == 'U' ? SKY_EV_UPDATE : SKY_EV_DELETE;
	out->op = op;
	out->pk = ev_type + 2;
	out->pk_len = strlen(out->pk);
	ret = 0;
out:
	return ret;
}

void sky_row_init(struct sky_row *row)
{
	row->fields = NULL;
	row->n = 0;
	row->cap = 0;
}

void sky_row_release(struct sky_row *row)
{
	free(row->fields);
	sky_row_init(row);
}

static void row_push(struct sky_row *row, const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
	struct sky_field *f;

	if (row->n == row->cap) {
		row->cap = row->cap ? row->cap * 2 : 16;
		row->fields = sky_realloc(row->fields, row->cap * sizeof(*row->fields));
	}
	f = &row->fields[row->n++];
	f->name = name;
	f->name_len = name_len;
	f->value = value;
	f->value_len = value_len;
}

int sky_row_parse(struct sky_row *row, const char *data, size_t len, struct sky_error *err)
{
	int ret = -1;
	const char *p = data, *end = data + len;

	row->n = 0;
	if (!data || len == 0) {
		sky_error_set(err, "row data is empty");
		goto out;
	}
	while (p <= end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *part_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(part_end - p));
		const char *name_end = eq ? eq : part_end;

		if (name_end == p) {
			sky_error_set(err, "row data has an empty column name at offset %zu",
			              (size_t)(p - data));
			goto out;
		}
		if (eq)
			row_push(row, p, (size_t)(name_end - p), eq + 1,
			         (size_t)(part_end - eq - 1));
		else
			row_push(row, p, (size_t)(name_end - p), NULL, 0);
		p = part_end + 1;
	}
	ret = 0;
out:
	return ret;
}

static int hexval(char c)
{
	int v = -1;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v;
}

/* Decode one %XX escape at s[i] (s[i] == '%'); -1 when malformed or a NUL byte. */
static int decode_escape(const char *s, size_t len, size_t i, struct sky_error *err)
{
	int ret = -1;
	int hi, lo;

	if (i + 2 >= len) {
		sky_error_set(err, "truncated %% escape at offset %zu", i);
		goto out;
	}
	hi = hexval(s[i + 1]);
	lo = hexval(s[i + 2]);
	if (hi < 0 || lo < 0) {
		sky_error_set(err, "invalid %% escape \"%%%c%c\" at offset %zu", s[i + 1], s[i + 2],
		              i);
		goto out;
	}
	if (hi == 0 && lo == 0) {
		sky_error_set(err, "NUL byte (%%00) at offset %zu", i);
		goto out;
	}
	ret = hi * 16 + lo;
out:
	return ret;
}

int sky_urldecode_append(struct sky_buf *out, const char *s, size_t len, struct sky_error *err)
{
	int ret = -1;
	size_t i;

	sky_buf_grow(out, len);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			out->data[out->len++] = ' ';
		} else if (c == '%') {
			int b = decode_escape(s, len, i, err);

			if (b < 0)
				goto out;
			out->data[out->len++] = (char)b;
			i += 2;
		} else {
			out->data[out->len++] = c;
		}
	}
	ret = 0;
out:
	out->data[out->len] = '\0';
	return ret;
}

/* Append one decoded byte in COPY text form. The buffer has room for 2 more bytes. */
static inline void copy_byte(struct sky_buf *out, char c)
{
	switch (c) {
	case '\\':
		out->data[out->len++] = '\\';
		out->data[out->len++] = '\\';
		break;
	case '\t':
		out->data[out->len++] = '\\';
		out->data[out->len++] = 't';
		break;
	case '\n':
		out->data[out->len++] = '\\';
		out->data[out->len++] = 'n';
		break;
	case '\r':
		out->data[out->len++] = '\\';
		out->data[out->len++] = 'r';
		break;
	default:
		out->data[out->len++] = c;
	}
}

int sky_urldecode_copy_append(struct sky_buf *out, const char *s, size_t len, struct sky_error *err)
{
	int ret = -1;
	size_t i;

	/* worst case: every input byte becomes an escaped pair */
	sky_buf_grow(out, 2 * len);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			out->data[out->len++] = ' ';
		} else if (c == '%') {
			int b = decode_escape(s, len, i, err);

			if (b < 0)
				goto out;
			copy_byte(out, (char)b);
			i += 2;
		} else {
			copy_byte(out, c);
		}
	}
	ret = 0;
out:
	out->data[out->len] = '\0';
	return ret;
}

void sky_copy_escape_append(struct sky_buf *out, const char *s, size_t len)
{
	size_t i;

	sky_buf_grow(out, 2 * len);
	for (i = 0; i < len; i++)
		copy_byte(out, s[i]);
	out->data[out->len] = '\0';
}

void sky_copy_field_append(struct sky_buf *out, const char *s)
{
	if (s)
		sky_copy_escape_append(out, s, strlen(s));
	else
		sky_buf_add(out, "\\N", 2);
}

void sky_copy_row_append(struct sky_buf *out, const char *const *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			sky_buf_addch(out, '\t');
		sky_copy_field_append(out, fields[i]);
	}
	sky_buf_addch(out, '\n');
}

/*
 * Backtracking split of pk[pos..len) into distinct column names; on success out[0..*n) are
 * the indexes. Key lists are short and a ',' inside a key column name is rare, so the
 * search is tiny in practice.
 */
static bool pk_split(size_t *out, size_t *n, size_t depth, bool *used, const char *pk, size_t pos,
                     size_t len, const char *const *names, size_t ncols)
{
	bool found = false;
	size_t i;

	for (i = 0; i < ncols && !found; i++) {
		size_t nl = strlen(names[i]);

		if (used[i] || nl == 0 || pos + nl > len || memcmp(pk + pos, names[i], nl) != 0)
			continue;
		out[depth] = i;
		if (pos + nl == len) {
			*n = depth + 1;
			found = true;
		} else if (pk[pos + nl] == ',' && pos + nl + 1 < len) {
			used[i] = true;
			found =
			    pk_split(out, n, depth + 1, used, pk, pos + nl + 1, len, names, ncols);
			used[i] = false;
		}
	}
	return found;
}

int sky_pk_resolve(size_t *out, size_t *out_n, const char *pk, size_t pk_len,
                   const char *const *names, size_t ncols, struct sky_error *err)
{
	int ret = -1;
	bool *used = sky_calloc(ncols ? ncols : 1, sizeof(bool));
	size_t *idx = sky_calloc(ncols ? ncols : 1, sizeof(size_t));
	size_t n = 0;

	if (pk_len == 0 || !pk_split(idx, &n, 0, used, pk, 0, pk_len, names, ncols)) {
		sky_error_set(err, "primary key list \"%.*s\" does not match the row's columns",
		              (int)pk_len, pk ? pk : "");
		goto out;
	}
	memcpy(out, idx, n * sizeof(size_t));
	*out_n = n;
	ret = 0;
out:
	free(used);
	free(idx);
	return ret;
}

/* Parse a non-negative decimal number at *p, moving *p past it. */
static int parse_txid(long long *out, const char **p)
{
	int ret = -1;
	long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		goto out;
	while (*s >= '0' && *s <= '9') {
		if (v > (LLONG_MAX - (*s - '0')) / 10)
			goto out;
		v = v * 10 + (*s - '0');
		s++;
	}
	*out = v;
	*p = s;
	ret = 0;
out:
	return ret;
}

int sky_snapshot_parse(struct sky_snapshot *out, const char *text, struct sky_error *err)
{
	int ret = -1;
	const char *p = text ? text : "";
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (parse_txid(&out->xmin, &p) < 0 || *p++ != ':' || parse_txid(&out->xmax, &p) < 0 ||
	    *p++ != ':' || out->xmin > out->xmax)
		goto bad;
	while (*p) {
		long long x;

		if (parse_txid(&x, &p) < 0 || x < out->xmin || x >= out->xmax)
			goto bad;
		if (out->nxip == cap) {
			cap = cap ? cap * 2 : 8;
			out->xip = sky_realloc(out->xip, cap * sizeof(*out->xip));
		}
		out->xip[out->nxip++] = x;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	ret = 0;
	goto out;
bad:
	sky_error_set(err, "invalid snapshot \"%s\"", text ? text : "");
	sky_snapshot_release(out);
out:
	return ret;
}

void sky_snapshot_release(struct sky_snapshot *snap)
{
	free(snap->xip);
	memset(snap, 0, sizeof(*snap));
}

bool sky_snapshot_visible(const struct sky_snapshot *snap, long long txid)
{
	bool visible = txid < snap->xmax;
	size_t i;

	for (i = 0; visible && txid >= snap->xmin && i < snap->nxip; i++) {
		if (snap->xip[i] == txid)
			visible = false;
	}
	return visible;
}
