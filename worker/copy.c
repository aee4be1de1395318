/*
 * copy: one table's initial copy (child process) and the parent's bookkeeping of children.
 */
#include "copy.h"

#include <errno.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgscript.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "worker.h"
#include "sky_time.h"

#define PROGRESS_PERIOD 1.0   /* seconds between copy_progress reports */
#define RETRY_PAUSE_MIN 10.0  /* after a failed attempt, doubling ... */
#define RETRY_PAUSE_MAX 300.0 /* ... up to this */
#define NOT_READY_PAUSE 2.0   /* the provider is still copying the table itself */
#define STOP_GRACE 5.0        /* seconds a copy child gets to end after SIGTERM, then SIGKILL */

/* ---------------------------------------------------------------- the child */

/* The connections and state of one copy. */
struct copy_run {
	const struct sky_copy_params *p;
	PGconn *local;    /* the copy's transaction */
	PGconn *progress; /* autocommit: copy_progress / copy_failed */
	PGconn *prov;     /* the source, repeatable read */
	char *qname;      /* "schema"."rel" */
	bool create_missing;
	bool from_root;
	char *snapshot; /* from the root: the copy's snapshot */
	char *tick;     /* from a branch: its completed tick */
	char *estimate;
	char *cols; /* quoted column list, generated columns left out */
	char **ddl; /* statements creating the structure, when it is missing */
	size_t nddl;
	long long rows;
	bool not_ready; /* the provider's own copy of the table is not 'ok' yet */
	bool truncated; /* emptied by TRUNCATE in this subtransaction: COPY FREEZE allowed */
	char **rebuild; /* statements recreating the indexes dropped before the load */
	size_t nrebuild;
};

static void run_release(struct copy_run *r)
{
	size_t i;

	PQfinish(r->local);
	PQfinish(r->progress);
	PQfinish(r->prov);
	free(r->qname);
	free(r->snapshot);
	free(r->tick);
	free(r->estimate);
	free(r->cols);
	for (i = 0; i < r->nddl; i++)
		free(r->ddl[i]);
	free(r->ddl);
	for (i = 0; i < r->nrebuild; i++)
		free(r->rebuild[i]);
	free(r->rebuild);
}

/* Query one value (NULL stays NULL): *out is a new string or NULL (caller frees). */
static int query_value(char **out, PGconn *conn, struct sky_error *err, const char *sql,
                       int nparams, const char *const *params)
{
	int ret = -1;
	PGresult *res = NULL;

	if (sky_pg_exec(&res, conn, err, sql, nparams, params) < 0)
		goto out;
	*out = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? sky_strdup(PQgetvalue(res, 0, 0))
	                                                     : NULL;
	ret = 0;
out:
	PQclear(res);
	return ret;
}

static void report_progress(struct copy_run *r)
{
	char rows[24];
	const char *params[4] = {r->p->cascade, r->p->table, rows, r->estimate};
	struct sky_error err;

	snprintf(rows, sizeof(rows), "%lld", r->rows);
	if (sky_pg_exec(NULL, r->progress, &err, "select pgq_set.copy_progress($1, $2, $3, $4)", 4,
	                params) < 0)
		sky_warning("table \"%s\": could not report copy progress: %s", r->p->table,
		            err.message);
}

/* Connections; the table's local registration; what the provider has. */
static int copy_prepare(struct copy_run *r, bool *still_copying, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *p_tab[2] = {r->p->cascade, r->p->table};
	const char *p_q[1];
	char what[128];
	char *role = NULL;
	int i;

	*still_copying = false;
	snprintf(what, sizeof(what), "provider \"%s\"", r->p->provider_node);
	if (sky_pg_connect(&r->local, r->p->local_dsn, "the local node", err) < 0 ||
	    sky_pg_connect(&r->progress, r->p->local_dsn, "the local node", err) < 0 ||
	    sky_pg_connect(&r->prov, r->p->provider_location, what, err) < 0)
		goto out;
	sky_pg_notices_to_log(r->local);
	sky_pg_notices_to_log(r->progress);
	sky_pg_notices_to_log(r->prov);
	/*
	 * Both ends of the COPY print and parse values with the same settings, and the rows
	 * travel in the provider's encoding, converted by the local server into its own (names
	 * read from either side too)
	 */
	if (sky_pg_command(r->local, err,
	                   "set session_replication_role = replica; " SKY_PG_VALUE_SETTINGS
	                   "; set application_name = 'skyworker copy'") < 0 ||
	    sky_pg_command(r->progress, err, "set application_name = skyworker") < 0 ||
	    /* named like the local session: remove_table on the provider stops this copy too */
	    sky_pg_command(r->prov, err,
	                   SKY_PG_VALUE_SETTINGS "; set application_name = 'skyworker copy'") < 0 ||
	    sky_pg_set_client_encoding(r->prov, sky_pg_server_encoding(r->prov), err) < 0 ||
	    sky_pg_set_client_encoding(r->local, sky_pg_server_encoding(r->prov), err) < 0 ||
	    sky_pg_set_client_encoding(r->progress, sky_pg_server_encoding(r->prov), err) < 0)
		goto out;
	if (sky_pg_exec(
	        &res, r->local, err,
	        "select schema_name, rel_name, create_missing, state from pgq_set.table_info"
	        " where cascade = $1 and table_name = $2",
	        2, p_tab) < 0)
		goto out;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 3), "copying") != 0) {
		ret = 0; /* removed or handed over meanwhile: nothing to do */
		goto out;
	}
	{
		char *qs = sky_pg_quote_ident(PQgetvalue(res, 0, 0));
		char *qr = sky_pg_quote_ident(PQgetvalue(res, 0, 1));

		r->qname = sky_asprintf("%s.%s", qs, qr);
		free(qs);
		free(qr);
	}
	r->create_missing = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	res = NULL;
	p_q[0] = r->qname;

	if (query_value(&role, r->prov, err, "select node_role from pgq_set.get_node($1)", 1,
	                p_tab) < 0)
		goto out;
	if (!role) {
		sky_error_set(err, "%s is not a node of cascade \"%s\"", what, r->p->cascade);
		goto out;
	}
	r->from_root = strcmp(role, "root") == 0;
	if (query_value(&r->estimate, r->prov, err,
	                "select greatest(reltuples, 0)::bigint from pg_catalog.pg_class"
	                " where oid = to_regclass($1)",
	                1, p_q) < 0)
		goto out;
	if (query_value(&r->cols, r->prov, err,
	                "select string_agg(quote_ident(attname), ', ' order by attnum)"
	                " from pg_catalog.pg_attribute where attrelid = to_regclass($1)"
	                " and attnum > 0 and not attisdropped and attgenerated = ''",
	                1, p_q) < 0)
		goto out;
	if (!r->cols) {
		sky_error_set(err, "table \"%s\" does not exist on %s", r->p->table, what);
		goto out;
	}
	if (r->create_missing) {
		if (sky_pg_exec(&res, r->prov, err, "select pgq_set.table_ddl($1)", 1, p_tab + 1) <
		    0)
			goto out;
		r->nddl = (size_t)PQntuples(res);
		r->ddl = sky_calloc(r->nddl + 1, sizeof(char *));
		for (i = 0; i < PQntuples(res); i++)
			r->ddl[i] = sky_strdup(PQgetvalue(res, i, 0));
	}
	*still_copying = true;
	ret = 0;
out:
	PQclear(res);
	free(role);
	return ret;
}

/* The local table: created from the provider's structure if missing (and asked for), emptied. */
static int copy_target(struct copy_run *r, struct sky_error *err)
{
	int ret = -1;
	char *exists = NULL;
	const char *p_q[1] = {r->qname};
	const char *p_add[2] = {r->p->cascade, r->p->table};
	char *sql = NULL;
	size_t i;

	if (query_value(&exists, r->local, err, "select to_regclass($1)::text", 1, p_q) < 0)
		goto out;
	if (!exists) {
		if (!r->create_missing) {
			sky_error_set(err, "table \"%s\" does not exist on this node", r->p->table);
			goto out;
		}
		for (i = 0; i < r->nddl; i++) {
			if (sky_pg_command(r->local, err, r->ddl[i]) < 0)
				goto out;
		}
		/* registered already: this puts the write-deny trigger on the new table */
		if (sky_pg_exec(NULL, r->local, err, "select pgq_set.add_table($1, $2, true)", 2,
		                p_add) < 0)
			goto out;
	}
	/*
	 * TRUNCATE is refused on a table other tables reference (feature_not_supported): delete
	 * then (replica mode). Any other failure is the copy's.
	 */
	sql = sky_asprintf("truncate %s", r->qname);
	if (sky_pg_command(r->local, err, "savepoint sky_copy") < 0)
		goto out;
	if (sky_pg_command(r->local, err, sql) < 0) {
		if (strcmp(err->sqlstate, "0A000") != 0)
			goto out;
		free(sql);
		sql = sky_asprintf("delete from %s", r->qname);
		if (sky_pg_command(r->local, err, "rollback to savepoint sky_copy") < 0 ||
		    sky_pg_command(r->local, err, sql) < 0)
			goto out;
	} else {
		r->truncated = true;
	}
	ret = 0;
out:
	free(exists);
	free(sql);
	return ret;
}

/*
 * The statements that drop the table's indexes (phase 1) and recreate them as they were (phase
 * 2: the index, or its primary key / unique constraint; phase 3: CLUSTER ON, REPLICA IDENTITY,
 * comments). Only where recreating gives back exactly what was there: an ordinary table (not
 * partitioned, not a partition) that we own, whose indexes are all valid, in the default
 * tablespace, without per-column statistics targets and referenced by nothing (no foreign key:
 * TRUNCATE would have failed then anyway), and whose constraints are primary keys or unique
 * constraints without storage options, named like their index. Otherwise no rows, and the
 * indexes stay during the load.
 */
static const char index_rebuild_sql[] =
    "with t as ("
    "  select c.oid, format('%I.%I', n.nspname, c.relname) as tname"
    "    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
    "   where c.oid = to_regclass($1) and c.relkind = 'r' and not c.relispartition"
    "     and pg_catalog.pg_has_role(c.relowner, 'USAGE')),"
    " ix as ("
    "  select i.indexrelid, i.indisclustered, i.indisreplident, ic.relname as iname,"
    "         n.nspname, t.tname, k.oid as coid, k.conname, k.contype, i.indisvalid,"
    "         i.indisready, ic.reltablespace, ic.reloptions"
    "    from t join pg_catalog.pg_index i on i.indrelid = t.oid"
    "    join pg_catalog.pg_class ic on ic.oid = i.indexrelid"
    "    join pg_catalog.pg_namespace n on n.oid = ic.relnamespace"
    "    left join pg_catalog.pg_constraint k on k.conindid = i.indexrelid"
    "     and k.conrelid = i.indrelid and k.contype in ('p', 'u', 'x')),"
    " ok as ("
    "  select exists (select 1 from t)"
    "     and not exists (select 1 from ix where not (indisvalid and indisready"
    "             and reltablespace = 0"
    "             and (coid is null or (contype in ('p', 'u') and reloptions is null"
    "                                   and conname = iname))))"
    "     and not exists (select 1 from ix join pg_catalog.pg_depend d"
    "             on d.refclassid = 'pg_catalog.pg_class'::regclass"
    "            and d.refobjid = ix.indexrelid)"
    "     and not exists (select 1 from ix join pg_catalog.pg_attribute a"
    "             on a.attrelid = ix.indexrelid and a.attstattarget >= 0) as fast)"
    " select phase, stmt from ("
    "  select 1 as phase, indexrelid, case when coid is not null"
    "         then format('alter table %s drop constraint %I', tname, conname)"
    "         else format('drop index %I.%I', nspname, iname) end as stmt from ix"
    "  union all"
    "  select 2, indexrelid, case when coid is not null"
    "         then format('alter table %s add constraint %I %s', tname, conname,"
    "                     pg_catalog.pg_get_constraintdef(coid))"
    "         else pg_catalog.pg_get_indexdef(indexrelid) end from ix"
    "  union all"
    "  select 3, indexrelid, format('alter table %s cluster on %I', tname, iname)"
    "    from ix where indisclustered"
    "  union all"
    "  select 3, indexrelid, format('alter table %s replica identity using index %I', tname,"
    "         iname) from ix where indisreplident"
    "  union all"
    "  select 3, indexrelid, format('comment on constraint %I on %s is %L', conname, tname, d)"
    "    from ix, pg_catalog.obj_description(coid, 'pg_constraint') d where d is not null"
    "  union all"
    "  select 3, indexrelid, format('comment on index %I.%I is %L', nspname, iname, d)"
    "    from ix, pg_catalog.obj_description(indexrelid, 'pg_class') d where d is not null"
    " ) s where (select fast from ok)"
    " order by phase, indexrelid";

/*
 * Before the load into a table truncated in this transaction: drop its indexes (and their
 * constraints) when they can be recreated exactly, keeping the statements that recreate them
 * in r->rebuild. Building an index over the loaded rows costs a fraction of maintaining it row
 * by row. Nobody sees the table without its indexes (TRUNCATE holds ACCESS EXCLUSIVE until
 * the commit), and a failure rolls everything back, indexes included.
 */
static int copy_indexes_drop(struct copy_run *r, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	const char *p_q[1] = {r->qname};
	int i, n;

	if (!r->truncated) {
		ret = 0;
		goto out;
	}
	if (sky_pg_exec(&res, r->local, err, index_rebuild_sql, 1, p_q) < 0)
		goto out;
	n = PQntuples(res);
	r->rebuild = sky_calloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 0), "1") == 0) {
			if (sky_pg_command(r->local, err, PQgetvalue(res, i, 1)) < 0)
				goto out;
		} else {
			r->rebuild[r->nrebuild++] = sky_strdup(PQgetvalue(res, i, 1));
		}
	}
	ret = 0;
out:
	PQclear(res);
	return ret;
}

/* After the load: recreate what copy_indexes_drop dropped, in its order. */
static int copy_indexes_rebuild(struct copy_run *r, struct sky_error *err)
{
	size_t i;

	for (i = 0; i < r->nrebuild; i++) {
		if (sky_pg_command(r->local, err, r->rebuild[i]) < 0)
			return -1;
	}
	return 0;
}

/* The source side of the copy failed: the error names the provider; the local COPY is ended. */
static void copy_source_failed(struct copy_run *r, const PGresult *res, struct sky_error *err)
{
	sky_pg_error(err, r->prov, res);
	sky_error_prefix(err, "provider \"%s\"", r->p->provider_node);
	PQputCopyEnd(r->local, "copy source failed");
}

/* COPY provider -> local, row by row (flat memory). */
static int copy_stream(struct copy_run *r, struct sky_error *err)
{
	int ret = -1;
	PGresult *res = NULL;
	char *to_sql = sky_asprintf("copy (select %s from only %s) to stdout", r->cols, r->qname);
	/*
	 * FREEZE after TRUNCATE in the same subtransaction: the rows are written frozen and their
	 * pages all-visible, so no later pass has to set hint bits or freeze them. Older snapshots
	 * see the rows then, an MVCC break no worse than the TRUNCATE's own.
	 */
	char *from_sql = sky_asprintf("copy %s (%s) from stdin%s", r->qname, r->cols,
	                              r->truncated ? " with (freeze)" : "");
	char *buf = NULL;
	double next_report = sky_now_s() + PROGRESS_PERIOD;
	int n;

	res = PQexec(r->local, from_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		sky_pg_error(err, r->local, res);
		goto out;
	}
	PQclear(res);
	res = PQexec(r->prov, to_sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		copy_source_failed(r, res, err);
		goto drain;
	}
	PQclear(res);
	res = NULL;
	while ((n = PQgetCopyData(r->prov, &buf, 0)) > 0) {
		if (PQputCopyData(r->local, buf, n) != 1) {
			sky_pg_error(err, r->local, NULL);
			goto drain;
		}
		PQfreemem(buf);
		buf = NULL;
		r->rows++;
		if (sky_worker_stop_requested) {
			sky_error_set(err, "stopped");
			PQputCopyEnd(r->local, "stopped");
			goto drain;
		}
		/* the clock is read every 4096 rows, not per row */
		if ((r->rows & 4095) == 0 && sky_now_s() >= next_report) {
			report_progress(r);
			next_report = sky_now_s() + PROGRESS_PERIOD;
		}
	}
	if (n == -2) {
		copy_source_failed(r, NULL, err);
		goto drain;
	}
	res = PQgetResult(r->prov);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		copy_source_failed(r, res, err);
		goto drain;
	}
	PQclear(res);
	res = NULL;
	if (PQputCopyEnd(r->local, NULL) != 1) {
		sky_pg_error(err, r->local, NULL);
		goto drain;
	}
	res = PQgetResult(r->local);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		sky_pg_error(err, r->local, res);
		goto drain;
	}
	ret = 0;
drain:
	/* leave both connections idle (their results are not needed on failure) */
	PQclear(res);
	while (PQstatus(r->local) == CONNECTION_OK && (res = PQgetResult(r->local)) != NULL) {
		if (PQresultStatus(res) == PGRES_COPY_IN)
			PQputCopyEnd(r->local, "copy aborted");
		PQclear(res);
	}
	while (PQstatus(r->prov) == CONNECTION_OK && (res = PQgetResult(r->prov)) != NULL) {
		bool copy_out = PQresultStatus(res) == PGRES_COPY_OUT;

		PQclear(res);
		if (copy_out)
			break; /* abandon the rest of the source: the child drops the connection */
	}
	res = NULL;
out:
	PQfreemem(buf);
	PQclear(res);
	free(to_sql);
	free(from_sql);
	return ret;
}

static int copy_run(struct copy_run *r, struct sky_error *err)
{
	int ret = -1;
	bool copying = false;
	PGresult *res = NULL;
	const char *p_tab[2] = {r->p->cascade, r->p->table};
	const char *p_done[5];
	char rows[24];
	char *analyze = NULL;
	char *lock = NULL;
	struct sky_error aerr;

	if (copy_prepare(r, &copying, err) < 0)
		goto out;
	if (!copying) {
		ret = 0;
		goto out;
	}
	r->rows = 0;
	report_progress(r); /* rows 0: an attempt starts */

	/*
	 * The source: one repeatable-read snapshot for the position and the rows, taken after the
	 * table is locked. LOCK TABLE takes no snapshot; a snapshot taken before it would miss the
	 * rows of a table rewrite (ALTER TABLE ... TYPE) committed while the copy waits for the
	 * lock: the rewritten rows carry the rewrite's xid, and a rewrite queues no events.
	 */
	lock = sky_asprintf("lock table %s in access share mode", r->qname);
	if (sky_pg_command(r->prov, err, "begin isolation level repeatable read read only") < 0 ||
	    sky_pg_command(r->prov, err, lock) < 0)
		goto out;
	if (r->from_root) {
		if (query_value(&r->snapshot, r->prov, err, "select txid_current_snapshot()::text",
		                0, NULL) < 0)
			goto out;
	} else {
		if (sky_pg_exec(&res, r->prov, err,
		                "select n.last_tick, (select t.state from pgq_set.table_info t"
		                "  where t.cascade = n.cascade and t.table_name = $2)"
		                " from pgq_set.node n where n.cascade = $1",
		                2, p_tab) < 0)
			goto out;
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
			sky_error_set(err, "provider \"%s\" has no position in cascade \"%s\"",
			              r->p->provider_node, r->p->cascade);
			goto out;
		}
		if (PQgetisnull(res, 0, 1)) {
			sky_error_set(err, "table \"%s\" is not replicated on provider \"%s\"",
			              r->p->table, r->p->provider_node);
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 1), "ok") != 0) {
			/* the provider is copying it itself: wait, this is no failure */
			sky_error_set(err, "provider \"%s\" has table \"%s\" %s",
			              r->p->provider_node, r->p->table, PQgetvalue(res, 0, 1));
			r->not_ready = true;
			goto out;
		}
		r->tick = sky_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}

	if (sky_pg_command(r->local, err, "begin") < 0 || copy_target(r, err) < 0 ||
	    copy_indexes_drop(r, err) < 0 || copy_stream(r, err) < 0 ||
	    copy_indexes_rebuild(r, err) < 0)
		goto out;
	snprintf(rows, sizeof(rows), "%lld", r->rows);
	p_done[0] = r->p->cascade;
	p_done[1] = r->p->table;
	p_done[2] = r->snapshot;
	p_done[3] = r->tick;
	p_done[4] = rows;
	if (sky_pg_exec(NULL, r->local, err, "select pgq_set.copy_done($1, $2, $3, $4, $5)", 5,
	                p_done) < 0 ||
	    sky_pg_command(r->local, err, "commit") < 0)
		goto out;
	sky_pg_command(r->prov, NULL, "commit");
	if (r->from_root) {
		/*
		 * The table goes from catching-up to ok at the first batch boundary after the
		 * copy's snapshot: ask the root's ticker for a tick at its next round
		 * (pgq.force_tick), so that an idle root does not keep the hand-over (and the
		 * events set aside meanwhile) waiting for its idle tick. Only a request: pgqd
		 * makes the tick. A failure (e.g. no privilege) costs only that wait.
		 */
		const char *p_q[1] = {r->p->cascade};
		struct sky_error terr;

		if (sky_pg_exec(NULL, r->prov, &terr, "select pgq.force_tick($1)", 1, p_q) < 0)
			sky_debug("node \"%s\" cascade \"%s\": could not ask for a tick: %s",
			          r->p->node, r->p->cascade, terr.message);
	}
	/*
	 * Statistics for the planner at once (autovacuum would take its time), after the commit:
	 * the copy is done, and the catch-up can already run beside it. The index builds have set
	 * the table's size already. A failure here costs only the statistics.
	 */
	analyze = sky_asprintf("analyze %s", r->qname);
	if (sky_pg_command(r->local, &aerr, analyze) < 0)
		sky_warning("node \"%s\" cascade \"%s\": analyze of table \"%s\" failed: %s",
		            r->p->node, r->p->cascade, r->p->table, aerr.message);
	ret = 0;
out:
	PQclear(res);
	free(analyze);
	free(lock);
	return ret;
}

int sky_copy_table(const struct sky_copy_params *p, struct sky_error *err)
{
	int ret = -1;
	struct copy_run r;
	double start = sky_now_s();
	const char *p_fail[3];

	memset(&r, 0, sizeof(r));
	r.p = p;
	sky_error_clear(err);
	if (copy_run(&r, err) == 0) {
		if (r.qname)
			sky_info(
			    "node \"%s\" cascade \"%s\": table \"%s\" copied from provider \"%s\": "
			    "%lld rows in %.1f s, catching up",
			    p->node, p->cascade, p->table, p->provider_node, r.rows,
			    sky_now_s() - start);
		ret = 0;
		goto out;
	}
	if (sky_worker_stop_requested) {
		ret = -2;
		goto out;
	}
	if (r.not_ready) {
		sky_debug("node \"%s\" cascade \"%s\": copy of table \"%s\" waits: %s", p->node,
		          p->cascade, p->table, err->message);
		ret = -3;
		goto out;
	}
	sky_error_oneline(err);
	sky_errorlog("node \"%s\" cascade \"%s\": copy of table \"%s\" failed: %s", p->node,
	             p->cascade, p->table, err->message);
	if (r.progress && PQstatus(r.progress) == CONNECTION_OK) {
		p_fail[0] = p->cascade;
		p_fail[1] = p->table;
		p_fail[2] = err->message;
		sky_pg_exec(NULL, r.progress, NULL, "select pgq_set.copy_failed($1, $2, $3)", 3,
		            p_fail);
	}
out:
	run_release(&r);
	return ret;
}

/* ---------------------------------------------------------------- the parent */

struct copy_job {
	char *table;
	char *provider; /* the provider the running child copies from */
	pid_t pid;      /* 0: not running */
	double retry_at;
	double pause;
};

struct sky_copies {
	struct copy_job *jobs;
	size_t n, cap;
	size_t failures;
};

struct sky_copies *sky_copies_new(void)
{
	return sky_calloc(1, sizeof(struct sky_copies));
}

void sky_copies_free(struct sky_copies *c)
{
	size_t i;

	if (c) {
		sky_copies_stop(c);
		for (i = 0; i < c->n; i++) {
			free(c->jobs[i].table);
			free(c->jobs[i].provider);
		}
		free(c->jobs);
		free(c);
	}
}

static struct copy_job *job_find(struct sky_copies *c, const char *table)
{
	struct copy_job *found = NULL;
	size_t i;

	for (i = 0; i < c->n && !found; i++) {
		if (strcmp(c->jobs[i].table, table) == 0)
			found = &c->jobs[i];
	}
	return found;
}

/* The child: copy, then leave without touching anything of the parent's (connections!). */
static void child_main(const struct sky_copy_params *p, pid_t parent)
{
	struct sky_error err;
	int rc;

	/*
	 * The parent's connections are ours too after fork(): close our copies of every
	 * descriptor but stdin/stdout/stderr, so that the parent's sessions (and the advisory
	 * lock of its local one) end when the parent does, not when this child does.
	 */
	if (close_range(3, ~0U, 0) < 0) {
		/* kernels before 5.9: one by one */
		long max = sysconf(_SC_OPEN_MAX);

		for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
			close((int)fd);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		sky_warning("copy process: no signal on the worker's death: %s", strerror(errno));
	if (getppid() != parent)
		_exit(SKY_COPY_EXIT_ORPHANED);
	rc = sky_copy_table(p, &err);
	fflush(stderr);
	_exit(rc == 0    ? SKY_COPY_EXIT_DONE
	      : rc == -2 ? SKY_COPY_EXIT_STOPPED
	      : rc == -3 ? SKY_COPY_EXIT_NOT_READY
	                 : SKY_COPY_EXIT_FAILED);
}

static void job_start(struct copy_job *j, const struct sky_copy_params *p)
{
	struct sky_copy_params cp = *p;
	pid_t parent = getpid(), pid;

	cp.table = j->table;
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		child_main(&cp, parent);
	if (pid < 0) {
		sky_warning(
		    "node \"%s\" cascade \"%s\": could not start the copy of table \"%s\": %s",
		    p->node, p->cascade, j->table, strerror(errno));
		j->retry_at = sky_now_s() + RETRY_PAUSE_MIN;
	} else {
		j->pid = pid;
		free(j->provider);
		j->provider = sky_strdup(p->provider_node);
		sky_info("node \"%s\" cascade \"%s\": copying table \"%s\" from provider \"%s\"",
		         p->node, p->cascade, j->table, p->provider_node);
	}
}

void sky_copies_start(struct sky_copies *c, char *const *tables, size_t n,
                      const struct sky_copy_params *p)
{
	size_t i;
	double now = sky_now_s();

	for (i = 0; i < c->n; i++) {
		struct copy_job *j = &c->jobs[i];

		if (j->pid > 0 && strcmp(j->provider, p->provider_node) != 0)
			kill(j->pid,
			     SIGTERM); /* reaped later, then restarted from the new provider */
	}
	for (i = 0; i < n; i++) {
		struct copy_job *j = job_find(c, tables[i]);

		if (!j) {
			if (c->n == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 4;
				c->jobs = sky_realloc(c->jobs, c->cap * sizeof(*c->jobs));
			}
			j = &c->jobs[c->n++];
			memset(j, 0, sizeof(*j));
			j->table = sky_strdup(tables[i]);
			j->pause = RETRY_PAUSE_MIN;
		}
		if (j->pid == 0 && now >= j->retry_at)
			job_start(j, p);
	}
}

void sky_copies_forget(struct sky_copies *c, char *const *tables, size_t n)
{
	size_t i = 0, k;

	while (i < c->n) {
		struct copy_job *j = &c->jobs[i];
		bool wanted = j->pid > 0;

		for (k = 0; k < n && !wanted; k++)
			wanted = strcmp(j->table, tables[k]) == 0;
		if (wanted) {
			i++;
			continue;
		}
		free(j->table);
		free(j->provider);
		c->jobs[i] = c->jobs[--c->n];
	}
}

void sky_copies_reap(struct sky_copies *c)
{
	pid_t pid;
	int status;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < c->n; i++) {
			struct copy_job *j = &c->jobs[i];

			if (j->pid != pid)
				continue;
			j->pid = 0;
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

			if (code == SKY_COPY_EXIT_DONE) {
				j->pause = RETRY_PAUSE_MIN;
				j->retry_at = 0;
			} else if (code == SKY_COPY_EXIT_NOT_READY) {
				j->retry_at = sky_now_s() + NOT_READY_PAUSE;
			} else if (code != SKY_COPY_EXIT_STOPPED) {
				/* failed (recorded by the child) or killed: try again later */
				c->failures++;
				j->retry_at = sky_now_s() + j->pause;
				j->pause =
				    j->pause * 2 > RETRY_PAUSE_MAX ? RETRY_PAUSE_MAX : j->pause * 2;
			}
		}
	}
}

size_t sky_copies_running(const struct sky_copies *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->jobs[i].pid > 0;
	return n;
}

size_t sky_copies_failures(const struct sky_copies *c)
{
	return c->failures;
}

void sky_copies_stop(struct sky_copies *c)
{
	size_t i, left;
	int status;
	double deadline = sky_now_s() + STOP_GRACE;

	for (i = 0; i < c->n; i++) {
		if (c->jobs[i].pid > 0)
			kill(c->jobs[i].pid, SIGTERM);
	}
	/*
	 * A child notices SIGTERM between rows; in a statement (an index build, the commit,
	 * ANALYZE) it may not for a long time. After STOP_GRACE it is killed: its copy is one
	 * transaction, which the server rolls back.
	 */
	do {
		left = 0;
		for (i = 0; i < c->n; i++) {
			if (c->jobs[i].pid <= 0)
				continue;
			if (waitpid(c->jobs[i].pid, &status, WNOHANG) != 0)
				c->jobs[i].pid = 0;
			else
				left++;
		}
		if (left > 0) {
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	} while (left > 0 && sky_now_s() < deadline);
	for (i = 0; i < c->n; i++) {
		if (c->jobs[i].pid > 0) {
			kill(c->jobs[i].pid, SIGKILL);
			waitpid(c->jobs[i].pid, &status, 0);
			c->jobs[i].pid = 0;
		}
	}
}
