#include "sky_pg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
	PGconn *conn = PQconnectdb(dsn);

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

int sky_pg_exec(PGresult **out, PGconn *conn, struct sky_error *err, const char *sql, int nparams,
                const char *const *params)
{
	PGresult *res;
	ExecStatusType st;

	if (nparams > 0)
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	else
		res = PQexec(conn, sql);
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

/* URI form: postgresql://user:secret@host/db?password=secret */
static char *redact_uri(const char *dsn)
{
	struct sky_buf b;
	const char *scheme_end = strstr(dsn, "://");
	const char *auth_start, *at, *colon, *p;

	sky_buf_init(&b);
	auth_start = scheme_end + 3;
	at = strpbrk(auth_start, "@/?");
	if (at && *at == '@') {
		colon = memchr(auth_start, ':', (size_t)(at - auth_start));
		if (colon) {
			sky_buf_add(&b, dsn, (size_t)(colon - dsn));
			sky_buf_adds(&b, ":********");
			p = at;
		} else {
			p = dsn;
		}
	} else {
		p = dsn;
	}
	/* query parameters: password=... */
	while (*p) {
		if (p > dsn && (p[-1] == '?' || p[-1] == '&') && strncmp(p, "password=", 9) == 0) {
			sky_buf_adds(&b, "password=********");
			p += 9;
			while (*p && *p != '&')
				p++;
			continue;
		}
		sky_buf_addch(&b, *p++);
	}
	return sky_buf_detach(&b);
}

char *sky_dsn_redact(const char *dsn)
{
	struct sky_buf b;
	const char *p = dsn;

	if (!dsn)
		return sky_strdup("");
	if (strncmp(dsn, "postgresql://", 13) == 0 || strncmp(dsn, "postgres://", 11) == 0)
		return redact_uri(dsn);
	sky_buf_init(&b);
	while (*p) {
		const char *key = p, *key_end;

		while (*p && isspace((unsigned char)*p))
			sky_buf_addch(&b, *p++);
		if (!*p)
			break;
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		key_end = p;
		while (*p && isspace((unsigned char)*p))
			p++;
		sky_buf_add(&b, key, (size_t)(key_end - key));
		if (*p != '=')
			continue;
		p++;
		while (*p && isspace((unsigned char)*p))
			p++;
		sky_buf_addch(&b, '=');
		{
			bool secret =
			    (size_t)(key_end - key) == 8 && strncmp(key, "password", 8) == 0;
			const char *v = p;

			if (*p == '\'') {
				p++;
				while (*p && *p != '\'') {
					if (*p == '\\' && p[1])
						p++;
					p++;
				}
				if (*p == '\'')
					p++;
			} else {
				while (*p && !isspace((unsigned char)*p))
					p++;
			}
			if (secret)
				sky_buf_adds(&b, "********");
			else
				sky_buf_add(&b, v, (size_t)(p - v));
		}
	}
	return sky_buf_detach(&b);
}
