/*
 * queuecopy: COPY rows, in COPY's binary format, for the local queue's event table.
 */
#include "queuecopy.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* COPY BINARY's header: signature, flags, header extension length */
static const char COPY_SIGNATURE[11] = "PGCOPY\n\377\r\n";

void sky_qcopy_init(struct sky_qcopy *q)
{
	sky_buf_init(&q->rows);
	q->n = 0;
	q->copy_sql = NULL;
}

void sky_qcopy_release(struct sky_qcopy *q)
{
	sky_buf_release(&q->rows);
	free(q->copy_sql);
	q->copy_sql = NULL;
	q->n = 0;
}

void sky_qcopy_set_table(struct sky_qcopy *q, const char *event_table)
{
	free(q->copy_sql);
	q->copy_sql = sky_asprintf("copy %s (ev_id, ev_time, ev_owner, ev_retry, ev_type, ev_data, "
	                           "ev_extra1, ev_extra2, ev_extra3, ev_extra4) from stdin"
	                           " (format binary)",
	                           event_table);
}

static void put_be(struct sky_buf *b, uint64_t v, int bytes)
{
	char c[8];
	int i;

	for (i = 0; i < bytes; i++)
		c[i] = (char)(v >> (8 * (bytes - 1 - i)));
	sky_buf_add(b, c, (size_t)bytes);
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (m 1-12, d 1-31). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;                                   /* 0 .. 399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0 .. 365, from March 1 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0 .. 146096 */
	return era * 146097 + doe - 719468;
}

/* n digits at *p (advanced), or -1 */
static long long digits(const char **p, int n)
{
	long long v = 0;
	int i;

	for (i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int sky_qcopy_parse_time(int64_t *out, const char *s)
{
	const char *p = s, *y0;
	long long y = 0, mo, d, h, mi, sec, frac = 0, part, off;
	int nfrac = 0, sign;

	/* the year: four digits or more (ISO datestyle; no BC: now() is in no such year) */
	for (y0 = p; isdigit((unsigned char)*p) && p - y0 < 8; p++)
		y = y * 10 + (*p - '0');
	if (p - y0 < 4 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' ||
	    (d = digits(&p, 2)) < 1 || d > 31 || *p++ != ' ' || (h = digits(&p, 2)) < 0 || h > 23 ||
	    *p++ != ':' || (mi = digits(&p, 2)) < 0 || mi > 59 || *p++ != ':' ||
	    (sec = digits(&p, 2)) < 0 || sec > 60)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) && nfrac < 6; p++, nfrac++)
			frac = frac * 10 + (*p - '0');
		if (nfrac == 0 || isdigit((unsigned char)*p))
			return -1;
		for (; nfrac < 6; nfrac++)
			frac *= 10;
	}
	/* the UTC offset: +HH, +HH:MM or +HH:MM:SS (the worker's sessions print UTC: +00) */
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if ((off = digits(&p, 2)) < 0)
		return -1;
	for (part = 0; *p == ':' && part < 2; part++) {
		long long v;

		p++;
		if ((v = digits(&p, 2)) < 0)
			return -1;
		off = off * 60 + v;
	}
	off *= part == 0 ? 3600 : part == 1 ? 60 : 1; /* in seconds */
	if (*p != '\0')
		return -1;
	/* microseconds since 2000-01-01 00:00:00 UTC, PostgreSQL's timestamptz */
	*out = (int64_t)(((days_from_civil(y, (int)mo, (int)d) - 10957) * 86400 + h * 3600 +
	                  mi * 60 + sec - sign * off) *
	                     1000000 +
	                 frac);
	return 0;
}

static void put_text(struct sky_buf *b, const char *v)
{
	size_t len;

	if (!v) {
		put_be(b, (uint32_t)-1, 4);
		return;
	}
	len = strlen(v);
	put_be(b, (uint32_t)len, 4);
	sky_buf_add(b, v, len);
}

static int put_int(struct sky_buf *b, const char *v, int bytes)
{
	char *end;
	long long x;

	if (!v) {
		put_be(b, (uint32_t)-1, 4);
		return 0;
	}
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end || (bytes == 4 && (x < INT32_MIN || x > INT32_MAX)))
		return -1;
	put_be(b, (uint32_t)bytes, 4);
	put_be(b, (uint64_t)x, bytes);
	return 0;
}

int sky_qcopy_add(struct sky_qcopy *q, const struct sky_event *ev, struct sky_error *err)
{
	size_t start = q->rows.len;
	int64_t t;

	if (q->n == 0 && q->rows.len == 0) {
		sky_buf_add(&q->rows, COPY_SIGNATURE, sizeof(COPY_SIGNATURE));
		put_be(&q->rows, 0, 4); /* flags: no OIDs */
		put_be(&q->rows, 0, 4); /* no header extension */
		start = q->rows.len;
	}
	put_be(&q->rows, 10, 2);
	if (put_int(&q->rows, ev->id, 8) < 0) {
		sky_error_set(err, "event with invalid ev_id \"%s\"", ev->id ? ev->id : "");
		goto fail;
	}
	if (!ev->time || sky_qcopy_parse_time(&t, ev->time) < 0) {
		sky_error_set(err,
		              "event %s: ev_time \"%s\" is not an ISO timestamp with a UTC offset",
		              ev->id, ev->time ? ev->time : "");
		goto fail;
	}
	put_be(&q->rows, 8, 4);
	put_be(&q->rows, (uint64_t)t, 8);
	/* ev_owner NULL: the provider's retry owner means nothing here */
	put_be(&q->rows, (uint32_t)-1, 4);
	if (put_int(&q->rows, ev->retry, 4) < 0) {
		sky_error_set(err, "event %s: invalid ev_retry \"%s\"", ev->id, ev->retry);
		goto fail;
	}
	put_text(&q->rows, ev->type);
	put_text(&q->rows, ev->data);
	put_text(&q->rows, ev->extra1);
	put_text(&q->rows, ev->extra2);
	put_text(&q->rows, ev->extra3);
	put_text(&q->rows, ev->extra4);
	q->n++;
	return 0;
fail:
	q->rows.len = start;
	return -1;
}

void sky_qcopy_finish(struct sky_qcopy *q)
{
	put_be(&q->rows, (uint16_t)-1, 2); /* the end of the data */
}

void sky_qcopy_reset(struct sky_qcopy *q)
{
	sky_buf_reset(&q->rows);
	q->n = 0;
}
