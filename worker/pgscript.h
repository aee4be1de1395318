/*
 * pgscript: few-round-trip helpers over libpq for the worker's hot path.
 *
 * - sky_pg_copy_script: one simple-protocol query string holding several statements, some
 *   of them COPY ... FROM STDIN, fed from caller buffers: a whole flush in one round trip.
 * - sky_pg_pipeline: several parameterized statements in one round trip (libpq pipeline mode).
 *
 * Generic (nothing worker-specific); candidates for common/ if skyreconcile needs them.
 */
#ifndef SKY_PGSCRIPT_H
#define SKY_PGSCRIPT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"
#include "sky_mem.h"

/* Where a script failed: the statement (0-based, in result order) and, when it was a COPY,
 * the 1-based line of its data the server complained about (0 when unknown). */
struct sky_pg_script_pos {
	size_t stmt;
	long copy_line;
};

/*
 * Run script (statements separated by ';'). The k-th COPY ... FROM STDIN that the server
 * starts reads bufs[k] (COPY text format, complete lines). Stops at the first error; pos
 * (may be NULL) then says where, and err's message carries the server's DETAIL too.
 * Fails too when the number of COPY statements differs from nbufs. The connection is idle
 * again on return unless it broke or err->retryable says to drop it.
 */
int sky_pg_copy_script(PGconn *conn, const char *script, struct sky_buf *const *bufs, size_t nbufs,
                       struct sky_pg_script_pos *pos, struct sky_error *err);

/*
 * The same script, in two halves, so that the caller can work while the server runs it:
 * sky_pg_script_start sends the script and feeds every COPY, and returns once the last
 * COPY's data is sent (or at once when there is none); the statements after it may still be
 * running. sky_pg_script_finish reads the remaining results; until it returns, the
 * connection is busy and bufs must stay unchanged. On a failure of start, when s->running
 * is still true, finish must be called (its result repeats the first error) to make the
 * connection idle again. s is the caller's, filled by start.
 */
struct sky_pg_script {
	PGconn *conn;
	struct sky_buf *const *bufs;
	size_t nbufs, next, stmt;
	bool running; /* results are still to be read */
	bool failed, send_failed, broken;
	struct sky_error err, send_err;
	struct sky_pg_script_pos pos;
};

int sky_pg_script_start(struct sky_pg_script *s, PGconn *conn, const char *script,
                        struct sky_buf *const *bufs, size_t nbufs, struct sky_pg_script_pos *pos,
                        struct sky_error *err);
int sky_pg_script_finish(struct sky_pg_script *s, struct sky_pg_script_pos *pos,
                         struct sky_error *err);

/* One statement of a pipeline: text parameters, NULL entries are SQL NULLs. */
struct sky_pg_stmt {
	const char *sql;
	int nparams;
	const char *const *params;
};

/*
 * Send stmts[0..n) in one pipeline with one sync and read every result. On success, when
 * out is not NULL, out[i] is the result of stmts[i] (caller frees each with PQclear);
 * on failure nothing is returned and err describes the first statement that failed.
 * Statements before the failing one ran; with no explicit BEGIN they form one implicit
 * transaction, so a failure rolls them back.
 */
int sky_pg_pipeline(PGresult **out, PGconn *conn, const struct sky_pg_stmt *stmts, size_t n,
                    struct sky_error *err);

/* Make err's message one line: libpq's messages may span lines ("...\n\tIs the server
 * running..."), log lines must not. */
void sky_error_oneline(struct sky_error *err);

/* Send the server's NOTICE/WARNING messages on conn to the debug log (one line each) instead
 * of libpq's default of printing them to stderr as they come. */
void sky_pg_notices_to_log(PGconn *conn);

#endif
