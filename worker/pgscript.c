/*
 * pgscript: a COPY-carrying statement script and a libpq pipeline, each in one round trip.
 */
#include "pgscript.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_pg.h"

/* Send one buffer as COPY data, then end the COPY. 0 or -1 (connection trouble). */
static int copy_send(PGconn *conn, const struct sky_buf *buf, struct sky_error *err)
{
	int ret = -1;
	size_t off = 0;
	const size_t piece = 1 << 20;

	while (off < buf->len) {
		size_t n = buf->len - off < piece ? buf->len - off : piece;

		if (PQputCopyData(conn, buf->data + off, (int)n) != 1) {
			sky_pg_error(err, conn, NULL);
			goto out;
		}
		off += n;
	}
	if (PQputCopyEnd(conn, NULL) != 1) {
		sky_pg_error(err, conn, NULL);
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* Fill err from a failed result (adding the server's DETAIL) and pos from its COPY context. */
static void script_error(struct sky_error *err, struct sky_pg_script_pos *pos, PGconn *conn,
                         const PGresult *res, size_t stmt)
{
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *context = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	const char *line;

	sky_pg_error(err, conn, res);
	if (detail && err) {
		size_t len = strlen(err->message);

		snprintf(err->message + len, sizeof(err->message) - len, " (%s)", detail);
	}
	if (pos) {
		pos->stmt = stmt;
		pos->copy_line = 0;
		if (context && strncmp(context, "COPY ", 5) == 0 &&
		    (line = strstr(context, ", line ")) != NULL)
			pos->copy_line = strtol(line + 7, NULL, 10);
	}
}

/* Read results until the script is done (all == true) or, with all == false, until the last
 * COPY's data is sent. */
static int script_pump(struct sky_pg_script *s, bool all, struct sky_pg_script_pos *pos,
                       struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	bool drained = false;

	for (;;) {
		ExecStatusType st;

		/* after a failure read on until the end: the connection must be idle again */
		if (!all && !s->failed && s->next >= s->nbufs)
			break;
		if ((res = PQgetResult(s->conn)) == NULL) {
			drained = true;
			break;
		}
		st = PQresultStatus(res);

		if (st == PGRES_COPY_IN) {
			if (s->failed || s->next >= s->nbufs) {
				if (!s->failed) {
					sky_error_set(&s->err,
					              "statement script started more COPY "
					              "statements than the %zu prepared",
					              s->nbufs);
					s->failed = true;
				}
				/* abort the COPY; the server answers with an error result */
				PQputCopyEnd(s->conn, "unexpected COPY");
			} else if (copy_send(s->conn, s->bufs[s->next++], &s->send_err) < 0) {
				/* the server's own error, if any, follows as a result */
				s->send_failed = true;
			}
			/* the COPY's own completion comes as the next result */
		} else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			s->stmt++;
		} else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			/* never asked for: leave the connection busy, the caller must drop it */
			if (!s->failed)
				sky_error_set(&s->err, "unexpected COPY TO in statement script");
			s->err.retryable = true;
			s->failed = s->broken = true;
			goto out;
		} else if (!s->failed) {
			script_error(&s->err, &s->pos, s->conn, res, s->stmt);
			s->failed = true;
		}
		PQclear(res);
		res = NULL;
		if (PQstatus(s->conn) == CONNECTION_BAD) {
			if (!s->failed)
				script_error(&s->err, &s->pos, s->conn, NULL, s->stmt);
			s->failed = s->broken = true;
			goto out;
		}
	}
	if (!drained) {
		ret = 0;
		goto out;
	}
	s->running = false;
	if (s->failed)
		goto out;
	if (s->send_failed) {
		s->err = s->send_err;
		goto out;
	}
	if (s->next != s->nbufs) {
		sky_error_set(&s->err, "statement script used %zu of %zu COPY buffers", s->next,
		              s->nbufs);
		goto out;
	}
	ret = 0;
out:
	PQclear(res);
	if (ret < 0) {
		s->running = s->running && !s->broken;
		if (pos)
			*pos = s->pos;
		if (err)
			*err = s->err;
	}
	return ret;
}

int sky_pg_script_start(struct sky_pg_script *s, PGconn *conn, const char *script,
                        struct sky_buf *const *bufs, size_t nbufs, struct sky_pg_script_pos *pos,
                        struct sky_error *err)
{
	int ret = -1;

	memset(s, 0, sizeof(*s));
	s->conn = conn;
	s->bufs = bufs;
	s->nbufs = nbufs;
	sky_error_clear(&s->err);
	sky_error_clear(&s->send_err);
	if (!PQsendQuery(conn, script)) {
		script_error(&s->err, &s->pos, conn, NULL, 0);
		if (pos)
			*pos = s->pos;
		if (err)
			*err = s->err;
		goto out;
	}
	s->running = true;
	if (script_pump(s, false, pos, err) < 0)
		goto out;
	ret = 0;
out:
	return ret;
}

int sky_pg_script_finish(struct sky_pg_script *s, struct sky_pg_script_pos *pos,
                         struct sky_error *err)
{
	int ret = -1;

	if (!s->running) {
		ret = 0;
		goto out;
	}
	ret = script_pump(s, true, pos, err);
	s->running = false;
out:
	return ret;
}

int sky_pg_copy_script(PGconn *conn, const char *script, struct sky_buf *const *bufs, size_t nbufs,
                       struct sky_pg_script_pos *pos, struct sky_error *err)
{
	int ret = -1;
	struct sky_pg_script s;

	if (sky_pg_script_start(&s, conn, script, bufs, nbufs, pos, err) < 0) {
		/* drain what is left so that the connection is idle again */
		if (s.running)
			sky_pg_script_finish(&s, NULL, NULL);
		goto out;
	}
	if (sky_pg_script_finish(&s, pos, err) < 0)
		goto out;
	ret = 0;
out:
	return ret;
}

int sky_pg_pipeline(PGresult **out, PGconn *conn, const struct sky_pg_stmt *stmts, size_t n,
                    struct sky_error *err)
{
	int ret = -1;
	bool failed = false;
	PGresult **results = sky_calloc(n ? n : 1, sizeof(PGresult *));
	PGresult *res = NULL;
	size_t i;

	if (!PQenterPipelineMode(conn)) {
		sky_pg_error(err, conn, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!PQsendQueryParams(conn, stmts[i].sql, stmts[i].nparams, NULL, stmts[i].params,
		                       NULL, NULL, 0)) {
			sky_pg_error(err, conn, NULL);
			goto out;
		}
	}
	if (!PQpipelineSync(conn)) {
		sky_pg_error(err, conn, NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		ExecStatusType st;

		sky_pg_wait_result(conn); /* the provider's session: under the stall guard */
		res = PQgetResult(conn);
		if (!res) {
			sky_pg_error(err, conn, NULL);
			goto out;
		}
		st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			results[i] = res;
		} else {
			if (!failed && st != PGRES_PIPELINE_ABORTED) {
				sky_pg_error(err, conn, res);
				failed = true;
			}
			PQclear(res);
		}
		res = NULL;
		/* each statement's results end with a NULL */
		for (;;) {
			sky_pg_wait_result(conn);
			if ((res = PQgetResult(conn)) == NULL)
				break;
			PQclear(res);
			res = NULL;
		}
		if (PQstatus(conn) == CONNECTION_BAD) {
			if (!failed)
				sky_pg_error(err, conn, NULL);
			failed = true;
			goto out;
		}
	}
	sky_pg_wait_result(conn);
	res = PQgetResult(conn);
	if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		if (!failed)
			sky_pg_error(err, conn, res);
		failed = true;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (!PQexitPipelineMode(conn)) {
		if (!failed)
			sky_pg_error(err, conn, NULL);
		failed = true;
		goto out;
	}
	if (failed)
		goto out;
	if (out) {
		for (i = 0; i < n; i++) {
			out[i] = results[i];
			results[i] = NULL;
		}
	}
	ret = 0;
out:
	PQclear(res);
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn) && err) {
		/* results still pending: the caller must drop the connection */
		err->retryable = true;
	}
	for (i = 0; i < n; i++)
		PQclear(results[i]);
	free(results);
	return ret;
}

static void notice_to_log(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' '))
		n--;
	sky_debug("server: %.*s", (int)n, message);
}

void sky_pg_notices_to_log(PGconn *conn)
{
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
}

void sky_error_oneline(struct sky_error *err)
{
	char *start = err->message, *out = start, *s;

	for (s = start; *s; s++) {
		if (*s != '\n' && *s != '\r' && *s != '\t')
			*out++ = *s;
		else if (out > start && out[-1] != ' ')
			*out++ = ' ';
	}
	while (out > start && out[-1] == ' ')
		out--;
	*out = '\0';
}
