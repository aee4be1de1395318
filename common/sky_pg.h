/*
 * sky_pg: libpq helpers shared by skyworker and skyreconcile.
 *
 * Every helper checks the result status, turns a failure into a struct sky_error (message,
 * SQLSTATE, retryable flag) and clears the PGresult on error paths.
 */
#ifndef SKY_PG_H
#define SKY_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "sky_error.h"

/*
 * Connect to dsn. On success *out is an open connection (caller closes with PQfinish).
 * `what` names the target in messages ("node \"db2\""). The DSN itself is never put into
 * a message: it may carry a password.
 */
int sky_pg_connect(PGconn **out, const char *dsn, const char *what, struct sky_error *err);

/* The same, giving up after timeout_s seconds whatever the DSN says (0: as the DSN says). */
int sky_pg_connect_within(PGconn **out, const char *dsn, int timeout_s, const char *what,
                          struct sky_error *err);

/*
 * Run sql with text parameters (NULL entries are SQL NULLs). On success *out is the result
 * (caller frees with PQclear); out may be NULL when the caller does not want it.
 * Succeeds for PGRES_COMMAND_OK and PGRES_TUPLES_OK.
 */
int sky_pg_exec(PGresult **out, PGconn *conn, struct sky_error *err, const char *sql, int nparams,
                const char *const *params);

/*
 * PQexec / PQexecParams (nparams > 0) with the stall guard below: what every query of the
 * helpers goes through. The result is libpq's (NULL or an error result on failure).
 */
PGresult *sky_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params);

/*
 * The stall guard (one per process): while a query on conn has had no answer for stall_ms,
 * answers(ctx) is asked every stall_ms whether the server still answers at all (e.g. a new
 * connection to it succeeds); when it says no, the wait is given up and the connection is
 * broken (its socket shut down), so the query fails as on a lost connection: retryable. A
 * server that is stopped (SIGSTOP) never closes the connection, and its kernel keeps
 * acknowledging: only this tells. conn NULL turns the guard off; conn is borrowed.
 */
void sky_pg_stall_guard(PGconn *conn, int stall_ms, bool (*answers)(void *ctx), void *ctx);

/*
 * For callers that send queries themselves (PQsendQuery, pipelines): wait until the next
 * PQgetResult on conn would not block, under the stall guard when conn is the guarded
 * connection (a stalled server: the connection is broken and PQgetResult reports it);
 * otherwise return at once (PQgetResult then waits as usual).
 */
void sky_pg_wait_result(PGconn *conn);

/* Run a parameterless command (BEGIN, COMMIT, ...); result discarded. */
int sky_pg_command(PGconn *conn, struct sky_error *err, const char *sql);

/* Fill err from a failed result or connection (res may be NULL). Returns -1. */
int sky_pg_error(struct sky_error *err, PGconn *conn, const PGresult *res);

/* True when the connection is still usable. */
bool sky_pg_alive(PGconn *conn);

/*
 * The one password masker: a copy of text fit for a log line, a plan or an error: on one line
 * (newlines and tabs folded to a space), every password of the DSNs dsns[0..n_dsns-1] (as
 * libpq reads them, key=value or URI) replaced by "********", the longest first where one
 * begins another. A text from a server or a worker may carry another node's DSN (a worker's
 * error about its provider): pass every DSN the caller knows. Caller frees with free().
 */
char *sky_text_scrub(const char *text, const char *const *dsns, size_t n_dsns);

/*
 * The settings under which every session of ours reads or writes values as text (events, COPY,
 * tick times): the ones pgq_set's capture functions run with (sql/functions/logutriga.sql,
 * capture_key_change.sql, row_urlencode.sql; output_settings and plain_print in
 * sql/capture/pgq_set_capture.c), so that what the root's triggers printed is parsed back to the
 * same values whatever the defaults of the sessions, roles and databases involved. Keep the
 * lists equal. client_encoding is set apart (sky_pg_set_client_encoding).
 */
#define SKY_PG_VALUE_SETTINGS                                                                      \
	"set datestyle = 'ISO, YMD'; set intervalstyle = postgres; set extra_float_digits = 3;"    \
	" set bytea_output = hex; set timezone = 'UTC'; set lc_monetary = 'C'"

/*
 * Declare `encoding` (a server_encoding name, e.g. the provider's) as the client encoding of
 * conn, through PQsetClientEncoding so that libpq's own escaping follows. Text the session sends
 * is then taken as bytes in that encoding and converted into the server's; text it receives is
 * converted into that encoding.
 */
int sky_pg_set_client_encoding(PGconn *conn, const char *encoding, struct sky_error *err);

/* The server's encoding (server_encoding as reported at connection), "" when unknown; borrowed,
 * valid while conn is open. */
const char *sky_pg_server_encoding(PGconn *conn);

/* Quote an identifier; caller frees with free(). Never fails (aborts on OOM). */
char *sky_pg_quote_ident(const char *ident);

#endif
