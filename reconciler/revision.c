/*
 * revision: pgq_set.record_revision on every node that has it (see revision.h).
 */
#include "revision.h"

#include <stdio.h>
#include <string.h>

#include "sky_log.h"
#include "sky_pg.h"

static int record_one(PGconn *conn, const struct topology *topo, const struct source_revision *rev,
                      bool ok, const char *error, struct sky_error *err)
{
	const char *has[1] = {"pgq_set.record_revision(text,text,text,boolean,text)"};
	const char *params[5] = {topo->cascade, rev->id, rev->subject, ok ? "true" : "false",
	                         ok ? NULL : error};
	PGresult *res = NULL;
	int ret = -1;

	if (sky_pg_exec(&res, conn, err, "select to_regprocedure($1) is not null", 1, has) < 0)
		goto out;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		ret = 1; /* pgq_set missing or older than 4: nothing to record into */
		goto out;
	}
	if (sky_pg_exec(NULL, conn, err, "select pgq_set.record_revision($1, $2, $3, $4, $5)", 5,
	                params) < 0)
		goto out;
	ret = 0;
out:
	PQclear(res);
	return ret;
}

size_t revision_record(PGconn **conns, const struct topology *topo,
                       const struct source_revision *rev, bool ok, const char *error)
{
	size_t n = 0;

	if (!rev->id[0])
		return 0;
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *tn = &topo->nodes[i];
		PGconn *own = NULL;
		PGconn *conn = conns ? conns[i] : NULL;
		struct sky_error err;
		char what[128];
		int rc;

		sky_error_clear(&err);
		if (tn->dead)
			continue;
		if (!conn || PQstatus(conn) != CONNECTION_OK) {
			snprintf(what, sizeof(what), "node \"%s\"", tn->name);
			if (sky_pg_connect(&own, tn->dsn, what, &err) < 0) {
				sky_debug("revision not recorded on node \"%s\": unreachable",
				          tn->name);
				continue;
			}
			conn = own;
		}
		rc = record_one(conn, topo, rev, ok, error, &err);
		if (rc < 0)
			sky_debug("revision not recorded on node \"%s\": %s", tn->name,
			          err.message);
		else if (rc == 0)
			n++;
		if (own)
			PQfinish(own);
	}
	return n;
}
