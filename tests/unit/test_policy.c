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

/* A witness report on node i (an index into s->nodes) about provider `prov`. */
static void witness(struct actual_state *s, size_t i, const char *prov, double heartbeat,
                    double contact)
{
	struct actual_witness *w = &s->nodes[i].witness;

	w->present = true;
	w->provider = sky_strdup(prov);
	w->heartbeat_age = heartbeat;
	w->contact_age = contact;
	w->progress_age = contact;
	w->provider_tick = 7;
}

START_TEST(test_witnesses)
{
	static const long long ticks[] = {0, 10, 10, 10, 10};
	struct topology *t = load("failover: {mode: automatic, detect_after: 3, witnesses: 2}\n");
	struct actual_state *s = actual_at(t, ticks);
	struct sky_buf views;

	/* db2: sees db1 dead; db3 (under db2): never counted; db4: saw db1 1 s ago; db5: stale */
	witness(s, 1, "db1", 0.5, 4.0);
	witness(s, 2, "db2", 0.5, 9.0);
	witness(s, 3, "db1", 0.5, 1.0);
	witness(s, 4, "db1", POLICY_WITNESS_FRESH_S + 1, 20.0);
	sky_buf_init(&views);
	ck_assert_uint_eq(policy_witnesses(&views, t, s, "db1"), 1);
	ck_assert_ptr_nonnull(strstr(views.data, "db2 pulls from db1: last contact 4.0 s ago, last "
	                                         "new tick 7 4.0 s ago, heartbeat 0.5 s ago: sees "
	                                         "it dead\n"));
	ck_assert_ptr_nonnull(strstr(views.data, "not counted: not a direct subscriber"));
	ck_assert_ptr_nonnull(strstr(views.data, "db4 pulls from db1: last contact 1.0 s ago"));
	ck_assert_ptr_nonnull(strstr(views.data, "sees it alive"));
	ck_assert_ptr_nonnull(strstr(views.data, "not counted: its worker's heartbeat is stale"));
	/* db4 has now not reached db1 for detect_after either: two witnesses */
	s->nodes[3].witness.contact_age = 3.0;
	ck_assert_uint_eq(policy_witnesses(NULL, t, s, "db1"), 2);
	/* a node that cannot be read has no view; a worker that never reached db1 (-1) counts */
	s->nodes[1].reachable = false;
	s->nodes[3].witness.contact_age = -1;
	ck_assert_uint_eq(policy_witnesses(NULL, t, s, "db1"), 1);
	sky_buf_release(&views);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_override)
{
	static const long long ticks[] = {0, 10, 9, 12, 40};
	struct topology *t = load("failover: {mode: automatic, never: [db2, db4]}\n");
	struct actual_state *s = actual_at(t, ticks);
	struct policy_decision *d = decide(t, s);
	struct sky_error err;

	ck_assert_ptr_null(d->chosen);
	sky_error_clear(&err);
	ck_assert_int_eq(policy_force(d, t, s, "db5", &err), -1);
	ck_assert_str_eq(err.message, "node \"db5\" is a leaf: only a branch can become the root");
	ck_assert_int_eq(policy_force(d, t, s, "db3", &err), -1);
	ck_assert_str_eq(err.message,
	                 "node \"db3\" is not a reachable node that pulls from \"db1\"");
	ck_assert_int_eq(policy_force(d, t, s, "db2", &err), 0);
	ck_assert_str_eq(d->chosen, "db2");
	ck_assert_ptr_nonnull(strstr(d->reason, "override"));
	ck_assert_ptr_nonnull(d->proposed);
	ck_assert(topology_node(d->proposed, "db1")->dead);
	ck_assert_int_eq(topology_node(d->proposed, "db2")->role, SKY_ROLE_ROOT);
	ck_assert_str_eq(topology_node(d->proposed, "db4")->provider, "db2");
	ck_assert_str_eq(topology_node(d->proposed, "db3")->provider, "db2");
	policy_decision_free(d);
	actual_state_free(s);
	topology_free(t);
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
	tcase_add_test(tc, test_witnesses);
	tcase_add_test(tc, test_override);
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
