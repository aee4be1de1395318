#include "sky_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sky_mem.h"

static void strip_newline(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int sky_pg_error(struct sky_error *err, PGconn *conn, const PGresult *res)
{
	const char *msg = NULL;
	const char *state = NULL;

	if (res) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (!msg)
			msg = PQresultErrorMessage(res);
	}
	if ((!msg || !msg[0]) && conn)
		msg = PQerrorMessage(conn);
	if (!msg || !msg[0])
		msg = "unknown error";
	sky_error_set(err, "%s", msg);
	if (!err)
		return -1;
	strip_newline(err->message);
	if (state) {
		strncpy(err->sqlstate, state, sizeof(err->sqlstate) - 1);
		err->sqlstate[sizeof(err->sqlstate) - 1] = '\0';
		err->retryable = sky_sqlstate_is_retryable(state);
	} else {
		/*
		 * no SQLSTATE: the failure was on the client side or the connection broke. The
		 * first query on an idle connection whose server died fails while PQstatus still
		 * says OK; reading from the socket settles it.
		 */
		if (conn && PQstatus(conn) == CONNECTION_OK)
			(void)PQconsumeInput(conn);
		err->retryable = !conn || PQstatus(conn) != CONNECTION_OK;
	}
	return -1;
}

int sky_pg_connect(PGconn **out, const char *dsn, const char *what, struct sky_error *err)
{
	return sky_pg_connect_within(out, dsn, 0, what, err);
}

int sky_pg_connect_within(PGconn **out, const char *dsn, int timeout_s, const char *what,
                          struct sky_error *err)
{
	char timeout[16];
	const char *keys[] = {"dbname", timeout_s > 0 ? "connect_timeout" : NULL, NULL};
	const char *vals[] = {dsn, timeout, NULL};
	PGconn *conn;

	snprintf(timeout, sizeof(timeout), "%d", timeout_s);
	conn = PQconnectdbParams(keys, vals, 1);
	if (!conn)
		return sky_error_set(err, "could not connect to %s: out of memory", what);
	if (PQstatus(conn) != CONNECTION_OK) {
		sky_pg_error(err, conn, NULL);
		sky_error_prefix(err, "could not connect to %s", what);
		if (err)
			err->retryable = true;
		PQfinish(conn);
		return -1;
	}
	*out = conn;
	return 0;
}

static struct {
	PGconn *conn;
	int stall_ms;
	bool (*answers)(void *ctx);
	void *ctx;
} stall_guard;

void sky_pg_stall_guard(PGconn *conn, int stall_ms, bool (*answers)(void *ctx), void *ctx)
{
	stall_guard.conn = conn;
	stall_guard.stall_ms = stall_ms;
	stall_guard.answers = answers;
	stall_guard.ctx = ctx;
}

static bool is_copy(ExecStatusType st)
{
	return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

/* Wait until PQgetResult would not block, giving the call up when the server is stalled. */
static void guarded_wait(PGconn *conn)
{
	while (PQisBusy(conn)) {
		struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
		int rc = poll(&p, 1, stall_guard.stall_ms);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			break;
		if (rc == 0) {
			if (stall_guard.answers(stall_guard.ctx))
				continue;
			/* the server is stalled: break the connection, the read fails */
			(void)shutdown(PQsocket(conn), SHUT_RDWR);
		}
		if (!PQconsumeInput(conn))
			break;
	}
}

void sky_pg_wait_result(PGconn *conn)
{
	if (conn && conn == stall_guard.conn && stall_guard.answers)
		guarded_wait(conn);
}

/* PQexec's result rules: the first error, else the last result; a COPY state at once. */
static PGresult *guarded_query(PGconn *conn, const char *sql, int nparams,
                               const char *const *params)
{
	PGresult *keep = NULL;
	PGresult *res;

	if (!(nparams > 0 ? PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
	                  : PQsendQuery(conn, sql)))
		return NULL;
	for (;;) {
		guarded_wait(conn);
		res = PQgetResult(conn);
		if (!res)
			break;
		if (is_copy(PQresultStatus(res))) {
			PQclear(keep);
			return res;
		}
		if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(res);
		} else {
			PQclear(keep);
			keep = res;
		}
	}
	return keep;
}

PGresult *sky_pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	if (conn && conn == stall_guard.conn && stall_guard.answers)
		return guarded_query(conn, sql, nparams, params);
	if (nparams > 0)
		return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	return PQexec(conn, sql);
}

int sky_pg_exec(PGresult **out, PGconn *conn, struct sky_error *err, const char *sql, int nparams,
                const char *const *params)
{
	PGresult *res;
	ExecStatusType st;

	res = sky_pg_query(conn, sql, nparams, params);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		sky_pg_error(err, conn, res);
		PQclear(res);
		return -1;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int sky_pg_command(PGconn *conn, struct sky_error *err, const char *sql)
{
	return sky_pg_exec(NULL, conn, err, sql, 0, NULL);
}

int sky_pg_set_client_encoding(PGconn *conn, const char *encoding, struct sky_error *err)
{
	if (!encoding || !encoding[0])
		return sky_error_set(err,
		                     "could not set the client encoding: the encoding is unknown");
	if (PQsetClientEncoding(conn, encoding) != 0) {
		sky_pg_error(err, conn, NULL);
		return sky_error_prefix(err, "could not set client_encoding to \"%s\"", encoding);
	}
	return 0;
}

const char *sky_pg_server_encoding(PGconn *conn)
{
	const char *e = conn ? PQparameterStatus(conn, "server_encoding") : NULL;

	return e ? e : "";
}

bool sky_pg_alive(PGconn *conn)
{
	return conn && PQstatus(conn) == CONNECTION_OK;
}

char *sky_pg_quote_ident(const char *ident)
{
	struct sky_buf b;
	const char *p;

	sky_buf_init(&b);
	sky_buf_addch(&b, '"');
	for (p = ident; *p; p++) {
		if (*p == '"')
			sky_buf_addch(&b, '"');
		sky_buf_addch(&b, *p);
	}
	sky_buf_addch(&b, '"');
	return sky_buf_detach(&b);
}

/*
 * Collect the non-empty password of dsn (key=value or URI, as libpq reads it) into *secrets.
 */
static void secret_collect(char ***secrets, size_t *n, const char *dsn)
{
	PQconninfoOption *opts = dsn ? PQconninfoParse(dsn, NULL) : NULL;

	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, "password") != 0 || !o->val || !o->val[0])
			continue;
		*secrets = sky_realloc(*secrets, (*n + 1) * sizeof(**secrets));
		(*secrets)[(*n)++] = sky_strdup(o->val);
	}
	PQconninfoFree(opts);
}

char *sky_text_scrub(const char *text, const char *const *dsns, size_t n_dsns)
{
	char **secrets = NULL;
	size_t n_secrets = 0;
	struct sky_buf b;
	const char *p;

	for (size_t i = 0; i < n_dsns; i++)
		secret_collect(&secrets, &n_secrets, dsns[i]);
	sky_buf_init(&b);
	for (p = text ? text : ""; *p;) {
		size_t hit = 0;

		/* the longest password that matches here: one may begin with another */
		for (size_t i = 0; i < n_secrets; i++) {
			size_t len = strlen(secrets[i]);

			if (len > hit && strncmp(p, secrets[i], len) == 0)
				hit = len;
		}
		if (hit) {
			sky_buf_adds(&b, "********");
			p += hit;
			continue;
		}
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (b.len > 0 && b.data[b.len - 1] != ' ')
				sky_buf_addch(&b, ' ');
			p++;
			continue;
		}
		sky_buf_addch(&b, *p++);
	}
	while (b.len > 0 && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	for (size_t i = 0; i < n_secrets; i++)
		free(secrets[i]);
	free(secrets);
	return sky_buf_detach(&b);
}
