/*
 * Unit tests of worker/decode.c: logutriga event decoding and COPY text escaping.
 * No database.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "queuecopy.h"

/* urldecode s into a new string (caller frees), or NULL on error (message in err) */
static char *decode(const char *s, struct sky_error *err)
{
	struct sky_buf b;

	sky_buf_init(&b);
	if (sky_urldecode_append(&b, s, strlen(s), err) < 0) {
		sky_buf_release(&b);
		return NULL;
	}
	return sky_buf_detach(&b);
}

/* urldecode s straight into COPY text form */
static char *decode_copy(const char *s, struct sky_error *err)
{
	struct sky_buf b;

	sky_buf_init(&b);
	if (sky_urldecode_copy_append(&b, s, strlen(s), err) < 0) {
		sky_buf_release(&b);
		return NULL;
	}
	return sky_buf_detach(&b);
}

#define ck_decode(in, want)                                                                        \
	do {                                                                                       \
		struct sky_error e_;                                                               \
		char *got_ = decode(in, &e_);                                                      \
		ck_assert_msg(got_ != NULL, "decode(%s) failed: %s", in, e_.message);              \
		ck_assert_str_eq(got_, want);                                                      \
		free(got_);                                                                        \
	} while (0)

/* ---------------------------------------------------------------- urldecode */

START_TEST(test_urldecode_plain)
{
	ck_decode("", "");
	ck_decode("abc", "abc");
	ck_decode("a+b", "a b");
	ck_decode("+++", "   ");
	ck_decode("%2B", "+");
	ck_decode("%2b", "+");
	ck_decode("%26", "&");
	ck_decode("%3D", "=");
	ck_decode("%3d", "=");
	ck_decode("%25", "%");
	ck_decode("a%2Bb+c", "a+b c");
}
END_TEST

START_TEST(test_urldecode_utf8)
{
	/* multibyte UTF-8, as logutriga writes it (lowercase hex) and uppercase */
	ck_decode("%c3%bc%e2%82%ac%f0%9f%98%80", "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80");
	ck_decode("%C3%BC", "\xc3\xbc");
	ck_decode("gr%c3%bc%c3%9fe", "gr\xc3\xbc\xc3\x9f"
	                             "e");
}
END_TEST

START_TEST(test_urldecode_typed_values)
{
	ck_decode("%5cx00ff", "\\x00ff");                            /* bytea */
	ck_decode("%7b1%2cNULL%2c3%7d", "{1,NULL,3}");               /* int[] with a NULL */
	ck_decode("%7b%22a%22%3a+%22b+c%22%7d", "{\"a\": \"b c\"}"); /* jsonb */
	ck_decode("-12.50", "-12.50");                               /* numeric */
	ck_decode("NaN", "NaN");
	ck_decode("2024-01-01+08%3a00%3a00%2b00", "2024-01-01 08:00:00+00"); /* timestamptz */
	ck_decode("infinity", "infinity");
	ck_decode("tab%09here%0anl%5cbs", "tab\there\nnl\\bs");
}
END_TEST

START_TEST(test_urldecode_malformed)
{
	struct sky_error err;
	char *got;
	const char *bad[] = {"%", "%2", "a%zz", "%g0", "abc%", "%0", "%00"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sky_error_clear(&err);
		got = decode(bad[i], &err);
		ck_assert_msg(got == NULL, "decode(%s) should fail", bad[i]);
		ck_assert_msg(err.message[0] != '\0', "no message for %s", bad[i]);
		got = decode_copy(bad[i], &err);
		ck_assert_msg(got == NULL, "decode_copy(%s) should fail", bad[i]);
	}
	/* embedded NUL is refused with a message saying so */
	got = decode("a%00b", &err);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(err.message, "NUL"));
}
END_TEST

/* ---------------------------------------------------------------- COPY text */

START_TEST(test_copy_escape)
{
	struct sky_buf b;
	const char raw[] = "a\tb\nc\rd\\e f";

	sky_buf_init(&b);
	sky_copy_escape_append(&b, raw, strlen(raw));
	ck_assert_str_eq(b.data, "a\\tb\\nc\\rd\\\\e f");
	sky_buf_reset(&b);
	sky_copy_field_append(&b, NULL);
	ck_assert_str_eq(b.data, "\\N");
	sky_buf_reset(&b);
	sky_copy_field_append(&b, "");
	ck_assert_str_eq(b.data, "");
	sky_buf_reset(&b);
	/* the literal text \N is not NULL */
	sky_copy_field_append(&b, "\\N");
	ck_assert_str_eq(b.data, "\\\\N");
	sky_buf_reset(&b);
	/* end-of-data marker cannot appear */
	sky_copy_field_append(&b, "\\.");
	ck_assert_str_eq(b.data, "\\\\.");
	sky_buf_release(&b);
}
END_TEST

START_TEST(test_urldecode_copy)
{
	struct sky_error err;
	char *got;

	got = decode_copy("tab%09here%0anl%5cbs%0d+x", &err);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "tab\\there\\nnl\\\\bs\\r x");
	free(got);
	got = decode_copy("%5cx00ff", &err);
	ck_assert_str_eq(got, "\\\\x00ff");
	free(got);
	got = decode_copy("%c3%bc", &err);
	ck_assert_str_eq(got, "\xc3\xbc");
	free(got);
	/* a raw backslash or tab in the encoded text (never written by logutriga) is escaped */
	got = decode_copy("a\\b\tc", &err);
	ck_assert_str_eq(got, "a\\\\b\\tc");
	free(got);
}
END_TEST

/* ---------------------------------------------------------------- rows */

START_TEST(test_row_null_vs_empty)
{
	struct sky_row row;
	struct sky_error err;
	const char *data = "id=1&nul&empty=&v=x+y";

	sky_row_init(&row);
	ck_assert_int_eq(sky_row_parse(&row, data, strlen(data), &err), 0);
	ck_assert_uint_eq(row.n, 4);
	ck_assert_uint_eq(row.fields[0].name_len, 2);
	ck_assert(memcmp(row.fields[0].name, "id", 2) == 0);
	ck_assert_uint_eq(row.fields[0].value_len, 1);
	ck_assert(row.fields[0].value[0] == '1');
	/* "nul" without '=' is SQL NULL */
	ck_assert(memcmp(row.fields[1].name, "nul", 3) == 0);
	ck_assert_ptr_null(row.fields[1].value);
	/* "empty=" is the empty string */
	ck_assert_ptr_nonnull(row.fields[2].value);
	ck_assert_uint_eq(row.fields[2].value_len, 0);
	ck_assert_uint_eq(row.fields[3].value_len, 3);
	/* the last column can be NULL too, and a row is reusable */
	ck_assert_int_eq(sky_row_parse(&row, "a=1&b", 5, &err), 0);
	ck_assert_uint_eq(row.n, 2);
	ck_assert_ptr_null(row.fields[1].value);
	ck_assert_int_eq(sky_row_parse(&row, "a", 1, &err), 0);
	ck_assert_uint_eq(row.n, 1);
	ck_assert_ptr_null(row.fields[0].value);
	sky_row_release(&row);
}
END_TEST

START_TEST(test_row_encoded_names)
{
	struct sky_row row;
	struct sky_error err;
	struct sky_buf b;
	/* logutriga's output for columns "Id A", "k,2", "x=y" and "Quote\"d" */
	const char *data = "Id+A=1&k%2c2=a+b%26c%3dd%2be%25&x%3dy=%c3%bc&Quote%22d=";

	sky_row_init(&row);
	sky_buf_init(&b);
	ck_assert_int_eq(sky_row_parse(&row, data, strlen(data), &err), 0);
	ck_assert_uint_eq(row.n, 4);
	ck_assert_int_eq(sky_urldecode_append(&b, row.fields[0].name, row.fields[0].name_len, &err),
	                 0);
	ck_assert_str_eq(b.data, "Id A");
	sky_buf_reset(&b);
	ck_assert_int_eq(sky_urldecode_append(&b, row.fields[1].name, row.fields[1].name_len, &err),
	                 0);
	ck_assert_str_eq(b.data, "k,2");
	sky_buf_reset(&b);
	ck_assert_int_eq(
	    sky_urldecode_append(&b, row.fields[1].value, row.fields[1].value_len, &err), 0);
	ck_assert_str_eq(b.data, "a b&c=d+e%");
	sky_buf_reset(&b);
	ck_assert_int_eq(sky_urldecode_append(&b, row.fields[2].name, row.fields[2].name_len, &err),
	                 0);
	ck_assert_str_eq(b.data, "x=y");
	sky_buf_reset(&b);
	ck_assert_int_eq(sky_urldecode_append(&b, row.fields[3].name, row.fields[3].name_len, &err),
	                 0);
	ck_assert_str_eq(b.data, "Quote\"d");
	sky_buf_release(&b);
	sky_row_release(&row);
}
END_TEST

START_TEST(test_row_malformed)
{
	struct sky_row row;
	struct sky_error err;
	const char *bad[] = {"", "=1", "a=1&", "a=1&&b=2", "&a=1"};
	size_t i;

	sky_row_init(&row);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sky_error_clear(&err);
		ck_assert_msg(sky_row_parse(&row, bad[i], strlen(bad[i]), &err) < 0,
		              "row \"%s\" should fail", bad[i]);
		ck_assert(err.message[0] != '\0');
	}
	ck_assert_int_lt(sky_row_parse(&row, NULL, 0, &err), 0);
	sky_row_release(&row);
}
END_TEST

START_TEST(test_row_many_columns)
{
	struct sky_row row;
	struct sky_error err;
	struct sky_buf b;
	int i;

	sky_row_init(&row);
	sky_buf_init(&b);
	for (i = 0; i < 300; i++)
		sky_buf_addf(&b, "%sc%d=%d", i ? "&" : "", i, i);
	ck_assert_int_eq(sky_row_parse(&row, b.data, b.len, &err), 0);
	ck_assert_uint_eq(row.n, 300);
	ck_assert(memcmp(row.fields[299].name, "c299", 4) == 0);
	sky_buf_release(&b);
	sky_row_release(&row);
}
END_TEST

/* ---------------------------------------------------------------- ev_type */

START_TEST(test_ev_type_rows)
{
	struct sky_ev_type t;
	struct sky_error err;

	ck_assert_int_eq(sky_ev_type_parse(&t, "I:id", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_INSERT);
	ck_assert_int_eq(t.op, 'I');
	ck_assert_uint_eq(t.pk_len, 2);
	ck_assert(memcmp(t.pk, "id", 2) == 0);

	ck_assert_int_eq(sky_ev_type_parse(&t, "U:a,b,c", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_UPDATE);
	ck_assert_uint_eq(t.pk_len, 5);

	ck_assert_int_eq(sky_ev_type_parse(&t, "D:Id A,k,2", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_DELETE);
	ck_assert_int_eq(t.op, 'D');
	ck_assert_str_eq(t.pk, "Id A,k,2");
}
END_TEST

START_TEST(test_ev_type_other)
{
	struct sky_ev_type t;
	struct sky_error err;

	ck_assert_int_eq(sky_ev_type_parse(&t, "R", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_TRUNCATE);
	ck_assert_int_eq(t.op, 'R');
	ck_assert_int_eq(sky_ev_type_parse(&t, "pgq_set.watermark", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
	ck_assert_int_eq(sky_ev_type_parse(&t, NULL, &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
	ck_assert_int_eq(sky_ev_type_parse(&t, "", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
	ck_assert_int_eq(sky_ev_type_parse(&t, "X:foo", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
	ck_assert_int_eq(sky_ev_type_parse(&t, "Rx", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
	ck_assert_int_eq(sky_ev_type_parse(&t, "R:", &err), 0);
	ck_assert_int_eq(t.kind, SKY_EV_OTHER);
}
END_TEST

START_TEST(test_ev_type_malformed)
{
	struct sky_ev_type t;
	struct sky_error err;

	/* sqltriga style (no key list) and an empty key list are refused */
	ck_assert_int_lt(sky_ev_type_parse(&t, "I", &err), 0);
	ck_assert_ptr_nonnull(strstr(err.message, "primary key"));
	ck_assert_int_lt(sky_ev_type_parse(&t, "U:", &err), 0);
	ck_assert_int_lt(sky_ev_type_parse(&t, "D", &err), 0);
}
END_TEST

/* ---------------------------------------------------------------- primary keys */

START_TEST(test_pk_resolve_simple)
{
	const char *names[] = {"v", "id", "w"};
	size_t idx[3], n = 0;
	struct sky_error err;

	ck_assert_int_eq(sky_pk_resolve(idx, &n, "id", 2, names, 3, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(idx[0], 1);
}
END_TEST

START_TEST(test_pk_resolve_composite)
{
	const char *names[] = {"a", "b", "c", "d"};
	size_t idx[4], n = 0;
	struct sky_error err;

	/* key order is the list's order, not the table's */
	ck_assert_int_eq(sky_pk_resolve(idx, &n, "c,a", 3, names, 4, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(idx[0], 2);
	ck_assert_uint_eq(idx[1], 0);
}
END_TEST

START_TEST(test_pk_resolve_commas_in_names)
{
	/* logutriga does not encode the key list: "Id A,k,2" is columns "Id A" and "k,2" */
	const char *names[] = {"Id A", "k,2", "x=y", "k"};
	const char *names2[] = {"a,b", "a", "b,c", "c"};
	size_t idx[4], n = 0;
	struct sky_error err;

	ck_assert_int_eq(sky_pk_resolve(idx, &n, "Id A,k,2", 8, names, 4, &err), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(idx[0], 0);
	ck_assert_uint_eq(idx[1], 1);
	/* "a,b,c" could be a|b,c or a,b|c: both are valid splits; one is taken */
	ck_assert_int_eq(sky_pk_resolve(idx, &n, "a,b,c", 5, names2, 4, &err), 0);
	ck_assert_uint_eq(n, 2);
	/* backtracking: "k" alone would leave ",2" unmatched */
	ck_assert_int_eq(sky_pk_resolve(idx, &n, "k,2", 3, names, 4, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(idx[0], 1);
}
END_TEST

START_TEST(test_pk_resolve_errors)
{
	const char *names[] = {"a", "b"};
	size_t idx[2], n = 0;
	struct sky_error err;

	ck_assert_int_lt(sky_pk_resolve(idx, &n, "x", 1, names, 2, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.message, "\"x\""));
	ck_assert_int_lt(sky_pk_resolve(idx, &n, "a,", 2, names, 2, &err), 0);
	ck_assert_int_lt(sky_pk_resolve(idx, &n, "a,a", 3, names, 2, &err), 0);
	ck_assert_int_lt(sky_pk_resolve(idx, &n, "", 0, names, 2, &err), 0);
	ck_assert_int_lt(sky_pk_resolve(idx, &n, "a", 1, names, 0, &err), 0);
}
END_TEST

/* ---------------------------------------------------------------- snapshots */

START_TEST(test_snapshot_parse)
{
	struct sky_snapshot snap;
	struct sky_error err;

	ck_assert_int_eq(sky_snapshot_parse(&snap, "100:105:100,102", &err), 0);
	ck_assert_int_eq(snap.xmin, 100);
	ck_assert_int_eq(snap.xmax, 105);
	ck_assert_uint_eq(snap.nxip, 2);
	ck_assert_int_eq(snap.xip[1], 102);
	sky_snapshot_release(&snap);

	ck_assert_int_eq(sky_snapshot_parse(&snap, "763:763:", &err), 0);
	ck_assert_uint_eq(snap.nxip, 0);
	sky_snapshot_release(&snap);
}
END_TEST

START_TEST(test_snapshot_visible)
{
	struct sky_snapshot snap;
	struct sky_error err;

	ck_assert_int_eq(sky_snapshot_parse(&snap, "100:105:100,102", &err), 0);
	ck_assert(sky_snapshot_visible(&snap, 99));   /* before xmin: committed */
	ck_assert(!sky_snapshot_visible(&snap, 100)); /* in progress */
	ck_assert(sky_snapshot_visible(&snap, 101));
	ck_assert(!sky_snapshot_visible(&snap, 102));
	ck_assert(sky_snapshot_visible(&snap, 104));
	ck_assert(!sky_snapshot_visible(&snap, 105)); /* xmax and later: not yet */
	ck_assert(!sky_snapshot_visible(&snap, 1000));
	sky_snapshot_release(&snap);
}
END_TEST

START_TEST(test_copy_row)
{
	struct sky_buf b;
	const char *row[4] = {"1", NULL, "a\tb\\c\n", ""};

	sky_buf_init(&b);
	sky_copy_row_append(&b, row, 4);
	ck_assert_str_eq(b.data, "1\t\\N\ta\\tb\\\\c\\n\t\n");
	sky_buf_release(&b);
}
END_TEST

START_TEST(test_snapshot_malformed)
{
	struct sky_snapshot snap;
	struct sky_error err;
	const char *bad[] = {"",
	                     "1",
	                     "1:2",
	                     "a:2:",
	                     "2:1:",
	                     "1:5:7",
	                     "1:5:0",
	                     "1:5:2,",
	                     "1:5:2,,3",
	                     "1:5:2;3",
	                     "-1:5:",
	                     "1:5: 2",
	                     "1:99999999999999999999:"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sky_error_clear(&err);
		ck_assert_msg(sky_snapshot_parse(&snap, bad[i], &err) < 0,
		              "snapshot \"%s\" should fail", bad[i]);
		ck_assert_ptr_nonnull(strstr(err.message, "invalid snapshot"));
		ck_assert_ptr_null(snap.xip);
	}
	ck_assert_int_lt(sky_snapshot_parse(&snap, NULL, &err), 0);
}
END_TEST

/* ev_time as a provider session prints it -> PostgreSQL's binary timestamptz (queuecopy.c) */
START_TEST(test_qcopy_time)
{
	static const struct {
		const char *in;
		long long us; /* since 2000-01-01 00:00:00 UTC (from Python's datetime) */
	} ok[] = {
	    {"2000-01-01 00:00:00+00", 0},
	    {"2026-11-29 19:34:14.291456+00", 849296054291456LL},
	    {"1999-12-31 23:59:59.5+00", -500000LL},
	    {"2024-02-29 12:00:00+05:30", 762503400000000LL},
	    {"1900-03-01 00:00:00-01", -3150572400000000LL},
	    {"1900-03-01 00:00:00-00:17:30", -3150574950000000LL},
	    {"10000-01-01 00:00:00+00", 252455616000000000LL},
	};
	static const char *const bad[] = {
	    "",
	    "2026-11-29 19:34:14",            /* no offset */
	    "2026-11-29T19:34:14+00",         /* not the ISO datestyle's output */
	    "29/11/2026 19:34:14 UTC",        /* another datestyle */
	    "2026-13-01 00:00:00+00",         /* month */
	    "2026-11-29 24:00:00+00",         /* hour */
	    "2026-11-29 19:34:14.+00",        /* empty fraction */
	    "2026-11-29 19:34:14.1234567+00", /* more than microseconds */
	    "2026-11-29 19:34:14+00 BC",
	    "0001-01-01 00:00:00+00 BC",
	    "infinity",
	    "026-11-29 19:34:14+00",
	};
	size_t i;
	int64_t t;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(sky_qcopy_parse_time(&t, ok[i].in) == 0, "refused %s", ok[i].in);
		ck_assert_msg(t == ok[i].us, "%s: %lld, want %lld", ok[i].in, (long long)t,
		              ok[i].us);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sky_qcopy_parse_time(&t, bad[i]) < 0, "took \"%s\"", bad[i]);
}
END_TEST

/* a binary COPY row of the queue: header once, the fields, the trailer on finish */
START_TEST(test_qcopy_rows)
{
	struct sky_qcopy q;
	struct sky_error err;
	struct sky_event ev = {.id = "42",
	                       .time = "2000-01-01 00:00:01+00",
	                       .txid = "7",
	                       .type = "U:id",
	                       .data = "id=1&v=a%09b",
	                       .extra1 = "public.t"};
	struct sky_event bad = ev;
	/* the binary COPY header and the row, one field a line */
	/* clang-format off */
	static const unsigned char want_head[] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
	                                          0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const unsigned char want_row[] = {
	    0, 10,                                        /* fields */
	    0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42,          /* ev_id */
	    0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40,  /* ev_time: 1 s */
	    0xff, 0xff, 0xff, 0xff,                       /* ev_owner NULL */
	    0xff, 0xff, 0xff, 0xff,                       /* ev_retry NULL */
	    0, 0, 0, 4, 'U', ':', 'i', 'd',               /* ev_type */
	    0, 0, 0, 12, 'i', 'd', '=', '1', '&', 'v', '=', 'a', '%', '0', '9', 'b', /* ev_data */
	    0, 0, 0, 8, 'p', 'u', 'b', 'l', 'i', 'c', '.', 't',                      /* ev_extra1 */
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* extra2-4 */
	/* clang-format on */
	size_t len;

	sky_qcopy_init(&q);
	ck_assert_int_eq(sky_qcopy_add(&q, &ev, &err), 0);
	len = q.rows.len;
	ck_assert_uint_eq(len, sizeof(want_head) + sizeof(want_row));
	ck_assert(memcmp(q.rows.data, want_head, sizeof(want_head)) == 0);
	ck_assert(memcmp(q.rows.data + sizeof(want_head), want_row, sizeof(want_row)) == 0);
	bad.time = "2000-01-01 00:00:01";
	ck_assert_int_eq(sky_qcopy_add(&q, &bad, &err), -1);
	ck_assert_uint_eq(q.rows.len, len); /* nothing appended */
	ck_assert(strstr(err.message, "ev_time") != NULL);
	bad = ev;
	bad.id = "4x";
	ck_assert_int_eq(sky_qcopy_add(&q, &bad, &err), -1);
	ck_assert_uint_eq(q.rows.len, len);
	ck_assert_int_eq(sky_qcopy_add(&q, &ev, &err), 0);
	ck_assert_uint_eq(q.rows.len, len + sizeof(want_row)); /* no second header */
	ck_assert_uint_eq(q.n, 2);
	sky_qcopy_finish(&q);
	ck_assert_uint_eq(q.rows.len, len + sizeof(want_row) + 2);
	ck_assert(memcmp(q.rows.data + q.rows.len - 2, "\xff\xff", 2) == 0);
	sky_qcopy_release(&q);
}
END_TEST

static Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc;

	tc = tcase_create("urldecode");
	tcase_add_test(tc, test_urldecode_plain);
	tcase_add_test(tc, test_urldecode_utf8);
	tcase_add_test(tc, test_urldecode_typed_values);
	tcase_add_test(tc, test_urldecode_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("copy");
	tcase_add_test(tc, test_copy_escape);
	tcase_add_test(tc, test_urldecode_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("row");
	tcase_add_test(tc, test_row_null_vs_empty);
	tcase_add_test(tc, test_row_encoded_names);
	tcase_add_test(tc, test_row_malformed);
	tcase_add_test(tc, test_row_many_columns);
	suite_add_tcase(s, tc);

	tc = tcase_create("ev_type");
	tcase_add_test(tc, test_ev_type_rows);
	tcase_add_test(tc, test_ev_type_other);
	tcase_add_test(tc, test_ev_type_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("snapshot");
	tcase_add_test(tc, test_snapshot_parse);
	tcase_add_test(tc, test_snapshot_visible);
	tcase_add_test(tc, test_snapshot_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("pk");
	tcase_add_test(tc, test_pk_resolve_simple);
	tcase_add_test(tc, test_pk_resolve_composite);
	tcase_add_test(tc, test_pk_resolve_commas_in_names);
	tcase_add_test(tc, test_pk_resolve_errors);
	tcase_add_test(tc, test_copy_row);
	tcase_add_test(tc, test_qcopy_time);
	tcase_add_test(tc, test_qcopy_rows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(decode_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
