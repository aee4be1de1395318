/*
 * test_policy: the failover decision (reconciler/policy.c), no database. Topologies come from
 * YAML through the real parser; the actual state is built by hand.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sky_mem.h"

static const char base_yaml[] = "cascade: app\n"
                                "nodes:\n"
                                "  db1: {role: root, dsn: \"host=h1\"}\n"
                                "  db2: {role: branch, dsn: \"host=h2\", provider: db1}\n"
                                "  db3: {role: leaf, dsn: \"host=h3\", provider: db2}\n"
                                "  db4: {role: branch, dsn: \"host=h4\", provider: db1}\n"
                                "  db5: {role: leaf, dsn: \"host=h5\", provider: db1}\n";

static struct topology *load(const char *extra)
{
	struct topology *t = NULL;
	struct sky_error err;
	char *text = sky_asprintf("%s%s", base_yaml, extra ? extra : "");

	sky_error_clear(&err);
	ck_assert_msg(topology_load_string(&t, "t.yaml", text, strlen(text), &err) == 0, "%s",
	              err.message);
	free(text);
	return t;
}

/* Every node reachable and created as the file says, at the given ticks (db1..db5). */
static struct actual_state *actual_at(const struct topology *t, const long long *ticks)
{
	struct actual_state *s = sky_calloc(1, sizeof(*s));

	s->nodes = sky_calloc(t->n_nodes, sizeof(*s->nodes));
	s->n_nodes = t->n_nodes;
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct actual_node *an = &s->nodes[i];

		an->name = sky_strdup(t->nodes[i].name);
		an->reachable = i != 0; /* db1 is the dead root */
		an->created = an->reachable;
		if (!an->created)
			continue;
		an->self.name = sky_strdup(t->nodes[i].name);
		an->self.role = t->nodes[i].role;
		an->self.provider = t->nodes[i].provider ? sky_strdup(t->nodes[i].provider) : NULL;
		an->self.last_tick = ticks[i];
	}
	return s;
}

static struct policy_decision *decide(const struct topology *t, const struct actual_state *s)
{
	struct policy_decision *d = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_msg(policy_decide(&d, t, s, "db1", &err) == 0, "%s", err.message);
	return d;
}

START_TEST(test_most_advanced_branch)
{
	static const long long ticks[] = {0, 12, 11, 15, 16};
	struct topology *t = load(NULL);
	struct actual_state *s = actual_at(t, ticks);
	struct policy_decision *d = decide(t, s);
	const struct topo_node *n;

	/* db5 (a leaf) saw tick 16, but only branches can be promoted: db4 at 15 */
	ck_assert_str_eq(d->chosen, "db4");
	ck_assert_int_eq(d->last_tick, 16);
	ck_assert_ptr_nonnull(strstr(d->evidence, "db5 leaf tick 16 (0 behind) priority 0: not a "
	                                          "candidate: a leaf\n"));
	ck_assert_ptr_nonnull(strstr(d->evidence, "db2 branch tick 12 (4 behind) priority 0: "
	                                          "candidate\n"));
	/* the edit a person would make: db1 dead, db4 root, db2 and db5 under db4, db3 stays */
	n = topology_node(d->proposed, "db1");
	ck_assert(n->dead);
	n = topology_node(d->proposed, "db4");
	ck_assert_int_eq(n->role, SKY_ROLE_ROOT);
	ck_assert_ptr_null(n->provider);
	ck_assert_str_eq(topology_node(d->proposed, "db2")->provider, "db4");
	ck_assert_str_eq(topology_node(d->proposed, "db5")->provider, "db4");
	ck_assert_str_eq(topology_node(d->proposed, "db3")->provider, "db2");
	ck_assert_ptr_eq(topology_root(d->proposed), topology_node(d->proposed, "db4"));
	policy_decision_free(d);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_priority_breaks_ties_and_never)
{
	static const long long ticks[] = {0, 15, 11, 15, 10};
	struct topology *t = load("failover: {candidates: {db2: 5, db4: 1}}\n");
	struct actual_state *s = actual_at(t, ticks);
	struct policy_decision *d = decide(t, s);

	ck_assert_str_eq(d->chosen, "db2");
	policy_decision_free(d);
	topology_free(t);

	t = load("failover: {never: [db2]}\n");
	d = decide(t, s);
	ck_assert_str_eq(d->chosen, "db4");
	ck_assert_ptr_nonnull(strstr(d->evidence, "db2 branch tick 15 (0 behind) priority 0: not "
	                                          "a candidate: failover.never\n"));
	policy_decision_free(d);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_no_candidate_within_max_lag)
{
	static const long long ticks[] = {0, 10, 9, 12, 40};
	struct topology *t = load("failover: {mode: automatic, max_lag_ticks: 5, never: [db4]}\n");
	struct actual_state *s = actual_at(t, ticks);
	struct policy_decision *d = decide(t, s);

	ck_assert(t->failover.automatic);
	ck_assert_ptr_null(d->chosen);
	ck_assert_ptr_null(d->proposed);
	ck_assert_ptr_nonnull(strstr(d->reason, "no candidate"));
	ck_assert_ptr_nonnull(strstr(d->evidence, "db2 branch tick 10 (30 behind) priority 0: not "
	                                          "a candidate: behind by more than "
	                                          "failover.max_lag_ticks\n"));
	policy_decision_free(d);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_not_the_root)
{
	static const long long ticks[] = {0, 1, 1, 1, 1};
	struct topology *t = load(NULL);
	struct actual_state *s = actual_at(t, ticks);
	struct policy_decision *d = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_int_eq(policy_decide(&d, t, s, "db2", &err), -1);
	ck_assert_str_eq(err.message,
	                 "node \"db2\" is not the root of the topology (the root is db1)");
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_policy_keys_checked)
{
	static const char *const bad[][2] = {
	    {"failover: {mode: sometimes}\n", "expected manual or automatic for \"mode\""},
	    {"failover: {candidates: {db9: 1}}\n", "unknown node \"db9\" in \"candidates\""},
	    {"failover: {candidates: {db2: 1}, never: [db2]}\n",
	     "node \"db2\" is both in \"candidates\" and in \"never\""},
	    {"failover: {detect_after: 0}\n", "expected an integer >= 1 for \"detect_after\""},
	    {"failover: {witness: 2}\n", "unknown key \"witness\" in failover"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct topology *t = NULL;
		struct sky_error err;
		char *text = sky_asprintf("%s%s", base_yaml, bad[i][0]);

		sky_error_clear(&err);
		ck_assert_int_eq(topology_load_string(&t, "t.yaml", text, strlen(text), &err), -1);
		ck_assert_msg(strstr(err.message, bad[i][1]) != NULL, "%s: %s", bad[i][0],
		              err.message);
		free(text);
	}
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_most_advanced_branch);
	tcase_add_test(tc, test_priority_breaks_ties_and_never);
	tcase_add_test(tc, test_no_candidate_within_max_lag);
	tcase_add_test(tc, test_not_the_root);
	tcase_add_test(tc, test_policy_keys_checked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
