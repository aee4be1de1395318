/*
 * Unit tests of the plan engine (reconciler/plan.c and plan_*.c): desired topology + actual
 * state, both built in code (plan_fixture.h), in; the ordered operations out. No database.
 * This file: building a plan (phases, provider order, install and upgrade, members, settings,
 * the JSON form). Tables: test_plan_tables.c; topology changes: test_plan_topology.c; applying
 * a plan: test_apply.c.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "admin_sql.h"
#include "plan.h"
#include "plan_fixture.h"
#include "sky_mem.h"
#include "topology.h"

START_TEST(test_empty_cluster)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_EMPTY);
	struct plan *plan = plan_of(t, s);

	ck_plan(plan, "+ db1: install pgq_set 1\n"
	              "+ db2: install pgq_set 1\n"
	              "+ db3: install pgq_set 1\n"
	              "+ db1: add member \"db1\"\n"
	              "+ db1: add member \"db2\"\n"
	              "+ db1: add member \"db3\"\n"
	              "+ db2: add member \"db1\"\n"
	              "+ db2: add member \"db2\"\n"
	              "+ db2: add member \"db3\"\n"
	              "+ db3: add member \"db1\"\n"
	              "+ db3: add member \"db2\"\n"
	              "+ db3: add member \"db3\"\n"
	              "+ db1: create root of cascade \"app\"\n"
	              "+ db2: create branch (provider db1)\n"
	              "+ db3: create leaf (provider db2)\n"
	              "+ db1: add table public.a\n"
	              "+ db1: add table public.b\n"
	              "+ db2: add table public.a\n"
	              "+ db2: add table public.b\n"
	              "+ db3: add table public.a\n");
	ck_assert_uint_eq(plan->n_add, 20);
	ck_assert_uint_eq(plan->n_change, 0);
	ck_assert_uint_eq(plan->n_remove, 0);
	ck_assert_uint_eq(plan->n_problems, 0);
	/* a member op carries the DSN to store, and the dead flag */
	ck_assert_int_eq(plan->ops[4].kind, PLAN_OP_ADD_MEMBER);
	ck_assert_str_eq(plan->ops[4].subject, "db2");
	ck_assert_str_eq(plan->ops[4].location, t->nodes[1].dsn);
	ck_assert(!plan->ops[4].dead);
	ck_assert_str_eq(plan->ops[14].provider, "db2");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_reconciled_no_ops)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan = plan_of(t, s);

	ck_assert(plan_is_empty(plan));
	ck_assert_uint_eq(plan->n_ops, 0);
	ck_assert_uint_eq(plan->n_add + plan->n_change + plan->n_remove, 0);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_partially_applied)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_EMPTY);
	struct plan *plan;

	/* stopped during phase 4: root fully done, db2 has members but is not created,
	 * db3 has pgq_set only */
	actual_node_stage(s, t, "db1", ST_TABLES);
	actual_node_stage(s, t, "db2", ST_MEMBERS);
	actual_node_stage(s, t, "db3", ST_INSTALLED);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db3: add member \"db1\"\n"
	              "+ db3: add member \"db2\"\n"
	              "+ db3: add member \"db3\"\n"
	              "+ db2: create branch (provider db1)\n"
	              "+ db3: create leaf (provider db2)\n"
	              "+ db2: add table public.a\n"
	              "+ db2: add table public.b\n"
	              "+ db3: add table public.a\n");
	plan_free(plan);

	/* root created, nothing else: its tables come after the creations, root first */
	actual_node_stage(s, t, "db1", ST_CREATED);
	actual_node_stage(s, t, "db2", ST_MEMBERS);
	actual_node_stage(s, t, "db3", ST_MEMBERS);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db2: create branch (provider db1)\n"
	              "+ db3: create leaf (provider db2)\n"
	              "+ db1: add table public.a\n"
	              "+ db1: add table public.b\n"
	              "+ db2: add table public.a\n"
	              "+ db2: add table public.b\n"
	              "+ db3: add table public.a\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_dsn_changed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;
	json_t *doc;
	char *json;
	char *text;

	/* db3's row says db2 is dead, the file does not: the file is the truth (a rejoin) */
	actual_get(s, "db3")->members[1].dead = true;
	free(t->nodes[1].dsn);
	t->nodes[1].dsn = sky_strdup("host=10.9.9.9 dbname=app password=n3wsecret");
	plan = plan_of(t, s);
	ck_plan(plan, "~ db1: update member \"db2\" location\n"
	              "~ db2: update member \"db2\" location\n"
	              "~ db3: update member \"db2\" location, mark it alive\n");
	ck_assert_uint_eq(plan->n_change, 3);
	ck_assert_uint_eq(plan->n_add, 0);
	for (size_t i = 0; i < plan->n_ops; i++) {
		ck_assert_int_eq(plan->ops[i].kind, PLAN_OP_UPDATE_MEMBER);
		ck_assert_str_eq(plan->ops[i].location, t->nodes[1].dsn);
	}
	ck_assert(!plan->ops[0].dead);
	ck_assert(!plan->ops[2].dead);

	/* nothing printable carries the DSN */
	doc = plan_to_json(plan);
	json = json_dumps(doc, JSON_COMPACT);
	text = plan_text(plan);
	ck_assert_ptr_null(strstr(json, "n3wsecret"));
	ck_assert_ptr_null(strstr(json, "10.9.9.9"));
	ck_assert_ptr_null(strstr(text, "n3wsecret"));
	ck_assert_ptr_null(strstr(text, "10.9.9.9"));
	json_decref(doc);
	free(json);
	free(text);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_unreachable_node)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct actual_node *an;
	struct plan *plan;

	topo_add_table(t, "public.c", NULL);
	an = actual_get(s, "db2");
	actual_node_clear(an);
	an->name = sky_strdup("db2");
	an->reachable = false;
	an->error = sky_strdup("could not connect to node \"db2\": connection refused");
	plan = plan_of(t, s);
	ck_assert_uint_eq(plan->n_problems, 1);
	ck_assert_str_eq(plan->problems[0].node, "db2");
	ck_assert(!plan_is_empty(plan));
	/* the reachable nodes are still planned (never applied: the plan has a problem) */
	ck_plan(plan,
	        "+ db1: add table public.c\n"
	        "+ db3: add table public.c\n"
	        "! db2: unreachable: could not connect to node \"db2\": connection refused\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_deep_tree_order)
{
	struct topology *t = topo_new();
	struct actual_state *s;
	struct plan *plan;

	/* file order unrelated to the tree: root -> b1 -> b2 -> leaf, plus l1 under b1 */
	topo_add_node(t, "leaf", SKY_ROLE_LEAF, "b2");
	topo_add_node(t, "b2", SKY_ROLE_BRANCH, "b1");
	topo_add_node(t, "l1", SKY_ROLE_LEAF, "b1");
	topo_add_node(t, "root", SKY_ROLE_ROOT, NULL);
	topo_add_node(t, "b1", SKY_ROLE_BRANCH, "root");
	topo_add_table(t, "public.t", NULL);
	s = actual_new(t, ST_MEMBERS);
	plan = plan_of(t, s);
	ck_plan(plan, "+ root: create root of cascade \"app\"\n"
	              "+ b1: create branch (provider root)\n"
	              "+ b2: create branch (provider b1)\n"
	              "+ l1: create leaf (provider b1)\n"
	              "+ leaf: create leaf (provider b2)\n"
	              "+ root: add table public.t\n"
	              "+ b1: add table public.t\n"
	              "+ b2: add table public.t\n"
	              "+ l1: add table public.t\n"
	              "+ leaf: add table public.t\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_broken_provider_chain)
{
	/* topology.c checks these rules once; a topology that breaks them is unusable input */
	static const char *const cases[][3] = {
	    {"b", "a", "node \"a\" does not hang off the root \"r\""},       /* cycle */
	    {"nowhere", "r", "node \"a\" does not hang off the root \"r\""}, /* unknown */
	    {"l", "r", "node \"a\" does not hang off the root \"r\""},       /* leaf provider */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topology *t = topo_new();
		struct actual_state *s;
		struct plan_options opts = {.sql_version = V};
		struct plan *plan = NULL;
		struct sky_error err;

		topo_add_node(t, "r", SKY_ROLE_ROOT, NULL);
		topo_add_node(t, "l", SKY_ROLE_LEAF, "r");
		topo_add_node(t, "a", SKY_ROLE_BRANCH, cases[i][0]);
		topo_add_node(t, "b", SKY_ROLE_BRANCH, cases[i][1]);
		s = actual_new(t, ST_TABLES);
		sky_error_clear(&err);
		ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), -1);
		ck_assert_ptr_null(plan);
		ck_assert_msg(strstr(err.message, cases[i][2]) != NULL, "%s", err.message);
		actual_state_free(s);
		topo_release(t);
	}
}
END_TEST

START_TEST(test_upgrade_and_newer)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan_options opts = {.sql_version = "3"};
	struct plan *plan = NULL;
	struct sky_error err;

	free(actual_get(s, "db1")->version);
	actual_get(s, "db1")->version = sky_strdup("2");
	free(actual_get(s, "db2")->version);
	actual_get(s, "db2")->version = sky_strdup("10");
	ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), 0);
	ck_plan(plan,
	        "~ db1: upgrade pgq_set 2 -> 3\n"
	        "~ db3: upgrade pgq_set 1 -> 3\n"
	        "! db2: pgq_set 10 is newer than the version this skyreconcile installs (3)\n");
	ck_assert_uint_eq(plan->n_change, 2);
	plan_free(plan);

	/* pgq dropped under an existing pgq_set: install again, keep the catalog */
	actual_get(s, "db1")->has_pgq = false;
	free(actual_get(s, "db1")->version);
	actual_get(s, "db1")->version = sky_strdup("3");
	free(actual_get(s, "db2")->version);
	actual_get(s, "db2")->version = sky_strdup("3");
	free(actual_get(s, "db3")->version);
	actual_get(s, "db3")->version = sky_strdup("3");
	ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), 0);
	ck_plan(plan, "+ db1: install pgq_set 3\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

/* Same catalog version, other functions: the installer runs again where its digest differs. */
START_TEST(test_installer_digest)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan_options opts = {.sql_version = V, .sql_digest = "00aa"};
	struct plan *plan = NULL;
	struct sky_error err;

	actual_get(s, "db1")->installer = sky_strdup("00aa");
	actual_get(s, "db2")->installer = sky_strdup("00bb");
	ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), 0);
	ck_plan(plan,
	        "~ db2: upgrade pgq_set " V " (installer 00bb) -> " V " (installer 00aa)\n"
	        "~ db3: upgrade pgq_set " V " (installer unknown) -> " V " (installer 00aa)\n");
	plan_free(plan);

	/* without a digest to compare (an older caller) the version alone decides */
	opts.sql_digest = NULL;
	ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), 0);
	ck_plan(plan, "");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_json_has_no_dsn)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_EMPTY);
	struct plan *plan = plan_of(t, s);
	json_t *doc = plan_to_json(plan);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_t *op;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	ck_assert_ptr_null(strstr(text, "10.0.0.1"));
	ck_assert(json_is_true(json_object_get(doc, "changes")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(doc, "summary"), "add")), 20);
	op = json_array_get(json_object_get(doc, "ops"), 13);
	ck_assert_str_eq(json_string_value(json_object_get(op, "op")), "create_branch");
	ck_assert_str_eq(json_string_value(json_object_get(op, "action")), "+");
	ck_assert_str_eq(json_string_value(json_object_get(op, "provider")), "db1");
	ck_assert_str_eq(json_string_value(json_object_get(op, "text")),
	                 "db2: create branch (provider db1)");
	free(text);
	json_decref(doc);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_version_cmp)
{
	ck_assert_int_eq(plan_version_cmp("1", "1"), 0);
	ck_assert_int_lt(plan_version_cmp("2", "10"), 0);
	ck_assert_int_gt(plan_version_cmp("10", "9"), 0);
	ck_assert_int_eq(plan_version_cmp("007", "7"), 0);
	ck_assert_int_ne(plan_version_cmp("1.0", "1"), 0);
}
END_TEST

START_TEST(test_sql_version)
{
	struct sky_error err;
	char *v = NULL;

	ck_assert_int_eq(
	    admin_sql_version(&v,
	                      "begin;\n-- file: schema/001_base.sql\nx;\n"
	                      "-- file: schema/012_more.sql\n-- file: functions/a.sql\n",
	                      &err),
	    0);
	ck_assert_str_eq(v, "12");
	free(v);
	v = NULL;
	ck_assert_int_eq(admin_sql_version(&v, "-- file: functions/a.sql\n", &err), -1);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_parallel_copies)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;
	json_t *doc;
	json_t *op;

	actual_get(s, "db1")->self.parallel_copies = 1;
	actual_get(s, "db2")->self.parallel_copies = 1;
	actual_get(s, "db3")->self.parallel_copies = 3;
	t->parallel_copies = 2;
	t->nodes[2].parallel_copies = 3; /* db3's own */
	plan = plan_of(t, s);
	/* the root never copies: no setting there */
	ck_plan(plan, "~ db2: set parallel_copies 1 -> 2\n");
	ck_assert_int_eq(plan->ops[0].kind, PLAN_OP_SET_PARALLEL_COPIES);
	ck_assert_str_eq(plan->ops[0].from, "1");
	ck_assert_str_eq(plan->ops[0].to, "2");
	ck_assert_uint_eq(plan->n_change, 1);
	doc = plan_to_json(plan);
	op = json_array_get(json_object_get(doc, "ops"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(op, "op")), "set_parallel_copies");
	ck_assert_str_eq(json_string_value(json_object_get(op, "to")), "2");
	json_decref(doc);
	plan_free(plan);

	/* db3's override removed: back to the setting */
	t->nodes[2].parallel_copies = 0;
	actual_get(s, "db2")->self.parallel_copies = 2;
	plan = plan_of(t, s);
	ck_plan(plan, "~ db3: set parallel_copies 3 -> 2\n");
	plan_free(plan);

	/* new nodes start at the catalog default 1: set after create, before their tables */
	actual_state_free(s);
	s = actual_new(t, ST_MEMBERS);
	actual_node_stage(s, t, "db1", ST_TABLES);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db2: create branch (provider db1)\n"
	              "+ db3: create leaf (provider db2)\n"
	              "~ db2: set parallel_copies 1 -> 2\n"
	              "~ db3: set parallel_copies 1 -> 2\n"
	              "+ db2: add table public.a\n"
	              "+ db2: add table public.b\n"
	              "+ db3: add table public.a\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

/* settings.ticker_*: one change per threshold on the root, read from its queue */
START_TEST(test_ticker_settings)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct actual_identity *root = &actual_get(s, "db1")->self;
	struct plan *plan;
	char *text;
	json_t *doc;
	json_t *op;

	/* not read (0): left alone */
	t->has_ticker_max_lag = true;
	t->ticker_max_lag_ms = 500;
	plan = plan_of(t, s);
	ck_plan(plan, "");
	plan_free(plan);

	/* a root made before the defaults (PgQ's 3 s) and a file asking for 0.5 s and 10 s */
	root->ticker_max_count = 500;
	root->ticker_max_lag_ms = 3000;
	root->ticker_idle_period_ms = 60000;
	t->ticker_idle_period_ms = 10000;
	plan = plan_of(t, s);
	ck_plan(plan, "~ db1: set ticker_max_lag 3 -> 0.5\n"
	              "~ db1: set ticker_idle_period 60 -> 10\n");
	ck_assert_int_eq(plan->ops[0].kind, PLAN_OP_SET_TICKER);
	ck_assert_str_eq(plan->ops[0].subject, "ticker_max_lag");
	ck_assert_str_eq(plan->ops[0].to, "0.5");
	doc = plan_to_json(plan);
	op = json_array_get(json_object_get(doc, "ops"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(op, "op")), "set_ticker");
	ck_assert_str_eq(json_string_value(json_object_get(op, "setting")), "ticker_max_lag");
	json_decref(doc);
	plan_free(plan);

	/* the file's keys left out: create_root's defaults */
	t->has_ticker_max_lag = false;
	t->ticker_idle_period_ms = 0;
	t->ticker_max_count = 1000;
	plan = plan_of(t, s);
	ck_plan(plan, "~ db1: set ticker_max_count 500 -> 1000\n"
	              "~ db1: set ticker_max_lag 3 -> 0.05\n");
	plan_free(plan);

	/* a root to create: its defaults first, then what differs, before the tables */
	actual_state_free(s);
	s = actual_new(t, ST_MEMBERS);
	t->ticker_max_count = 0;
	t->has_ticker_max_lag = true;
	t->ticker_max_lag_ms = 0;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text, "+ db1: create root") &&
	                  strstr(text, "~ db1: set ticker_max_lag 0.05 -> 0\n") >
	                      strstr(text, "+ db1: create root") &&
	                  !strstr(text, "ticker_max_count") && !strstr(text, "ticker_idle"),
	              "plan:\n%s", text);
	free(text);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_upgrade_then_parallel_copies)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan_options opts = {.sql_version = "2"};
	struct plan *plan = NULL;
	struct sky_error err;

	/* every node at pgq_set 1: no parallel_copies in its catalog yet (reads as 0) */
	t->parallel_copies = 4;
	ck_assert_int_eq(plan_build(&plan, t, s, &opts, &err), 0);
	ck_plan(plan, "~ db1: upgrade pgq_set 1 -> 2\n"
	              "~ db2: upgrade pgq_set 1 -> 2\n"
	              "~ db3: upgrade pgq_set 1 -> 2\n"
	              "~ db2: set parallel_copies 1 -> 4\n"
	              "~ db3: set parallel_copies 1 -> 4\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_cluster);
	tcase_add_test(tc, test_reconciled_no_ops);
	tcase_add_test(tc, test_partially_applied);
	tcase_add_test(tc, test_dsn_changed);
	tcase_add_test(tc, test_unreachable_node);
	tcase_add_test(tc, test_deep_tree_order);
	tcase_add_test(tc, test_broken_provider_chain);
	tcase_add_test(tc, test_upgrade_and_newer);
	tcase_add_test(tc, test_installer_digest);
	tcase_add_test(tc, test_json_has_no_dsn);
	tcase_add_test(tc, test_version_cmp);
	tcase_add_test(tc, test_sql_version);
	tcase_add_test(tc, test_parallel_copies);
	tcase_add_test(tc, test_ticker_settings);
	tcase_add_test(tc, test_upgrade_then_parallel_copies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(plan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
