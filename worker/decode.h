/*
 * decode: PgQ logutriga events into values, and values into COPY text format.
 *
 * No I/O and no database: everything here works on bytes and is unit-tested by
 * tests/unit/test_decode.c. See docs/worker.md for the event format.
 */
#ifndef SKY_DECODE_H
#define SKY_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"
#include "sky_mem.h"

/*
 * One event as fetched from the provider, every column in text form, borrowed from the
 * result it came from; NULL is SQL NULL.
 */
struct sky_event {
	const char *id;
	const char *time;
	const char *txid;
	const char *retry;
	const char *type;
	const char *data;
	const char *extra1;
	const char *extra2;
	const char *extra3;
	const char *extra4;
};

/* The ev_type of a row event says what happened to the row. */
enum sky_ev_kind {
	SKY_EV_INSERT,   /* "I:pk1,pk2" */
	SKY_EV_UPDATE,   /* "U:pk1,pk2" */
	SKY_EV_DELETE,   /* "D:pk1,pk2" */
	SKY_EV_TRUNCATE, /* "R" */
	SKY_EV_OTHER     /* anything else: not a row event (e.g. "pgq_set.watermark") */
};

struct sky_ev_type {
	enum sky_ev_kind kind;
	char op;        /* 'I', 'U', 'D', 'R', or 0 for SKY_EV_OTHER */
	const char *pk; /* borrowed from the ev_type string: the primary key list, not encoded */
	size_t pk_len;
};

/*
 * Parse ev_type (may be NULL: SKY_EV_OTHER). A row event must carry a non-empty primary
 * key list ("I" alone is PgQ's sqltriga format, which is refused). out->pk points into
 * ev_type: valid as long as ev_type is.
 */
int sky_ev_type_parse(struct sky_ev_type *out, const char *ev_type, struct sky_error *err);

/*
 * One column of an urlencoded row, as it appears in ev_data: still encoded, borrowed from
 * the ev_data string. value is NULL when the column is SQL NULL ("name" without '=');
 * "name=" is the empty string (value != NULL, value_len == 0).
 */
struct sky_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* A row split into fields. Reuse one sky_row for many events: memory stays flat. */
struct sky_row {
	struct sky_field *fields;
	size_t n;
	size_t cap;
};

void sky_row_init(struct sky_row *row);
void sky_row_release(struct sky_row *row);

/*
 * Split ev_data ("a=1&b&c=x+y") into fields. Does not decode: the fields borrow from
 * data, valid as long as data is. An empty row or an empty column name is an error.
 */
int sky_row_parse(struct sky_row *row, const char *data, size_t len, struct sky_error *err);

/*
 * Append the urldecoded bytes of s[0..len) to out: '+' is a space, %XX a byte (either hex
 * case). A malformed escape or a NUL byte is an error; out may then hold a partial value.
 */
int sky_urldecode_append(struct sky_buf *out, const char *s, size_t len, struct sky_error *err);

/* Like sky_urldecode_append, but the decoded bytes are escaped for COPY text format. */
int sky_urldecode_copy_append(struct sky_buf *out, const char *s, size_t len,
                              struct sky_error *err);

/*
 * Append s[0..len) escaped for COPY text format (backslash, tab, newline, carriage return
 * and the other control characters COPY would misread).
 */
void sky_copy_escape_append(struct sky_buf *out, const char *s, size_t len);

/* Append a COPY text field: s escaped, or \N when s is NULL. */
void sky_copy_field_append(struct sky_buf *out, const char *s);

/* Append a COPY text row: the n fields (NULL entries are \N), tab-separated, and a newline. */
void sky_copy_row_append(struct sky_buf *out, const char *const *fields, size_t n);

/*
 * Map a primary key list, as logutriga writes it in ev_type (names joined by ',', not
 * encoded, so a name may itself contain ','), onto the decoded column names of a row.
 * On success out[0..*out_n) are column indexes in key order (out has room for ncols).
 * Error when the list does not split into distinct column names.
 */
int sky_pk_resolve(size_t *out, size_t *out_n, const char *pk, size_t pk_len,
                   const char *const *names, size_t ncols, struct sky_error *err);

/*
 * A txid_snapshot as PostgreSQL prints it: "xmin:xmax:xip1,xip2,...". Owns xip (release
 * with sky_snapshot_release).
 */
struct sky_snapshot {
	long long xmin;
	long long xmax;
	long long *xip;
	size_t nxip;
};

/* Parse text into out (out is overwritten; release it afterwards). */
int sky_snapshot_parse(struct sky_snapshot *out, const char *text, struct sky_error *err);
void sky_snapshot_release(struct sky_snapshot *snap);

/* txid_visible_in_snapshot(): committed before the snapshot was taken. */
bool sky_snapshot_visible(const struct sky_snapshot *snap, long long txid);

#endif
