/*
 * Unit tests of the plan engine (reconciler/plan_tables.c) and of the tables' progress
 * (reconciler/progress.c): tables added, narrowed, removed, checked on the root, and tables
 * still syncing, with plan_fixture.h's states. No database.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "plan.h"
#include "plan_fixture.h"
#include "progress.h"
#include "sky_mem.h"
#include "topology.h"

START_TEST(test_table_added)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	topo_add_table(t, "public.c", NULL);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db1: add table public.c\n"
	              "+ db2: add table public.c\n"
	              "+ db3: add table public.c\n");
	ck_assert_int_eq(plan->ops[0].kind, PLAN_OP_ADD_TABLE);
	ck_assert_str_eq(plan->ops[0].subject, "public.c");
	ck_assert_uint_eq(plan->n_add, 3);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_table_narrowed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	topo_add_table(t, "public.only_root_leaf", "db3", "db1", NULL);
	topo_add_table(t, "Odd Schema.My T", "db2", NULL);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db1: add table public.only_root_leaf\n"
	              "+ db2: add table Odd Schema.My T\n"
	              "+ db3: add table public.only_root_leaf\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_plan_time_table_checks)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_CREATED);
	struct actual_node *root = actual_get(s, "db1");
	struct plan *plan;
	char *text;

	/* the root's system catalogs: public.a has no primary key, public.b is missing */
	root->checks = sky_calloc(2, sizeof(*root->checks));
	root->checks[0] = (struct actual_check){.name = sky_strdup("public.a"), .exists = true};
	root->checks[1] = (struct actual_check){.name = sky_strdup("public.b")};
	root->n_checks = 2;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text,
	                     "! db1: table \"public.a\" has no primary key: only tables with a "
	                     "primary key can be replicated\n") != NULL,
	              "%s", text);
	ck_assert_msg(strstr(text, "! db1: table \"public.b\" does not exist on the root") != NULL,
	              "%s", text);
	ck_assert_msg(strstr(text, "+ db1: add table") == NULL, "%s", text);
	free(text);
	plan_free(plan);

	root->checks[0].has_pk = true;
	root->checks[0].pk_deferrable = true;
	root->checks[1].exists = true;
	root->checks[1].partitioned = true;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text, "table \"public.a\" has a deferrable primary key") != NULL, "%s",
	              text);
	ck_assert_msg(strstr(text, "table \"public.b\" is partitioned") != NULL, "%s", text);
	free(text);
	plan_free(plan);

	root->checks[0].pk_deferrable = false;
	root->checks[0].pk_include = true;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text, "! db1: table \"public.a\" has a primary key with INCLUDE "
	                           "columns: only a primary key of key columns alone can be "
	                           "replicated\n") != NULL,
	              "%s", text);
	free(text);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

/* Find table `name` in node `node` of s (it must be there). */
static struct actual_table *actual_table_get(struct actual_state *s, const char *node,
                                             const char *name)
{
	struct actual_table *t =
	    (struct actual_table *)actual_node_table(actual_get(s, node), name);

	ck_assert_msg(t != NULL, "table %s not on %s", name, node);
	return t;
}

static void table_set_state(struct actual_table *t, const char *state)
{
	free(t->state);
	t->state = sky_strdup(state);
}

START_TEST(test_table_add_create_flag)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;
	json_t *doc;
	json_t *op;

	topo_add_table(t, "public.c", NULL)->create = true;
	topo_add_table(t, "public.d", "db1", "db2", NULL);
	plan = plan_of(t, s);
	/* root first (capture starts), then every node after its provider */
	ck_plan(plan, "+ db1: add table public.c\n"
	              "+ db1: add table public.d\n"
	              "+ db2: add table public.c\n"
	              "+ db2: add table public.d\n"
	              "+ db3: add table public.c\n");
	ck_assert(plan->ops[0].create);
	ck_assert(!plan->ops[1].create);
	ck_assert(plan->ops[2].create);
	ck_assert(!plan->ops[3].create);
	ck_assert(plan->ops[4].create);
	/* each add carries the provider the node copies from */
	ck_assert_ptr_null(plan->ops[0].provider);
	ck_assert_str_eq(plan->ops[2].provider, "db1");
	ck_assert_str_eq(plan->ops[4].provider, "db2");
	doc = plan_to_json(plan);
	op = json_array_get(json_object_get(doc, "ops"), 4);
	ck_assert_str_eq(json_string_value(json_object_get(op, "op")), "add_table");
	ck_assert_str_eq(json_string_value(json_object_get(op, "table")), "public.c");
	ck_assert(json_is_true(json_object_get(op, "create")));
	ck_assert(json_is_false(
	    json_object_get(json_array_get(json_object_get(doc, "ops"), 1), "create")));
	json_decref(doc);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_table_removed_everywhere)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct topology *t2 = topo_new();
	struct plan *plan;
	json_t *doc;

	/* the same cascade with both tables gone from tables: */
	topo_add_node(t2, "db1", SKY_ROLE_ROOT, NULL);
	topo_add_node(t2, "db2", SKY_ROLE_BRANCH, "db1");
	topo_add_node(t2, "db3", SKY_ROLE_LEAF, "db2");
	/* a table being copied is removed like any other (its copy stops) */
	table_set_state(actual_table_get(s, "db2", "public.b"), "copying");
	plan = plan_of(t2, s);
	/* every subscriber before its provider, the root (capture) last */
	ck_plan(plan, "- db3: remove table public.a\n"
	              "- db2: remove table public.a\n"
	              "- db2: remove table public.b\n"
	              "- db1: remove table public.a\n"
	              "- db1: remove table public.b\n");
	ck_assert_uint_eq(plan->n_remove, 5);
	ck_assert_uint_eq(plan->n_add + plan->n_change, 0);
	ck_assert_int_eq(plan->ops[0].kind, PLAN_OP_REMOVE_TABLE);
	ck_assert_str_eq(plan->ops[0].subject, "public.a");
	ck_assert_str_eq(plan->ops[0].provider, "db2");
	ck_assert_ptr_null(plan->ops[4].provider);
	doc = plan_to_json(plan);
	ck_assert_str_eq(json_string_value(
	                     json_object_get(json_array_get(json_object_get(doc, "ops"), 0), "op")),
	                 "remove_table");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(doc, "summary"), "remove")), 5);
	json_decref(doc);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t2);
	topo_release(t);
}
END_TEST

/* public.a narrowed to nodes[] (NULL-terminated), on topo_three's reconciled state */
static struct plan *plan_narrow_a(struct topology *t, const struct actual_state *s,
                                  const char *const *nodes)
{
	struct topo_table *a = &t->tables[0];

	for (size_t j = 0; j < a->n_nodes; j++)
		free(a->nodes[j]);
	free(a->nodes);
	a->nodes = NULL;
	a->n_nodes = 0;
	for (; *nodes; nodes++) {
		a->nodes = sky_realloc(a->nodes, (a->n_nodes + 1) * sizeof(*a->nodes));
		a->nodes[a->n_nodes++] = sky_strdup(*nodes);
	}
	return plan_of(t, s);
}

START_TEST(test_table_narrowed_away)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	static const char *const root_branch[] = {"db1", "db2", NULL};
	static const char *const root_only[] = {"db1", NULL};
	static const char *const branch_only[] = {"db2", NULL};
	struct plan *plan;

	/* db3 dropped from public.a's nodes: removed there only, the root keeps capture */
	plan = plan_narrow_a(t, s, root_branch);
	ck_plan(plan, "- db3: remove table public.a\n");
	ck_assert_uint_eq(plan->n_remove, 1);
	plan_free(plan);

	plan = plan_narrow_a(t, s, root_only);
	ck_plan(plan, "- db3: remove table public.a\n"
	              "- db2: remove table public.a\n");
	plan_free(plan);

	/* (the topology validator refuses this one) a table some node still wants is never
	 * removed from the root: that node gets its changes from the root's queue */
	plan = plan_narrow_a(t, s, branch_only);
	ck_plan(plan, "- db3: remove table public.a\n");
	plan_free(plan);

	/* public.b narrowed from db1, db2 to db1 */
	free(t->tables[1].nodes[1]);
	t->tables[1].n_nodes = 1;
	plan = plan_narrow_a(t, s, root_branch);
	ck_plan(plan, "- db3: remove table public.a\n"
	              "- db2: remove table public.b\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_syncing_tables_are_not_changes)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct actual_table *at;
	struct plan *plan;
	struct sky_buf b;
	json_t *nodes;
	json_t *tab;
	char *text;

	at = actual_table_get(s, "db2", "public.a");
	table_set_state(at, "copying");
	at->rows_copied = 45000;
	at->rows_estimate = 100000;
	table_set_state(actual_table_get(s, "db2", "public.b"), "catching-up");
	table_set_state(actual_table_get(s, "db3", "public.a"), "pending");
	actual_get(s, "db3")->self.worker_error = sky_strdup("could not connect to provider");
	plan = plan_of(t, s);
	ck_assert(plan_is_empty(plan));
	ck_assert_uint_eq(plan->n_add + plan->n_change + plan->n_remove, 0);
	plan_free(plan);

	sky_buf_init(&b);
	ck_assert_uint_eq(progress_lines(&b, s), 4);
	ck_assert_str_eq(b.data, "  db2: public.a copying 45000/100000 rows (45%)\n"
	                         "  db2: public.b catching-up\n"
	                         "  db3: worker error: could not connect to provider\n"
	                         "  db3: public.a pending\n");
	sky_buf_release(&b);

	nodes = progress_to_json(s);
	ck_assert_uint_eq(json_array_size(nodes), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nodes, 1), "node")),
	                 "db2");
	tab = json_array_get(json_object_get(json_array_get(nodes, 1), "tables"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(tab, "table")), "public.a");
	ck_assert_str_eq(json_string_value(json_object_get(tab, "state")), "copying");
	ck_assert_int_eq(json_integer_value(json_object_get(tab, "rows_copied")), 45000);
	ck_assert_int_eq(json_integer_value(json_object_get(tab, "rows_estimate")), 100000);
	ck_assert(json_is_null(json_object_get(tab, "copy_error")));
	/* ok tables are listed too, with unknown counts as null */
	tab = json_array_get(json_object_get(json_array_get(nodes, 0), "tables"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(tab, "state")), "ok");
	ck_assert(json_is_null(json_object_get(tab, "rows_copied")));
	ck_assert(json_is_null(json_object_get(json_array_get(nodes, 0), "worker_error")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(nodes, 2), "worker_error")),
	    "could not connect to provider");
	text = json_dumps(nodes, JSON_COMPACT);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	free(text);
	json_decref(nodes);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_progress_describe)
{
	struct actual_table at;
	struct sky_buf b;

	memset(&at, 0, sizeof(at));
	at.name = "public.pgbench_accounts";
	at.state = "copying";
	at.rows_copied = -1;
	at.rows_estimate = -1;
#define CK_DESCR(expected)                                                                         \
	do {                                                                                       \
		sky_buf_init(&b);                                                                  \
		progress_table_describe(&b, "db2", &at);                                           \
		ck_assert_str_eq(b.data, (expected));                                              \
		sky_buf_release(&b);                                                               \
	} while (0)
	CK_DESCR("db2: public.pgbench_accounts copying");
	at.rows_copied = 0;
	CK_DESCR("db2: public.pgbench_accounts copying 0 rows");
	at.rows_estimate = 100000;
	CK_DESCR("db2: public.pgbench_accounts copying 0/100000 rows (0%)");
	at.rows_copied = 99999;
	CK_DESCR("db2: public.pgbench_accounts copying 99999/100000 rows (99%)");
	/* an estimate is only an estimate */
	at.rows_copied = 100500;
	CK_DESCR("db2: public.pgbench_accounts copying 100500/100000 rows (100%)");
	/* the counts of a failed attempt are not shown */
	at.copy_error = "connection to provider lost";
	CK_DESCR("db2: public.pgbench_accounts copying (last attempt failed: connection to "
	         "provider lost)");
	at.copy_error = NULL;
	at.state = "catching-up";
	CK_DESCR("db2: public.pgbench_accounts catching-up");
	at.state = "pending";
	CK_DESCR("db2: public.pgbench_accounts pending");
	ck_assert(progress_table_syncing(&at));
	at.state = "ok";
	ck_assert(!progress_table_syncing(&at));
#undef CK_DESCR
}
END_TEST

static Suite *plan_tables_suite(void)
{
	Suite *s = suite_create("plan_tables");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table_added);
	tcase_add_test(tc, test_table_narrowed);
	tcase_add_test(tc, test_plan_time_table_checks);
	tcase_add_test(tc, test_table_add_create_flag);
	tcase_add_test(tc, test_table_removed_everywhere);
	tcase_add_test(tc, test_table_narrowed_away);
	tcase_add_test(tc, test_syncing_tables_are_not_changes);
	tcase_add_test(tc, test_progress_describe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(plan_tables_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
