/*
 * Unit tests of the plan engine (reconciler/plan_*.c): changes of the topology itself, with
 * plan_fixture.h's states. Role changes, provider changes and stale subscriptions, failover,
 * pause and resume, rename, dropping a node. No database.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "plan.h"
#include "plan_fixture.h"
#include "sky_mem.h"
#include "topology.h"

START_TEST(test_role_changed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	/* the yaml makes db2 the root and db1 its branch: a switchover */
	t->nodes[0].role = SKY_ROLE_BRANCH;
	t->nodes[0].provider = sky_strdup("db2");
	t->nodes[1].role = SKY_ROLE_ROOT;
	free(t->nodes[1].provider);
	t->nodes[1].provider = NULL;
	plan = plan_of(t, s);
	ck_plan(plan,
	        "~ db2: switchover db1 -> db2: lock writers on db1, final tick, wait for db2, "
	        "promote db2, attach db1 under db2\n");
	plan_free(plan);

	/* interrupted after the promotion: both catalogs say root; the same operation goes on */
	actual_get(s, "db2")->self.role = SKY_ROLE_ROOT;
	plan = plan_of(t, s);
	ck_plan(plan,
	        "~ db2: switchover db1 -> db2: lock writers on db1, final tick, wait for db2, "
	        "promote db2, attach db1 under db2\n");
	plan_free(plan);

	/* the old root as a leaf */
	actual_get(s, "db2")->self.role = SKY_ROLE_BRANCH;
	t->nodes[0].role = SKY_ROLE_LEAF;
	plan = plan_of(t, s);
	ck_plan(plan,
	        "~ db2: switchover db1 -> db2: lock writers on db1, final tick, wait for db2, "
	        "promote db2, attach db1 under db2 as a leaf\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

static void actual_subscriber_put(struct actual_node *an, const char *name, long long tick)
{
	struct actual_subscriber *sub;

	an->subscribers =
	    sky_realloc(an->subscribers, (an->n_subscribers + 1) * sizeof(*an->subscribers));
	sub = &an->subscribers[an->n_subscribers++];
	memset(sub, 0, sizeof(*sub));
	sub->name = sky_strdup(name);
	sub->last_tick = tick;
	sub->watermark = tick;
}

START_TEST(test_provider_changed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	actual_subscriber_put(actual_get(s, "db2"), "db3", 1);
	free(t->nodes[2].provider);
	t->nodes[2].provider = sky_strdup("db1");
	plan = plan_of(t, s);
	/* the old provider's registration goes with the operation, not as a step of its own */
	ck_plan(plan, "~ db3: change provider db2 -> db1: pause, register on db1 at its own tick, "
	              "switch, resume, unregister from db2\n");
	ck_assert_int_eq(plan->ops[0].kind, PLAN_OP_CHANGE_PROVIDER);
	ck_assert(!plan->ops[0].paused);
	plan_free(plan);

	/* a table still copying holds a position of the old provider: wait */
	free(actual_get(s, "db3")->tables[0].state);
	actual_get(s, "db3")->tables[0].state = sky_strdup("catching-up");
	plan = plan_of(t, s);
	ck_plan(plan, "! db3: provider change db2 -> db1 waits until the node's tables are in sync "
	              "(table public.a is catching-up)\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_failover)
{
	struct topology *t = topo_new();
	struct actual_state *s;
	struct plan *plan;
	char *text;

	/* db1 root, branches db2 (tick 12) and db4 (tick 15), leaf db3 under db2 */
	topo_add_node(t, "db1", SKY_ROLE_ROOT, NULL);
	topo_add_node(t, "db2", SKY_ROLE_BRANCH, "db1");
	topo_add_node(t, "db3", SKY_ROLE_LEAF, "db2");
	topo_add_node(t, "db4", SKY_ROLE_BRANCH, "db1");
	topo_add_table(t, "public.a", NULL);
	s = actual_new(t, ST_TABLES);
	actual_get(s, "db2")->self.last_tick = 12;
	actual_get(s, "db4")->self.last_tick = 15;
	/* the file: db1 dead (unreachable), db2 the root, db4 under db2 */
	t->nodes[0].dead = true;
	t->nodes[1].role = SKY_ROLE_ROOT;
	free(t->nodes[1].provider);
	t->nodes[1].provider = NULL;
	free(t->nodes[3].provider);
	t->nodes[3].provider = sky_strdup("db2");
	{
		struct actual_node *an = actual_get(s, "db1");

		actual_node_clear(an);
		an->name = sky_strdup("db1");
		an->error = sky_strdup("connection refused");
	}
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text,
	                     "~ db2: failover from db1 (dead): survivors' last ticks: db2 12, "
	                     "db4 15; catch up db2 from db4 to tick 15, promote db2; lost: "
	                     "whatever db1 committed after tick 15 (exact count at its "
	                     "rejoin)\n") != NULL,
	              "%s", text);
	ck_assert_msg(strstr(text, "~ db4: change provider db1 -> db2") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ db2: mark member \"db1\" dead\n") != NULL, "%s", text);
	ck_assert_uint_eq(plan->n_problems, 0);
	free(text);
	plan_free(plan);

	/* the same move without dead: true is refused with what to do */
	t->nodes[0].dead = false;
	t->nodes[0].role = SKY_ROLE_BRANCH;
	t->nodes[0].provider = sky_strdup("db2");
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text, "! db2: cannot become the root: node \"db1\" above it is "
	                           "unreachable but not marked dead") != NULL,
	              "%s", text);
	free(text);
	plan_free(plan);

	/* a fenced dead node that is reachable again is fenced first thing */
	t->nodes[0].dead = true;
	actual_node_stage(s, t, "db1", ST_TABLES);
	actual_get(s, "db1")->self.role = SKY_ROLE_ROOT;
	free(actual_get(s, "db1")->self.provider);
	actual_get(s, "db1")->self.provider = NULL;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strncmp(text,
	                      "~ db1: fence (dead): refuse writes, stop its ticks, stop its "
	                      "worker\n",
	                      60) == 0,
	              "%s", text);
	free(text);
	plan_free(plan);
	actual_get(s, "db1")->self.fenced = true;
	plan = plan_of(t, s);
	text = plan_text(plan);
	ck_assert_msg(strstr(text, "fence") == NULL, "%s", text);
	free(text);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_stale_subscriber_unregistered)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	/* db3 was moved to db1 by a run that was stopped before the old provider forgot it */
	free(t->nodes[2].provider);
	t->nodes[2].provider = sky_strdup("db1");
	free(actual_get(s, "db3")->self.provider);
	actual_get(s, "db3")->self.provider = sky_strdup("db1");
	actual_subscriber_put(actual_get(s, "db1"), "db2", 1);
	actual_subscriber_put(actual_get(s, "db1"), "db3", 1);
	actual_subscriber_put(actual_get(s, "db2"), "db3", 1);
	plan = plan_of(t, s);
	ck_plan(plan, "- db2: unregister subscriber \"db3\" (it pulls from another provider)\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_pause_resume)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	t->nodes[2].paused = true;
	actual_get(s, "db2")->self.paused = true;
	plan = plan_of(t, s);
	ck_plan(plan, "~ db2: resume\n"
	              "~ db3: pause: the worker stops between batches and acknowledges\n");
	ck_assert_uint_eq(plan->n_change, 2);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_rename)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	/* db2 becomes "mid" in the file; every catalog still says db2 */
	actual_subscriber_put(actual_get(s, "db1"), "db2", 1);
	actual_subscriber_put(actual_get(s, "db2"), "db3", 1);
	free(t->nodes[1].name);
	t->nodes[1].name = sky_strdup("mid");
	t->nodes[1].renamed_from = sky_strdup("db2");
	free(t->nodes[2].provider);
	t->nodes[2].provider = sky_strdup("mid");
	free(t->tables[1].nodes[1]);
	t->tables[1].nodes[1] = sky_strdup("mid");
	free(s->nodes[1].name);
	s->nodes[1].name = sky_strdup("mid");
	plan = plan_of(t, s);
	/* one rename, no member added, no provider change, nothing dropped */
	ck_plan(plan, "~ mid: rename db2 -> mid: pause it, rename it on every node, resume\n");
	plan_free(plan);

	/* without renamed_from the same file is refused, saying how to ask for a rename */
	free(t->nodes[1].renamed_from);
	t->nodes[1].renamed_from = NULL;
	plan = plan_of(t, s);
	ck_assert_uint_gt(plan->n_problems, 0);
	{
		char *text = plan_text(plan);

		ck_assert_msg(strstr(text, "! mid: the database holds node \"db2\" of cascade "
		                           "\"app\" (to rename it, add renamed_from: db2 to node "
		                           "\"mid\")\n") != NULL,
		              "%s", text);
		free(text);
	}
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_drop_node)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	/* db4, a leaf under db2, was removed from the file */
	for (size_t i = 0; i < s->n_nodes; i++)
		actual_member_put(&s->nodes[i], "db4", "host=db4");
	actual_subscriber_put(actual_get(s, "db2"), "db4", 1);
	plan = plan_of(t, s);
	ck_plan(plan, "- db4: drop node: unregister it from its provider, remove its member rows "
	              "everywhere\n");
	ck_assert_uint_eq(plan->n_remove, 1);
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

static Suite *plan_topology_suite(void)
{
	Suite *s = suite_create("plan_topology");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_role_changed);
	tcase_add_test(tc, test_provider_changed);
	tcase_add_test(tc, test_stale_subscriber_unregistered);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_pause_resume);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_drop_node);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(plan_topology_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
