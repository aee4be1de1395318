/*
 * queuecopy: a branch's copy of its provider's events into the local queue.
 *
 * Every event of a batch, whatever its type, goes into the local PgQ event table with its
 * original ev_id, ev_time, ev_retry, ev_type, ev_data and ev_extra1..4, by COPY inside the
 * batch's apply transaction, in COPY's binary format: the server reads the id and the time
 * without parsing their text (a quarter less time for the COPY of 1,000,000 events than the
 * text format: docs/performance.md, stop 21), the text fields as they are, unescaped. ev_txid is
 * left to its default (txid_current()), which puts all copied events into the apply transaction:
 * that is what makes the local batch (prev, cur] hold exactly the provider's events once tick cur
 * is created locally.
 */
#ifndef SKY_QUEUECOPY_H
#define SKY_QUEUECOPY_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "sky_mem.h"

struct sky_qcopy {
	struct sky_buf rows; /* COPY binary data (header, then tuples) of the events so far */
	size_t n;            /* events in rows */
	char *copy_sql;      /* COPY statement for the current event table, or NULL */
};

void sky_qcopy_init(struct sky_qcopy *q);
void sky_qcopy_release(struct sky_qcopy *q);

/*
 * Point the copy at event_table (as pgq_set.queue_event_table returns it: qualified and
 * safe to use as is). Valid for the current transaction only (PgQ rotates tables).
 */
void sky_qcopy_set_table(struct sky_qcopy *q, const char *event_table);

/*
 * Append one event to rows: 0, or -1 (err) for an ev_id, ev_time or ev_retry that is not what
 * a provider session prints (nothing appended).
 */
int sky_qcopy_add(struct sky_qcopy *q, const struct sky_event *ev, struct sky_error *err);

/* End rows before they are sent (the binary format's trailer). */
void sky_qcopy_finish(struct sky_qcopy *q);

/*
 * ev_time as the worker's provider sessions print a timestamptz (datestyle ISO, YMD; timezone
 * UTC: "2026-11-29 19:34:14.291456+00"; any UTC offset is taken) into PostgreSQL's binary
 * value, microseconds since 2000-01-01 00:00:00 UTC. 0, or -1 for any other text.
 */
int sky_qcopy_parse_time(int64_t *out, const char *s);

/* Forget the collected rows (keeps the memory and the table). */
void sky_qcopy_reset(struct sky_qcopy *q);

#endif
