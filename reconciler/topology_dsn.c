/*
 * topology_dsn: libpq's judgement of the topology's dsns (see topology_dsn.h).
 */
#include "topology_dsn.h"

#include <libpq-fe.h>

int topology_dsn_check(const struct topology *topo, struct sky_error *err)
{
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const struct topo_node *n = &topo->nodes[i];
		PQconninfoOption *opts;
		char *errmsg = NULL;

		if (!n->dsn)
			continue;
		/* libpq's message may quote part of the string (a password): only say it failed */
		opts = PQconninfoParse(n->dsn, &errmsg);
		PQfreemem(errmsg);
		if (!opts)
			return sky_error_set(
			    err,
			    "%s:%d:%d: invalid \"dsn\" in node \"%s\" (expected a libpq connection "
			    "string: key=value pairs or a postgresql:// URI)",
			    topo->file ? topo->file : "topology.yaml", n->dsn_pos.line,
			    n->dsn_pos.col, n->name);
		PQconninfoFree(opts);
	}
	return 0;
}
