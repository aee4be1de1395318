/*
 * topology_dsn: the libpq half of validating topology.yaml. The plan engine (topology.c) has
 * no libpq; it keeps every node's dsn and where it is, and this check asks libpq whether each
 * one is a connection string. source_load calls it after every load, so no program uses a
 * topology whose dsns were not checked.
 */
#ifndef SKY_TOPOLOGY_DSN_H
#define SKY_TOPOLOGY_DSN_H

#include "sky_error.h"
#include "topology.h"

/*
 * 0 when libpq parses the dsn of every node of topo; otherwise -1 with err set to
 * "FILE:LINE:COL: invalid "dsn" in node "N" (expected ...)" for the first bad one in file
 * order. The message never holds any part of the dsn (it may carry a password).
 */
int topology_dsn_check(const struct topology *topo, struct sky_error *err);

#endif
