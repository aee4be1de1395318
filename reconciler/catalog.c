/*
 * catalog: read the actual state of every node (see actual.h, docs/reconciler.md).
 *
 * Reads only. On each node, in one read-only repeatable-read transaction: is extension pgq
 * installed, does pgq_set exist (checked before any of its functions is called, so a node
 * without it is read without an error), its version, and the cascade's node row, members,
 * subscribers and tables with their copy progress, with the columns that version's functions
 * return. Texts written by workers (worker_error, copy_error) are cleaned like connection
 * errors: one line, no password of any node.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"

static char *dup_value(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return sky_strdup(PQgetvalue(res, row, col));
}

static bool bool_value(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* *out: the one boolean the query returns (a probe: does a function exist, ...). 0 or -1. */
static int query_bool(bool *out, PGconn *conn, const char *sql, struct sky_error *err)
{
	PGresult *res = NULL;
	int ret = -1;

	if (sky_pg_exec(&res, conn, err, sql, 0, NULL) < 0)
		goto out;
	*out = bool_value(res, 0, 0);
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static long long bigint_value(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return -1;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/*
 * Make a text from a server or a worker fit for a plan line: one line, and never a password
 * of any node of the topology (sky_text_scrub over every node's DSN). Returns a new string.
 */
static char *error_text_scrub(const char *message, const struct topology *topo)
{
	const char **dsns = sky_calloc(topo->n_nodes + 1, sizeof(*dsns));
	char *out;

	for (size_t i = 0; i < topo->n_nodes; i++)
		dsns[i] = topo->nodes[i].dsn;
	out = sky_text_scrub(message, dsns, topo->n_nodes);
	free(dsns);
	return out;
}

/* Replace *text (when set) by its scrubbed form. */
static void error_text_scrub_in_place(char **text, const struct topology *topo)
{
	char *clean;

	if (!*text)
		return;
	clean = error_text_scrub(*text, topo);
	free(*text);
	*text = clean;
}

/*
 * True when the installed pgq_set is at least version `want` (a decimal version). Reads
 * adapt to the version: a node is read before the plan upgrades it, with the columns its
 * version's functions return.
 */
static bool version_at_least(const char *version, long want)
{
	char *end = NULL;
	long v;

	if (!version || !*version)
		return false;
	v = strtol(version, &end, 10);
	if (*end != '\0')
		return true; /* not a number: newer than anything this binary knows */
	return v >= want;
}

/* Server notices (e.g. "already exists, skipping") are diagnostics: debug log, with the node. */
static void notice_to_log(void *arg, const char *message)
{
	const char *node = arg;
	size_t n = strlen(message);

	while (n > 0 && message[n - 1] == '\n')
		n--;
	sky_debug("node \"%s\": %.*s", node, (int)n, message);
}

/*
 * Open the connection to one node and prepare the session: notices to the debug log and
 * DateStyle ISO, so that timestamps read from one node are read back exactly by another.
 * tn must outlive the connection (its name is the notice processor's argument).
 */
static int conn_open(PGconn **out, const struct topo_node *tn, const char *what,
                     struct sky_error *err)
{
	PGconn *conn = NULL;
	int ret = -1;

	if (sky_pg_connect(&conn, tn->dsn, what, err) < 0)
		goto out;
	PQsetNoticeProcessor(conn, notice_to_log, (void *)tn->name);
	if (sky_pg_command(conn, err, "set datestyle to 'ISO, YMD'") < 0) {
		sky_error_prefix(err, "could not set up the session on %s", what);
		goto out;
	}
	*out = conn;
	conn = NULL;
	ret = 0;
out:
	if (conn)
		PQfinish(conn);
	return ret;
}

/*
 * The capture body against the library (docs/pgq_set.md, "The capture trigger's C body"): the
 * installer gives pgq_set.logutriga our C body where the server finds pgq_set_capture, else
 * PgQ's trigger, and fits the root's triggers to it; a library installed or removed since the
 * last installer run leaves the node with the other body (a removed one: every captured write
 * fails). Whether the server finds it is told from dynamic_library_path the way the server
 * reads it ($libdir the package library directory; the name with and without ".so"), with
 * pg_stat_file and pg_config, which need a superuser (as the installer does): for another role
 * nothing is told. Sets node->capture_stale.
 */
static int read_capture_body(struct actual_node *node, PGconn *conn, struct sky_error *err)
{
	static const char sql[] =
	    "select pgq_set.capture_library() = 'pgq_set_capture',"
	    " exists (select 1"
	    "  from pg_catalog.unnest(pg_catalog.string_to_array("
	    "        pg_catalog.current_setting('dynamic_library_path'), ':')) d,"
	    "       pg_catalog.unnest(array['/pgq_set_capture', '/pgq_set_capture.so']) f"
	    "  where d <> '' and (pg_catalog.pg_stat_file(pg_catalog.replace(d, '$libdir',"
	    "         (select setting from pg_catalog.pg_config() where name = 'PKGLIBDIR')) || f,"
	    "         true)).isdir is false)";
	PGresult *res = NULL;
	int ret = -1;
	bool ours, found, can;

	if (query_bool(
	        &can, conn,
	        "select pg_catalog.to_regprocedure('pgq_set.capture_library()') is not null"
	        " and (select rolsuper from pg_catalog.pg_roles where rolname = current_user)",
	        err) < 0)
		goto out;
	if (!can) {
		ret = 0;
		goto out;
	}
	if (sky_pg_exec(&res, conn, err, sql, 0, NULL) < 0)
		goto out;
	ours = bool_value(res, 0, 0);
	found = bool_value(res, 0, 1);
	if (ours && !found)
		node->capture_stale = sky_strdup("capture body pgq_set_capture, library not found");
	else if (!ours && found)
		node->capture_stale = sky_strdup("capture body PgQ's, pgq_set_capture found");
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int read_presence(struct actual_node *node, PGconn *conn, struct sky_error *err)
{
	static const char sql[] =
	    "select (select extversion from pg_catalog.pg_extension where extname = 'pgq'),"
	    " case when pg_catalog.to_regnamespace('pgq_set') is null then false"
	    " else pg_catalog.to_regprocedure('pgq_set.version()') is not null end";
	PGresult *res = NULL;
	int ret = -1;

	if (sky_pg_exec(&res, conn, err, sql, 0, NULL) < 0)
		goto out;
	node->has_pgq = !PQgetisnull(res, 0, 0);
	node->has_pgq_set = bool_value(res, 0, 1);
	PQclear(res);
	res = NULL;
	if (node->has_pgq_set) {
		if (sky_pg_exec(&res, conn, err,
		                "select pgq_set.version(), substring(pg_catalog.obj_description("
		                "'pgq_set'::regnamespace, 'pg_namespace') from"
		                " '^skycascade installer ([0-9a-f]+)$')",
		                0, NULL) < 0)
			goto out;
		node->version = dup_value(res, 0, 0);
		node->installer = dup_value(res, 0, 1);
		if (!node->version)
			node->has_pgq_set =
			    false; /* schema exists, no version recorded: reinstall */
		else if (read_capture_body(node, conn, err) < 0)
			goto out;
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int read_identity(struct actual_node *node, PGconn *conn, const char *cascade,
                         struct sky_error *err)
{
	/* parallel_copies is the last column of get_node from version 2 on */
	static const char sql_v1[] =
	    "select node_name, node_role, provider_node, last_tick, paused, paused_ack,"
	    " worker_error, 0, false from pgq_set.get_node($1)";
	static const char sql_v2[] =
	    "select node_name, node_role, provider_node, last_tick, paused, paused_ack,"
	    " worker_error, parallel_copies, to_regprocedure('pgq_set.is_fenced(text)') is not null"
	    " from pgq_set.get_node($1)";
	const char *sql = version_at_least(node->version, 2) ? sql_v2 : sql_v1;
	const char *params[1] = {cascade};
	struct actual_identity *id = &node->self;
	PGresult *res = NULL;
	int ret = -1;

	if (sky_pg_exec(&res, conn, err, sql, 1, params) < 0)
		goto out;
	if (PQntuples(res) == 0) {
		node->created = false;
		ret = 0;
		goto out;
	}
	node->created = true;
	id->name = dup_value(res, 0, 0);
	id->role_text = dup_value(res, 0, 1);
	if (!id->name || !id->role_text || sky_role_parse(&id->role, id->role_text) < 0) {
		sky_error_set(err, "pgq_set.get_node returned an unknown role \"%s\"",
		              id->role_text ? id->role_text : "(null)");
		goto out;
	}
	id->provider = dup_value(res, 0, 2);
	id->last_tick = bigint_value(res, 0, 3);
	id->paused = bool_value(res, 0, 4);
	id->paused_ack = bool_value(res, 0, 5);
	id->worker_error = dup_value(res, 0, 6);
	id->parallel_copies =
	    PQgetisnull(res, 0, 7) ? 0 : (int)strtol(PQgetvalue(res, 0, 7), NULL, 10);
	if (bool_value(res, 0, 8)) {
		/* pgq_set.fence exists in this catalog: is the node fenced? */
		PQclear(res);
		res = NULL;
		if (sky_pg_exec(&res, conn, err, "select pgq_set.is_fenced($1)", 1, params) < 0)
			goto out;
		id->fenced = bool_value(res, 0, 0);
	}
	if (id->role == SKY_ROLE_ROOT) {
		/* the queue's ticker thresholds, which settings.ticker_* set (plan_settings) */
		PQclear(res);
		res = NULL;
		if (sky_pg_exec(&res, conn, err,
		                "select queue_ticker_max_count,"
		                " round(extract(epoch from queue_ticker_max_lag) * 1000),"
		                " round(extract(epoch from queue_ticker_idle_period) * 1000)"
		                " from pgq.queue where queue_name = $1",
		                1, params) < 0)
			goto out;
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			id->ticker_max_count = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
			id->ticker_max_lag_ms = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
			id->ticker_idle_period_ms = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
		}
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

/*
 * What the plan checks before it adds a table (plan-time checks): for every table of the
 * topology, does it exist here, is it partitioned, has it a primary key, is that deferrable, has
 * its index INCLUDE columns.
 * Read from the system catalogs, so it works before pgq_set is installed.
 */
static int read_table_checks(struct actual_node *node, PGconn *conn, const struct topology *topo,
                             struct sky_error *err)
{
	struct sky_buf arr;
	const char *params[1];
	PGresult *res = NULL;
	int ret = -1;

	if (topo->n_tables == 0)
		return 0;
	/* a text[] literal: every element quoted, " and \ escaped */
	sky_buf_init(&arr);
	sky_buf_addch(&arr, '{');
	for (size_t i = 0; i < topo->n_tables; i++) {
		sky_buf_adds(&arr, i ? ",\"" : "\"");
		for (const char *c = topo->tables[i].name; *c; c++) {
			if (*c == '"' || *c == '\\')
				sky_buf_addch(&arr, '\\');
			sky_buf_addch(&arr, *c);
		}
		sky_buf_addch(&arr, '"');
	}
	sky_buf_addch(&arr, '}');
	params[0] = arr.data;
	if (sky_pg_exec(&res, conn, err,
	                "select t.name, c.oid is not null, coalesce(c.relkind::text, ''),"
	                " exists (select 1 from pg_constraint k where k.conrelid = c.oid"
	                "  and k.contype = 'p'),"
	                " exists (select 1 from pg_constraint k where k.conrelid = c.oid"
	                "  and k.contype = 'p' and k.condeferrable),"
	                " exists (select 1 from pg_constraint k"
	                "  join pg_index x on x.indexrelid = k.conindid where k.conrelid = c.oid"
	                "  and k.contype = 'p' and x.indnatts > x.indnkeyatts)"
	                " from unnest($1::text[]) as t(name)"
	                " left join (pg_class c join pg_namespace n on n.oid = c.relnamespace)"
	                " on n.nspname || '.' || c.relname = t.name and c.relkind in ('r', 'p')",
	                1, params) < 0)
		goto out;
	node->checks = sky_calloc((size_t)PQntuples(res) + 1, sizeof(*node->checks));
	for (int i = 0; i < PQntuples(res); i++) {
		struct actual_check *k = &node->checks[node->n_checks++];

		k->name = sky_strdup(PQgetvalue(res, i, 0));
		k->exists = bool_value(res, i, 1);
		k->partitioned = strcmp(PQgetvalue(res, i, 2), "p") == 0;
		k->has_pk = bool_value(res, i, 3);
		k->pk_deferrable = bool_value(res, i, 4);
		k->pk_include = bool_value(res, i, 5);
	}
	ret = 0;
out:
	PQclear(res);
	sky_buf_release(&arr);
	return ret;
}

/* The listed sequences (pgq_set 5 on: checked by name, a node is read before its upgrade). */
static int read_sequences(struct actual_node *node, PGconn *conn, const char *cascade,
                          struct sky_error *err)
{
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	int ret = -1;

	if (query_bool(&node->has_sequences, conn,
	               "select to_regprocedure('pgq_set.get_sequences(text)') is not null",
	               err) < 0)
		goto out;
	if (!node->has_sequences) {
		ret = 0;
		goto out;
	}
	if (sky_pg_exec(&res, conn, err, "select seq_name from pgq_set.get_sequences($1)", 1,
	                params) < 0)
		goto out;
	node->sequences = sky_calloc((size_t)PQntuples(res) + 1, sizeof(*node->sequences));
	for (int i = 0; i < PQntuples(res); i++)
		node->sequences[node->n_sequences++] = sky_strdup(PQgetvalue(res, i, 0));
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static double age_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? -1.0 : strtod(PQgetvalue(res, row, col), NULL);
}

/*
 * The worker's witness and a declined failover (pgq_set 7 on: checked by name, a node is
 * read before its upgrade).
 */
static int read_failover(struct actual_node *node, PGconn *conn, const char *cascade,
                         struct sky_error *err)
{
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	int ret = -1;
	bool has;

	if (query_bool(&has, conn,
	               "select to_regprocedure('pgq_set.get_witness(text)') is not null", err) < 0)
		goto out;
	if (!has) {
		ret = 0;
		goto out;
	}
	if (sky_pg_exec(&res, conn, err,
	                "select provider_node, heartbeat_age, contact_age, progress_age,"
	                " provider_tick from pgq_set.get_witness($1)",
	                1, params) < 0)
		goto out;
	if (PQntuples(res) == 1) {
		node->witness.present = true;
		node->witness.provider = dup_value(res, 0, 0);
		node->witness.heartbeat_age = age_value(res, 0, 1);
		node->witness.contact_age = age_value(res, 0, 2);
		node->witness.progress_age = age_value(res, 0, 3);
		node->witness.provider_tick =
		    PQgetisnull(res, 0, 4) ? -1 : strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	}
	PQclear(res);
	res = NULL;
	if (sky_pg_exec(&res, conn, err,
	                "select state, dead_node, reason, evidence, host,"
	                " to_char(decided_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	                " from pgq_set.get_failover($1)",
	                1, params) < 0)
		goto out;
	if (PQntuples(res) == 1) {
		node->failover.state = dup_value(res, 0, 0);
		node->failover.dead = dup_value(res, 0, 1);
		node->failover.reason = dup_value(res, 0, 2);
		node->failover.evidence = dup_value(res, 0, 3);
		node->failover.host = dup_value(res, 0, 4);
		node->failover.decided_at = dup_value(res, 0, 5);
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int read_members(struct actual_node *node, PGconn *conn, const char *cascade,
                        struct sky_error *err)
{
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	int ret = -1;
	int n;

	if (sky_pg_exec(&res, conn, err,
	                "select node_name, location, dead from pgq_set.get_members($1)", 1,
	                params) < 0)
		goto out;
	n = PQntuples(res);
	node->members = sky_calloc((size_t)n + 1, sizeof(*node->members));
	for (int i = 0; i < n; i++) {
		struct actual_member *m = &node->members[node->n_members++];

		m->name = dup_value(res, i, 0);
		m->location = dup_value(res, i, 1);
		m->dead = bool_value(res, i, 2);
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int read_subscribers(struct actual_node *node, PGconn *conn, const char *cascade,
                            struct sky_error *err)
{
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	int ret = -1;
	int n;

	if (sky_pg_exec(&res, conn, err,
	                "select node_name, last_tick, watermark from pgq_set.get_subscribers($1)",
	                1, params) < 0)
		goto out;
	n = PQntuples(res);
	node->subscribers = sky_calloc((size_t)n + 1, sizeof(*node->subscribers));
	for (int i = 0; i < n; i++) {
		struct actual_subscriber *s = &node->subscribers[node->n_subscribers++];

		s->name = dup_value(res, i, 0);
		s->last_tick = bigint_value(res, i, 1);
		s->watermark = bigint_value(res, i, 2);
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static int read_tables(struct actual_node *node, PGconn *conn, const char *cascade,
                       struct sky_error *err)
{
	/* the copy columns come with version 2 */
	static const char sql_v1[] =
	    "select table_name, state, schema_name, rel_name, false, null::bigint, null::bigint,"
	    " null::text from pgq_set.get_tables($1)";
	static const char sql_v2[] =
	    "select table_name, state, schema_name, rel_name, create_missing, rows_copied,"
	    " rows_estimate, copy_error from pgq_set.get_tables($1)";
	const char *sql = version_at_least(node->version, 2) ? sql_v2 : sql_v1;
	const char *params[1] = {cascade};
	PGresult *res = NULL;
	int ret = -1;
	int n;

	if (sky_pg_exec(&res, conn, err, sql, 1, params) < 0)
		goto out;
	n = PQntuples(res);
	node->tables = sky_calloc((size_t)n + 1, sizeof(*node->tables));
	for (int i = 0; i < n; i++) {
		struct actual_table *t = &node->tables[node->n_tables++];

		t->name = dup_value(res, i, 0);
		t->state = dup_value(res, i, 1);
		t->schema = dup_value(res, i, 2);
		t->relname = dup_value(res, i, 3);
		t->create_missing = bool_value(res, i, 4);
		t->rows_copied = bigint_value(res, i, 5);
		t->rows_estimate = bigint_value(res, i, 6);
		t->copy_error = dup_value(res, i, 7);
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

int catalog_node_read(struct actual_node *node, PGconn *conn, const char *cascade,
                      struct sky_error *err)
{
	int ret = -1;
	bool in_tx = false;

	if (sky_pg_command(conn, err,
	                   "begin transaction isolation level repeatable read read only") < 0)
		goto out;
	in_tx = true;
	if (read_presence(node, conn, err) < 0)
		goto out;
	if (node->has_pgq_set) {
		if (read_identity(node, conn, cascade, err) < 0 ||
		    read_members(node, conn, cascade, err) < 0 ||
		    read_subscribers(node, conn, cascade, err) < 0 ||
		    read_tables(node, conn, cascade, err) < 0 ||
		    read_sequences(node, conn, cascade, err) < 0 ||
		    read_failover(node, conn, cascade, err) < 0)
			goto out;
	}
	if (sky_pg_command(conn, err, "commit") < 0)
		goto out;
	in_tx = false;
	ret = 0;
out:
	if (in_tx) {
		PGresult *res = PQexec(conn, "rollback");

		PQclear(res);
	}
	return ret;
}

int catalog_state_read(struct actual_state **out, PGconn **conns, const struct topology *topo,
                       struct sky_error *err)
{
	return catalog_state_read_except(out, conns, topo, NULL, err);
}

int catalog_state_read_except(struct actual_state **out, PGconn **conns,
                              const struct topology *topo, const char *skip, struct sky_error *err)
{
	struct actual_state *state = sky_calloc(1, sizeof(*state));

	state->nodes = sky_calloc(topo->n_nodes + 1, sizeof(*state->nodes));
	state->n_nodes = topo->n_nodes;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];
		struct actual_node *an = &state->nodes[i];
		struct sky_error nerr;
		char what[128];
		int rc;

		sky_error_clear(&nerr);
		an->name = sky_strdup(tn->name);
		if (skip && strcmp(skip, tn->name) == 0) {
			an->error = sky_strdup("not read: it does not answer");
			continue;
		}
		snprintf(what, sizeof(what), "node \"%s\"", tn->name);
		if (!conns[i] && conn_open(&conns[i], tn, what, &nerr) < 0) {
			an->error = error_text_scrub(nerr.message, topo);
			sky_debug("node \"%s\": unreachable: %s", tn->name, an->error);
			continue;
		}
		rc = catalog_node_read(an, conns[i], topo->cascade, &nerr);
		if (rc == 0)
			rc = read_table_checks(an, conns[i], topo, &nerr);
		/*
		 * Written by workers, shown in plans and JSON: one line, no password; scrubbed even
		 * when a later read failed (what was read is still reported).
		 */
		error_text_scrub_in_place(&an->self.worker_error, topo);
		for (size_t k = 0; k < an->n_tables; k++)
			error_text_scrub_in_place(&an->tables[k].copy_error, topo);
		if (rc < 0) {
			char *msg = error_text_scrub(nerr.message, topo);

			an->error = sky_asprintf("could not read the catalog: %s", msg);
			free(msg);
			sky_debug("node \"%s\": %s", tn->name, an->error);
			if (!sky_pg_alive(conns[i])) {
				PQfinish(conns[i]);
				conns[i] = NULL;
			}
			continue;
		}
		an->reachable = true;
		sky_debug("node \"%s\": pgq %s, pgq_set %s, %s", tn->name,
		          an->has_pgq ? "installed" : "missing",
		          an->version ? an->version : "missing",
		          an->created ? sky_role_name(an->self.role) : "not created");
	}
	*out = state;
	return 0;
}

void catalog_conns_close(PGconn **conns, size_t n)
{
	if (!conns)
		return;
	for (size_t i = 0; i < n; i++) {
		if (conns[i]) {
			PQfinish(conns[i]);
			conns[i] = NULL;
		}
	}
}

char *catalog_text_scrub(const char *text, const struct topology *topo)
{
	return error_text_scrub(text, topo);
}

int catalog_head_tick_read(long long *out, PGconn *conn, const char *cascade, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *params[1] = {cascade};

	if (sky_pg_exec(&res, conn, err,
	                "select max(t.tick_id) from pgq.tick t join pgq.queue q"
	                " on q.queue_id = t.tick_queue where q.queue_name = $1",
	                1, params) < 0) {
		sky_error_prefix(err, "could not read the newest tick");
		goto out;
	}
	*out = PQgetisnull(res, 0, 0) ? -1 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	ret = 0;
out:
	PQclear(res);
	return ret;
}
