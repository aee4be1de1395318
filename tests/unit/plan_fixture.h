/*
 * plan_fixture: what the plan engine's unit tests share (test_plan.c, test_plan_tables.c,
 * test_plan_topology.c, test_apply.c), compiled into each of them. Desired state built by hand
 * and freed by topo_release (not topology_free: these are not loaded from a file), actual states
 * as a node looks after each stage of a reconcile, the engine run with the options the tests
 * use, and the plan as the text skyreconcile prints. Failures are Check assertions.
 */
#ifndef SKY_TEST_PLAN_FIXTURE_H
#define SKY_TEST_PLAN_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "plan.h"
#include "topology.h"

#define V "1" /* the pgq_set version the tests install */

/* ---- desired state, built by hand and freed by the tests (not topology_free) ---- */

/* An empty topology of cascade "app" with room for 16 nodes and 16 tables. */
struct topology *topo_new(void);
/* A node whose dsn carries the password "s3cret" (it must never show). */
struct topo_node *topo_add_node(struct topology *t, const char *name, enum sky_role role,
                                const char *provider);
/* nodes: NULL-terminated list of names, or no names for "every node" */
struct topo_table *topo_add_table(struct topology *t, const char *name, ...);
void topo_release(struct topology *t);
/* root db1 -> branch db2 -> leaf db3; tables public.a everywhere, public.b on db1, db2 */
struct topology *topo_three(void);

/* ---- actual state (freed with actual_state_free) ---- */

enum stage {
	ST_EMPTY = 0, /* reachable, nothing installed */
	ST_INSTALLED, /* pgq + pgq_set, no members, not created */
	ST_MEMBERS,   /* + every member as in the topology */
	ST_CREATED,   /* + node created as in the topology */
	ST_TABLES,    /* + every table wanted on it: fully reconciled */
};

void actual_member_put(struct actual_node *an, const char *name, const char *location);
void actual_table_put(struct actual_node *an, const struct topo_table *tt);
/* Make node `name` of state look like it reached `stage` of topology t. */
void actual_node_stage(struct actual_state *s, const struct topology *t, const char *name,
                       enum stage stage);
/* Every node of t at `stage`. */
struct actual_state *actual_new(const struct topology *t, enum stage stage);
/* Node `name` of s, writable. */
struct actual_node *actual_get(struct actual_state *s, const char *name);

/* ---- running the engine ---- */

/* plan_build with sql_version V; the plan (caller frees with plan_free) or a failed check. */
struct plan *plan_of(const struct topology *t, const struct actual_state *s);
/* The plan as the text skyreconcile prints, one line per op and then per problem (caller frees). */
char *plan_text(const struct plan *plan);

#define ck_plan(plan, expected)                                                                    \
	do {                                                                                       \
		char *got_ = plan_text(plan);                                                      \
		ck_assert_msg(strcmp(got_, (expected)) == 0, "plan:\n%s\nexpected:\n%s", got_,     \
		              (expected));                                                         \
		free(got_);                                                                        \
	} while (0)

#endif
