/*
 * status_read: every node read concurrently, each within the deadline (see status_read.h).
 *
 * Each node's connection goes through an explicit state:
 *
 *   CONNECTING ─► PROBE ─► READ ─► DONE
 *                                └► IDLE ◄─► LOOKUP   (the root: the other nodes' last ticks)
 *   any failure, or the deadline ─► FAILED
 *
 * One poll() over every socket drives them; nothing blocks except a host name lookup inside
 * PQconnectStartParams (libpq resolves names synchronously; addresses do not).
 */
#include "status_read.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

enum rd_state { RD_CONNECTING, RD_PROBE, RD_READ, RD_IDLE, RD_LOOKUP, RD_DONE, RD_FAILED };

static const char *const rd_state_names[] = {
    [RD_CONNECTING] = "connecting",
    [RD_PROBE] = "reading the catalog",
    [RD_READ] = "reading the catalog",
    [RD_IDLE] = "idle",
    [RD_LOOKUP] = "reading the ticks",
    [RD_DONE] = "done",
    [RD_FAILED] = "failed",
};

/* What the probe found in the node's catalog. */
struct rd_probe {
	bool has_pgq;
	bool has_set;          /* schema pgq_set with get_node(text) */
	bool has_fenced;       /* pgq_set.is_fenced(text) */
	bool has_running;      /* pgq_set.worker_running(text) */
	bool has_copy_cols;    /* table_info.rows_copied ... copy_started (pgq_set 2) */
	bool has_revision_fn;  /* pgq_set.get_revision(text) */
	bool has_revision_col; /* pgq_set.node.applied_revision */
};

struct rd_conn {
	struct status_node *node; /* borrowed from the report */
	const struct topo_node *tn;
	PGconn *conn;
	enum rd_state state;
	PostgresPollingStatusType polling; /* while CONNECTING: what PQconnectPoll waits for */
	bool flushing;                     /* a query is not fully sent yet (PQflush said 1) */
	bool is_root;
	PGresult *res;     /* the last result with rows of the query running */
	char *query_error; /* the first error of the query running; NULL when none */
	struct rd_probe probe;
	bool tick_asked; /* (not the root) its last tick was sent to the root's lookup */
};

struct rd_run {
	struct status_report *r;
	const struct topology *topo;
	struct rd_conn *conns; /* one per node, in report order */
	size_t n;
	struct rd_conn *root; /* NULL when the topology has no root */
	int timeout_ms;
	long long lookup_n; /* ticks asked in the lookup running */
};

/* Mark c failed with reason "what: message", scrubbed (one line, no password). */
static void rd_fail(struct rd_run *run, struct rd_conn *c, const char *what, const char *message)
{
	char *raw = sky_asprintf("%s: %s", what, message && *message ? message : "unknown error");

	if (c->state == RD_IDLE || c->state == RD_LOOKUP) {
		/* the root was read; only its tick lookup failed: the lags stay unknown */
		sky_debug("node \"%s\": the tick lookup failed: %s", c->node->name, message);
		c->state = RD_DONE;
	} else {
		free(c->node->error);
		c->node->error = catalog_text_scrub(raw, run->topo);
		c->node->reachable = false;
		c->state = RD_FAILED;
		sky_debug("node \"%s\": %s", c->node->name, c->node->error);
	}
	free(raw);
	PQclear(c->res);
	c->res = NULL;
	free(c->query_error);
	c->query_error = NULL;
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
}

static void rd_start_connect(struct rd_run *run, struct rd_conn *c)
{
	const char *const keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *const values[] = {c->tn->dsn, "skyreconcile status", NULL};

	c->conn = PQconnectStartParams(keywords, values, 1);
	c->state = RD_CONNECTING;
	c->polling = PGRES_POLLING_WRITING; /* libpq: start as if it asked to write */
	if (!c->conn) {
		rd_fail(run, c, "could not connect", "out of memory");
		return;
	}
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		char what[160];

		snprintf(what, sizeof(what), "could not connect to node \"%s\"", c->node->name);
		rd_fail(run, c, what, PQerrorMessage(c->conn));
	}
}

/* Send a query (parameters may be none); flushing continues in the poll loop. */
static int rd_send(struct rd_run *run, struct rd_conn *c, enum rd_state next, const char *sql,
                   int nparams, const char *const *params)
{
	int ok = nparams > 0 ? PQsendQueryParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0)
	                     : PQsendQuery(c->conn, sql);
	int fl;

	if (!ok) {
		rd_fail(run, c, "could not read the catalog", PQerrorMessage(c->conn));
		return -1;
	}
	fl = PQflush(c->conn);
	if (fl < 0) {
		rd_fail(run, c, "could not read the catalog", PQerrorMessage(c->conn));
		return -1;
	}
	c->flushing = fl == 1;
	c->state = next;
	return 0;
}

static void rd_send_probe(struct rd_run *run, struct rd_conn *c)
{
	/*
	 * The session reads only, and the server gives up on a statement when we would anyway.
	 * Every catalog object is looked up by name first (a node without pgq_set is read
	 * without an error); to_reg* are only called once the schema is known to exist.
	 */
	char sql[1800];

	snprintf(sql, sizeof(sql),
	         "set default_transaction_read_only = on; set statement_timeout = %d;"
	         " set datestyle = 'ISO, YMD'; set timezone = 'UTC';"
	         " select exists (select 1 from pg_catalog.pg_extension where extname = 'pgq'),"
	         " s.ok and pg_catalog.to_regprocedure('pgq_set.get_node(text)') is not null,"
	         " s.ok and pg_catalog.to_regprocedure('pgq_set.is_fenced(text)') is not null,"
	         " s.ok and pg_catalog.to_regprocedure('pgq_set.worker_running(text)') is not null,"
	         " s.ok and exists (select 1 from pg_catalog.pg_attribute a"
	         "  where a.attrelid = pg_catalog.to_regclass('pgq_set.table_info')"
	         "  and a.attname = 'copy_started' and not a.attisdropped),"
	         " s.ok and pg_catalog.to_regprocedure('pgq_set.get_revision(text)') is not null,"
	         " s.ok and exists (select 1 from pg_catalog.pg_attribute a"
	         "  where a.attrelid = pg_catalog.to_regclass('pgq_set.node')"
	         "  and a.attname = 'applied_revision' and not a.attisdropped)"
	         " from (select pg_catalog.to_regnamespace('pgq_set') is not null as ok) s",
	         run->timeout_ms);
	rd_send(run, c, RD_PROBE, sql, 0, NULL);
}

/*
 * The read: the node row (get_node), its worker's heartbeat age and lock, fenced, the
 * revision and the tables as one JSON text, all in the server's clock; on the root also its
 * newest tick. Built from fixed fragments chosen by the probe; the cascade is parameter $1.
 */
static void rd_send_read(struct rd_run *run, struct rd_conn *c)
{
	const struct rd_probe *p = &c->probe;
	const char *params[1] = {run->r->cascade};
	bool root_ticks = c->is_root && p->has_pgq;
	struct sky_buf sql;

	sky_buf_init(&sql);
	sky_buf_adds(&sql, "select n.node_name, n.node_role, n.provider_node, n.last_tick,"
	                   " n.paused, n.paused_ack, n.worker_error,"
	                   " extract(epoch from pg_catalog.now() - n.worker_seen)::float8, ");
	sky_buf_adds(&sql, p->has_fenced ? "pgq_set.is_fenced($1), " : "null::boolean, ");
	sky_buf_adds(&sql, p->has_running ? "pgq_set.worker_running($1), " : "null::boolean, ");
	if (p->has_revision_fn)
		/* the applied revision, and the last attempt when it failed */
		sky_buf_adds(&sql,
		             "(select pg_catalog.left(r.applied_revision, 12)"
		             " || coalesce(' ' || r.applied_subject, '')"
		             " || case when r.attempted_error is not null"
		             " then ' (last attempt ' || pg_catalog.left(r.attempted_revision, 12)"
		             " || ' failed: ' || r.attempted_error || ')' else '' end"
		             " from pgq_set.get_revision($1) r), ");
	else if (p->has_revision_col)
		sky_buf_adds(&sql, "(select x.applied_revision::text from pgq_set.node x"
		                   " where x.cascade = $1), ");
	else
		sky_buf_adds(&sql, "null::text, ");
	sky_buf_adds(&sql, "(select pg_catalog.json_agg(pg_catalog.json_build_array(t.table_name,"
	                   " t.state, ");
	sky_buf_adds(&sql, p->has_copy_cols
	                       ? "t.rows_copied, t.rows_estimate,"
	                         " extract(epoch from pg_catalog.now() - t.copy_started)::float8,"
	                         " t.copy_error"
	                       : "null, null, null, null");
	sky_buf_adds(&sql, ") order by t.table_name) from pgq_set.table_info t"
	                   " where t.cascade = $1)::text, ");
	sky_buf_adds(&sql,
	             root_ticks ? "k.tick_id, k.tick_time::text" : "null::bigint, null::text");
	sky_buf_adds(&sql, " from pgq_set.get_node($1) n");
	if (root_ticks)
		sky_buf_adds(&sql,
		             " left join lateral (select tk.tick_id, tk.tick_time"
		             " from pgq.tick tk join pgq.queue q on q.queue_id = tk.tick_queue"
		             " where q.queue_name = $1 order by tk.tick_id desc limit 1) k"
		             " on true");
	rd_send(run, c, RD_READ, sql.data, 1, params);
	sky_buf_release(&sql);
}

static bool res_bool(const PGresult *res, int col)
{
	return !PQgetisnull(res, 0, col) && PQgetvalue(res, 0, col)[0] == 't';
}

static enum status_tri res_tri(const PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return STATUS_UNKNOWN;
	return PQgetvalue(res, 0, col)[0] == 't' ? STATUS_YES : STATUS_NO;
}

static char *res_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : sky_strdup(PQgetvalue(res, row, col));
}

static long long res_ll(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double res_double(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1 : strtod(PQgetvalue(res, row, col), NULL);
}

static char *json_str_dup(const json_t *v)
{
	return json_is_string(v) ? sky_strdup(json_string_value(v)) : NULL;
}

/* [[name, state, rows_copied, rows_estimate, copy_elapsed, copy_error], ...] from the read. */
static int tables_parse(struct status_node *n, const char *text, const struct topology *topo)
{
	json_error_t jerr;
	json_t *arr;
	size_t count;

	if (!text)
		return 0; /* no table registered */
	arr = json_loads(text, 0, &jerr);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return -1;
	}
	count = json_array_size(arr);
	n->tables = sky_calloc(count + 1, sizeof(*n->tables));
	for (size_t i = 0; i < count; i++) {
		const json_t *e = json_array_get(arr, i);
		struct status_table *t = &n->tables[n->n_tables++];
		const json_t *v;

		t->name = json_str_dup(json_array_get(e, 0));
		t->state = json_str_dup(json_array_get(e, 1));
		v = json_array_get(e, 2);
		t->rows_copied = json_is_number(v) ? (long long)json_number_value(v) : -1;
		v = json_array_get(e, 3);
		t->rows_estimate = json_is_number(v) ? (long long)json_number_value(v) : -1;
		v = json_array_get(e, 4);
		t->copy_elapsed_s = json_is_number(v) ? json_number_value(v) : -1;
		t->copy_error = json_str_dup(json_array_get(e, 5));
		if (t->copy_error) {
			char *clean = catalog_text_scrub(t->copy_error, topo);

			free(t->copy_error);
			t->copy_error = clean;
		}
	}
	json_decref(arr);
	return 0;
}

static void probe_done(struct rd_run *run, struct rd_conn *c)
{
	const PGresult *res = c->res;

	if (!res || PQntuples(res) != 1 || PQnfields(res) != 7) {
		rd_fail(run, c, "could not read the catalog", "unexpected answer to the probe");
		return;
	}
	c->probe.has_pgq = res_bool(res, 0);
	c->probe.has_set = res_bool(res, 1);
	c->probe.has_fenced = res_bool(res, 2);
	c->probe.has_running = res_bool(res, 3);
	c->probe.has_copy_cols = res_bool(res, 4);
	c->probe.has_revision_fn = res_bool(res, 5);
	c->probe.has_revision_col = res_bool(res, 6);
	c->node->has_pgq_set = c->probe.has_set;
	if (!c->probe.has_set) {
		c->node->reachable = true; /* read: there is nothing to read */
		c->state = RD_DONE;
		return;
	}
	rd_send_read(run, c);
}

static void read_done(struct rd_run *run, struct rd_conn *c)
{
	const PGresult *res = c->res;
	struct status_node *n = c->node;

	if (!res || PQnfields(res) != 14) {
		rd_fail(run, c, "could not read the catalog", "unexpected answer to the read");
		return;
	}
	n->reachable = true;
	c->state = RD_DONE;
	if (PQntuples(res) == 0)
		return; /* pgq_set is there, the node is not created in this cascade */
	n->created = true;
	n->role = res_str(res, 0, 1);
	n->provider = res_str(res, 0, 2);
	n->last_tick = res_ll(res, 0, 3);
	n->paused = res_bool(res, 4);
	n->paused_ack = res_bool(res, 5);
	n->worker_error = res_str(res, 0, 6);
	if (n->worker_error) {
		char *clean = catalog_text_scrub(n->worker_error, run->topo);

		free(n->worker_error);
		n->worker_error = clean;
	}
	n->worker_seen_age_s = res_double(res, 0, 7);
	if (n->worker_seen_age_s < 0 && !PQgetisnull(res, 0, 7))
		n->worker_seen_age_s = 0; /* a heartbeat stamped after our now(): just seen */
	n->fenced = res_tri(res, 8);
	n->worker_lock = res_tri(res, 9);
	n->revision = res_str(res, 0, 10);
	if (tables_parse(n, PQgetisnull(res, 0, 11) ? NULL : PQgetvalue(res, 0, 11), run->topo) <
	    0) {
		rd_fail(run, c, "could not read the catalog", "unexpected table list");
		return;
	}
	if (c->is_root && !PQgetisnull(res, 0, 12)) {
		/* the reference of every lag; the root itself is 0 behind it */
		run->r->root_tick = res_ll(res, 0, 12);
		free(run->r->root_tick_time);
		run->r->root_tick_time = res_str(res, 0, 13);
		n->last_tick = run->r->root_tick;
		n->last_tick_time = sky_strdup(run->r->root_tick_time);
		n->tick_known = true;
		n->lag_s = 0;
		n->lag_ticks = 0;
		c->state = RD_IDLE;
	}
}

static void lookup_done(struct rd_run *run, struct rd_conn *c)
{
	const PGresult *res = c->res;

	c->state = RD_IDLE;
	if (!res || PQnfields(res) != 4)
		return;
	for (int row = 0; row < PQntuples(res); row++) {
		long long id = res_ll(res, row, 0);
		double secs = res_double(res, row, 2);
		long long ticks = res_ll(res, row, 3);

		for (size_t i = 0; i < run->n; i++) {
			struct status_node *n = run->conns[i].node;

			if (&run->conns[i] == run->root || !n->created || n->last_tick != id ||
			    n->tick_known || PQgetisnull(res, row, 1))
				continue;
			n->tick_known = true;
			n->last_tick_time = res_str(res, row, 1);
			n->lag_s =
			    secs > 0 ? secs : 0; /* a node read after the root may be ahead */
			n->lag_ticks = ticks > 0 ? ticks : 0;
		}
	}
}

/* The last ticks the root has not been asked about, as a bigint[] literal; NULL if none. */
static char *lookup_ticks(struct rd_run *run)
{
	struct sky_buf b;
	size_t count = 0;

	sky_buf_init(&b);
	sky_buf_addch(&b, '{');
	for (size_t i = 0; i < run->n; i++) {
		struct rd_conn *c = &run->conns[i];

		if (c == run->root || c->state != RD_DONE || c->tick_asked || !c->node->created ||
		    c->node->last_tick < 0)
			continue;
		c->tick_asked = true;
		sky_buf_addf(&b, "%s%lld", count ? "," : "", c->node->last_tick);
		count++;
	}
	sky_buf_addch(&b, '}');
	if (count == 0) {
		sky_buf_release(&b);
		return NULL;
	}
	return sky_buf_detach(&b);
}

/*
 * The root, read and idle: ask it about the last ticks of the nodes read since, or finish
 * when every other node is done.
 */
static void root_step(struct rd_run *run)
{
	static const char sql[] =
	    "select x.id, tk.tick_time::text,"
	    " extract(epoch from (select r.tick_time from pgq.tick r"
	    "  where r.tick_queue = q.queue_id and r.tick_id = $2::bigint) - tk.tick_time)::float8,"
	    " (select pg_catalog.count(*) from pgq.tick c where c.tick_queue = q.queue_id"
	    "  and c.tick_id > x.id and c.tick_id <= $2::bigint)"
	    " from pgq.queue q cross join pg_catalog.unnest($3::bigint[]) x(id)"
	    " join pgq.tick tk on tk.tick_queue = q.queue_id and tk.tick_id = x.id"
	    " where q.queue_name = $1";
	struct rd_conn *c = run->root;
	char ref[32];
	char *ticks;
	const char *params[3];
	bool others_done = true;

	if (!c || c->state != RD_IDLE)
		return;
	ticks = lookup_ticks(run);
	if (!ticks) {
		for (size_t i = 0; i < run->n; i++) {
			if (&run->conns[i] != c && run->conns[i].state != RD_DONE &&
			    run->conns[i].state != RD_FAILED)
				others_done = false;
		}
		if (others_done)
			c->state = RD_DONE;
		return;
	}
	snprintf(ref, sizeof(ref), "%lld", run->r->root_tick);
	params[0] = run->r->cascade;
	params[1] = ref;
	params[2] = ticks;
	rd_send(run, c, RD_LOOKUP, sql, 3, params);
	free(ticks);
}

/* A query of c has ended (PQgetResult gave NULL): act on what it returned. */
static void query_done(struct rd_run *run, struct rd_conn *c)
{
	enum rd_state st = c->state;

	if (c->query_error) {
		char *msg = c->query_error;

		c->query_error = NULL;
		rd_fail(run, c, "could not read the catalog", msg);
		free(msg);
		return;
	}
	if (st == RD_PROBE)
		probe_done(run, c);
	else if (st == RD_READ)
		read_done(run, c);
	else if (st == RD_LOOKUP)
		lookup_done(run, c);
	PQclear(c->res);
	c->res = NULL;
}

/* Input arrived (or the socket broke) on a connection with a query running. */
static void rd_input(struct rd_run *run, struct rd_conn *c)
{
	if (!PQconsumeInput(c->conn)) {
		rd_fail(run, c, "could not read the catalog", PQerrorMessage(c->conn));
		return;
	}
	while (c->conn && !PQisBusy(c->conn)) {
		PGresult *res = PQgetResult(c->conn);
		ExecStatusType st;

		if (!res) {
			query_done(run, c);
			return;
		}
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK) {
			PQclear(c->res);
			c->res = res;
		} else {
			if (st != PGRES_COMMAND_OK && !c->query_error) {
				const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

				c->query_error = sky_strdup(m ? m : PQresultErrorMessage(res));
			}
			PQclear(res);
		}
	}
}

/* One connection's turn after poll(): revents are what poll() reported for its socket. */
static void rd_step(struct rd_run *run, struct rd_conn *c, short revents)
{
	if (c->state == RD_CONNECTING) {
		c->polling = PQconnectPoll(c->conn);
		if (c->polling == PGRES_POLLING_FAILED) {
			char what[160];

			snprintf(what, sizeof(what), "could not connect to node \"%s\"",
			         c->node->name);
			rd_fail(run, c, what, PQerrorMessage(c->conn));
		} else if (c->polling == PGRES_POLLING_OK) {
			if (PQsetnonblocking(c->conn, 1) != 0)
				rd_fail(run, c, "could not connect", PQerrorMessage(c->conn));
			else
				rd_send_probe(run, c);
		}
		return;
	}
	if (c->flushing && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int fl = PQflush(c->conn);

		if (fl < 0) {
			rd_fail(run, c, "could not read the catalog", PQerrorMessage(c->conn));
			return;
		}
		c->flushing = fl == 1;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP))
		rd_input(run, c);
}

static bool rd_waiting(const struct rd_conn *c)
{
	return c->state == RD_CONNECTING || c->state == RD_PROBE || c->state == RD_READ ||
	       c->state == RD_LOOKUP;
}

int status_read(struct status_report *r, const struct topology *topo, int timeout_ms,
                struct sky_error *err)
{
	struct rd_run run;
	struct pollfd *fds = NULL;
	struct rd_conn **fd_conn = NULL;
	long long deadline = sky_now_ms() + timeout_ms;
	int ret = -1;

	if (r->n_nodes != topo->n_nodes)
		return sky_error_set(err, "the status report does not match the topology");
	memset(&run, 0, sizeof(run));
	run.r = r;
	run.topo = topo;
	run.n = r->n_nodes;
	run.timeout_ms = timeout_ms;
	run.conns = sky_calloc(run.n + 1, sizeof(*run.conns));
	fds = sky_calloc(run.n + 1, sizeof(*fds));
	fd_conn = sky_calloc(run.n + 1, sizeof(*fd_conn));
	for (size_t i = 0; i < run.n; i++) {
		struct rd_conn *c = &run.conns[i];

		c->node = &r->nodes[i];
		c->tn = &topo->nodes[i];
		c->is_root = r->root && strcmp(r->root, c->node->name) == 0;
		if (c->is_root)
			run.root = c;
		rd_start_connect(&run, c);
	}

	for (;;) {
		nfds_t nfds = 0;
		long long left;
		int rc;

		root_step(&run);
		for (size_t i = 0; i < run.n; i++) {
			struct rd_conn *c = &run.conns[i];
			short events;

			if (!rd_waiting(c))
				continue;
			if (c->state == RD_CONNECTING)
				events = c->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			else
				events = (short)(POLLIN | (c->flushing ? POLLOUT : 0));
			fds[nfds].fd = PQsocket(c->conn);
			fds[nfds].events = events;
			fds[nfds].revents = 0;
			fd_conn[nfds++] = c;
		}
		if (nfds == 0)
			break;
		left = deadline - sky_now_ms();
		if (left <= 0)
			break;
		rc = poll(fds, nfds, (int)left);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			sky_error_set(err, "poll failed: %s", strerror(errno));
			goto out;
		}
		for (nfds_t k = 0; k < nfds; k++) {
			if (fds[k].revents)
				rd_step(&run, fd_conn[k], fds[k].revents);
		}
	}
	/* the deadline: whoever has not answered is unreachable (the root keeps what it read) */
	for (size_t i = 0; i < run.n; i++) {
		struct rd_conn *c = &run.conns[i];
		char msg[96];

		if (!rd_waiting(c) && c->state != RD_IDLE)
			continue;
		snprintf(msg, sizeof(msg), "no answer within %d.%d s (%s)", timeout_ms / 1000,
		         timeout_ms % 1000 / 100, rd_state_names[c->state]);
		rd_fail(&run, c, "timeout", msg);
	}
	ret = 0;
out:
	for (size_t i = 0; i < run.n; i++) {
		PQclear(run.conns[i].res);
		free(run.conns[i].query_error);
		if (run.conns[i].conn)
			PQfinish(run.conns[i].conn);
	}
	free(run.conns);
	free(fds);
	free(fd_conn);
	return ret;
}

void status_read_failover(struct status_report *r, const struct topology *topo, int timeout_ms)
{
	int timeout_s = timeout_ms / 1000 > 2 ? timeout_ms / 1000 : 2;

	for (size_t i = 0; i < r->n_nodes && i < topo->n_nodes && !r->failover_state; i++) {
		const char *params[1] = {topo->cascade};
		PGconn *c = NULL;
		PGresult *res;

		if (r->nodes[i].dead || !r->nodes[i].reachable || !r->nodes[i].has_pgq_set)
			continue;
		if (sky_pg_connect_within(&c, topo->nodes[i].dsn, timeout_s, topo->nodes[i].name,
		                          NULL) < 0)
			continue;
		/* pgq_set 7 on only (a node is read before its upgrade) */
		res = PQexec(c, "select to_regclass('pgq_set.failover_state') is not null");
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
		    strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			PQclear(res);
			PQfinish(c);
			continue;
		}
		PQclear(res);
		res = PQexecParams(c,
		                   "select f.state, f.dead_node, f.reason, f.host,"
		                   " to_char(f.decided_at at time zone 'UTC',"
		                   " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		                   " from pgq_set.failover_state f where f.cascade = $1",
		                   1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			r->failover_state = res_str(res, 0, 0);
			r->failover_dead = res_str(res, 0, 1);
			r->failover_reason = catalog_text_scrub(PQgetvalue(res, 0, 2), topo);
			r->failover_host = res_str(res, 0, 3);
			r->failover_at = res_str(res, 0, 4);
		}
		PQclear(res);
		PQfinish(c);
	}
}
