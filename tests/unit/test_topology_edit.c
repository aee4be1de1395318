/*
 * test_topology_edit: the failover decision written into topology.yaml's text
 * (reconciler/topology_edit.c), no database. Each case gives the file before and the exact
 * bytes expected after: everything but the failover's own lines must stay as it was.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sky_mem.h"
#include "topology_edit.h"

/*
 * The decision a person would make by hand (the rule of policy.c): dead marked dead, chosen
 * the root without a provider, dead's other subscribers under chosen. The caller frees it with
 * policy_decision_free.
 */
static struct policy_decision *decision_for(const char *text, const char *dead, const char *chosen)
{
	struct policy_decision *d = sky_calloc(1, sizeof(*d));
	struct topology *t = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_msg(topology_load_string(&t, "t.yaml", text, strlen(text), &err) == 0, "%s",
	              err.message);
	d->dead = sky_strdup(dead);
	d->chosen = sky_strdup(chosen);
	d->proposed = t;
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];

		if (strcmp(n->name, dead) == 0) {
			n->dead = true;
		} else if (strcmp(n->name, chosen) == 0) {
			n->role = SKY_ROLE_ROOT;
			free(n->provider);
			n->provider = NULL;
		} else if (n->provider && strcmp(n->provider, dead) == 0) {
			free(n->provider);
			n->provider = sky_strdup(chosen);
		}
	}
	return d;
}

/* Edit `before` for the failover dead -> chosen and compare with `after`, byte for byte. */
static void check_edit(const char *before, const char *dead, const char *chosen, const char *after)
{
	struct policy_decision *d = decision_for(before, dead, chosen);
	struct topology *t = NULL;
	struct sky_error err;
	char *out = NULL;

	sky_error_clear(&err);
	ck_assert_msg(topology_edit_failover(&out, "t.yaml", before, strlen(before), d, &err) == 0,
	              "%s", err.message);
	ck_assert_str_eq(out, after);
	/* and it says the decision */
	ck_assert_msg(topology_load_string(&t, "t.yaml", out, strlen(out), &err) == 0, "%s",
	              err.message);
	ck_assert(topology_equal(t, d->proposed, NULL, 0));
	topology_free(t);
	free(out);
	policy_decision_free(d);
}

START_TEST(test_block_comments_kept)
{
	static const char before[] = "# the cascade of the app – 3 sites\n"
	                             "cascade: app\n"
	                             "nodes:\n"
	                             "    # the root, in Zürich\n"
	                             "    db1:\n"
	                             "        role: root     # role: root\n"
	                             "        dsn: \"host=h1 dbname=app\"\n"
	                             "\n"
	                             "    # db2 takes over\n"
	                             "    db2:\n"
	                             "        role: branch\n"
	                             "        provider: db1   # pulls from db1\n"
	                             "        dsn: \"host=h2\"\n"
	                             "    db3:\n"
	                             "        role: leaf\n"
	                             "        dsn: \"host=h3\"\n"
	                             "        provider: db1\n"
	                             "        # end of db3\n"
	                             "    db4: {role: leaf, dsn: \"host=h4\", provider: db2}\n"
	                             "tables:\n"
	                             "  - public.accounts # money\n";
	static const char after[] = "# the cascade of the app – 3 sites\n"
	                            "cascade: app\n"
	                            "nodes:\n"
	                            "    # the root, in Zürich\n"
	                            "    db1:\n"
	                            "        role: root     # role: root\n"
	                            "        dsn: \"host=h1 dbname=app\"\n"
	                            "        dead: true\n"
	                            "\n"
	                            "    # db2 takes over\n"
	                            "    db2:\n"
	                            "        role: root\n"
	                            "        dsn: \"host=h2\"\n"
	                            "    db3:\n"
	                            "        role: leaf\n"
	                            "        dsn: \"host=h3\"\n"
	                            "        provider: db2\n"
	                            "        # end of db3\n"
	                            "    db4: {role: leaf, dsn: \"host=h4\", provider: db2}\n"
	                            "tables:\n"
	                            "  - public.accounts # money\n";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_flow_style)
{
	static const char before[] = "cascade: app\n"
	                             "nodes:\n"
	                             "  db1: {role: root,   dsn: \"host=h1\"}\n"
	                             "  db2: {role: branch, dsn: \"host=h2\", provider: db1}\n"
	                             "  db3: {role: leaf,   dsn: \"host=h3\", provider: db2}\n"
	                             "  db4: {provider: db1, role: branch, dsn: \"host=h4\" }\n"
	                             "  db5: {role: leaf, provider: db1, dsn: \"host=h5\", paused: "
	                             "false}\n";
	static const char after[] = "cascade: app\n"
	                            "nodes:\n"
	                            "  db1: {role: root,   dsn: \"host=h1\", dead: true}\n"
	                            "  db2: {role: branch, dsn: \"host=h2\", provider: db4}\n"
	                            "  db3: {role: leaf,   dsn: \"host=h3\", provider: db2}\n"
	                            "  db4: {role: root, dsn: \"host=h4\" }\n"
	                            "  db5: {role: leaf, provider: db4, dsn: \"host=h5\", paused: "
	                            "false}\n";

	check_edit(before, "db1", "db4", after);
}
END_TEST

START_TEST(test_flow_provider_last_and_multiline)
{
	static const char before[] = "cascade: app\n"
	                             "nodes: {\n"
	                             "  db1: {\n"
	                             "    role: root,\n"
	                             "    dsn: \"host=h1\"   # the old root\n"
	                             "  },\n"
	                             "  db2: {role: branch, dsn: \"host=h2\", provider: db1},\n"
	                             "  db3: {\n"
	                             "    role: branch,\n"
	                             "    dsn: \"host=h3\",\n"
	                             "    provider: db1,\n"
	                             "  },\n"
	                             "}\n";
	static const char after[] = "cascade: app\n"
	                            "nodes: {\n"
	                            "  db1: {\n"
	                            "    role: root,\n"
	                            "    dsn: \"host=h1\",   # the old root\n"
	                            "    dead: true\n"
	                            "  },\n"
	                            "  db2: {role: root, dsn: \"host=h2\"},\n"
	                            "  db3: {\n"
	                            "    role: branch,\n"
	                            "    dsn: \"host=h3\",\n"
	                            "    provider: db2,\n"
	                            "  },\n"
	                            "}\n";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_quoted_keys_and_values)
{
	/* the chosen node comes first; the dead root already says dead: false */
	static const char before[] =
	    "\"cascade\": app\n"
	    "'nodes':\n"
	    "  db2:\n"
	    "    \"provider\": \"db1\"\n"
	    "    'role': 'branch'\n"
	    "    dsn: 'host=h2'\n"
	    "  db1:\n"
	    "    \"role\": \"root\"\n"
	    "    dead: false\n"
	    "    dsn: 'host=h1'\n"
	    "  db3: {\"role\": 'leaf', \"dsn\": \"host=h3\", \"provider\": "
	    "'db1'}\n";
	static const char after[] = "\"cascade\": app\n"
	                            "'nodes':\n"
	                            "  db2:\n"
	                            "    'role': 'root'\n"
	                            "    dsn: 'host=h2'\n"
	                            "  db1:\n"
	                            "    \"role\": \"root\"\n"
	                            "    dead: true\n"
	                            "    dsn: 'host=h1'\n"
	                            "  db3: {\"role\": 'leaf', \"dsn\": \"host=h3\", \"provider\": "
	                            "'db2'}\n";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_crlf_and_no_final_newline)
{
	static const char before[] = "cascade: app\r\n"
	                             "nodes:\r\n"
	                             "  db2:\r\n"
	                             "    role: branch\r\n"
	                             "    provider: db1 # x\r\n"
	                             "    dsn: host=h2\r\n"
	                             "  db3: {role: leaf, dsn: host=h3, provider: db1}\r\n"
	                             "  db1:\r\n"
	                             "    role: root\r\n"
	                             "    dsn: host=h1";
	static const char after[] = "cascade: app\r\n"
	                            "nodes:\r\n"
	                            "  db2:\r\n"
	                            "    role: root\r\n"
	                            "    dsn: host=h2\r\n"
	                            "  db3: {role: leaf, dsn: host=h3, provider: db2}\r\n"
	                            "  db1:\r\n"
	                            "    role: root\r\n"
	                            "    dsn: host=h1\r\n"
	                            "    dead: true";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_bom_and_wide_characters)
{
	/* libyaml's marks count characters after the byte order mark: offsets must be bytes */
	static const char before[] = "\xef\xbb\xbf# ünïcödé ☃☃☃\n"
	                             "cascade: app # 日本語\n"
	                             "nodes:\n"
	                             "  db1: {role: root, dsn: \"host=h1 application_name=ö\"}\n"
	                             "  db2: {role: branch, dsn: \"host=ü\", provider: db1} # ☃\n";
	static const char after[] = "\xef\xbb\xbf# ünïcödé ☃☃☃\n"
	                            "cascade: app # 日本語\n"
	                            "nodes:\n"
	                            "  db1: {role: root, dsn: \"host=h1 application_name=ö\", "
	                            "dead: true}\n"
	                            "  db2: {role: root, dsn: \"host=ü\"} # ☃\n";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_leaf_under_dead_root_and_last_line)
{
	/* the dead root is the last node, its last line a deeper block: dead: true follows it */
	static const char before[] = "cascade: app\n"
	                             "nodes:\n"
	                             "  db2:\n"
	                             "    role: branch\n"
	                             "    dsn: host=h2\n"
	                             "    provider: db1\n"
	                             "  db5:\n"
	                             "    provider: db1\n"
	                             "    role: leaf\n"
	                             "    dsn: host=h5\n"
	                             "  db1:\n"
	                             "    role: root\n"
	                             "    dsn: >-\n"
	                             "      host=h1\n"
	                             "      dbname=app\n"
	                             "# trailing comment\n";
	static const char after[] = "cascade: app\n"
	                            "nodes:\n"
	                            "  db2:\n"
	                            "    role: root\n"
	                            "    dsn: host=h2\n"
	                            "  db5:\n"
	                            "    provider: db2\n"
	                            "    role: leaf\n"
	                            "    dsn: host=h5\n"
	                            "  db1:\n"
	                            "    role: root\n"
	                            "    dsn: >-\n"
	                            "      host=h1\n"
	                            "      dbname=app\n"
	                            "    dead: true\n"
	                            "# trailing comment\n";

	check_edit(before, "db1", "db2", after);
}
END_TEST

START_TEST(test_refused)
{
	static const char aliased[] = "cascade: app\n"
	                              "nodes:\n"
	                              "  db1: {role: root, dsn: host=h1}\n"
	                              "  db2: &b {role: branch, dsn: host=h2, provider: db1}\n"
	                              "  db3: *b\n";
	static const char plain[] = "cascade: app\n"
	                            "nodes:\n"
	                            "  db1: {role: root, dsn: host=h1}\n"
	                            "  db2: {role: branch, dsn: host=h2, provider: db1}\n";
	struct policy_decision *d;
	struct sky_error err;
	char *out = NULL;

	/* an anchor shared by two nodes: no edit can change one alone */
	sky_error_clear(&err);
	d = decision_for(plain, "db1", "db2");
	ck_assert_int_eq(topology_edit_failover(&out, "t.yaml", aliased, strlen(aliased), d, &err),
	                 -1);
	ck_assert_ptr_null(out);
	policy_decision_free(d);

	/* a text that does not parse: the file's own error, with its place */
	d = decision_for(plain, "db1", "db2");
	ck_assert_int_eq(topology_edit_failover(&out, "t.yaml", "nodes: [", 8, d, &err), -1);
	ck_assert_msg(strstr(err.message, "t.yaml:2:1: invalid YAML") != NULL, "%s", err.message);
	ck_assert_ptr_null(out);

	/* a decision that is more than a failover edit */
	free(d->proposed->nodes[1].dsn);
	d->proposed->nodes[1].dsn = sky_strdup("host=h9");
	ck_assert_int_eq(topology_edit_failover(&out, "t.yaml", plain, strlen(plain), d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "beyond role, provider and dead"));
	ck_assert_ptr_null(strstr(err.message, "host=h9"));
	policy_decision_free(d);

	/* no choice: nothing to write */
	d = sky_calloc(1, sizeof(*d));
	d->dead = sky_strdup("db1");
	ck_assert_int_eq(topology_edit_failover(&out, "t.yaml", plain, strlen(plain), d, &err), -1);
	ck_assert_ptr_null(out);
	policy_decision_free(d);
}
END_TEST

START_TEST(test_equal)
{
	static const char a[] = "cascade: app\n"
	                        "nodes:\n"
	                        "  db1: {role: root, dsn: host=h1}\n"
	                        "  db2: {role: branch, dsn: host=h2, provider: db1}\n"
	                        "tables: [public.t, {name: public.u, nodes: [db1]}]\n";
	struct topology *x = NULL, *y;
	struct sky_error err;
	char why[128];

	sky_error_clear(&err);
	ck_assert_msg(topology_load_string(&x, "a.yaml", a, strlen(a), &err) == 0, "%s",
	              err.message);
	y = topology_clone(x);
	ck_assert(topology_equal(x, y, why, sizeof(why)));
	y->tables[1].nodes[0][2] = '2';
	ck_assert(!topology_equal(x, y, why, sizeof(why)));
	ck_assert_str_eq(why, "table \"public.u\" differs");
	y->tables[1].nodes[0][2] = '1';
	free(y->nodes[1].dsn);
	y->nodes[1].dsn = sky_strdup("host=secret");
	ck_assert(!topology_equal(x, y, why, sizeof(why)));
	ck_assert_str_eq(why, "node \"db2\" has another dsn");
	topology_free(y);
	topology_free(x);
}
END_TEST

static Suite *topology_edit_suite(void)
{
	Suite *s = suite_create("topology_edit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_block_comments_kept);
	tcase_add_test(tc, test_flow_style);
	tcase_add_test(tc, test_flow_provider_last_and_multiline);
	tcase_add_test(tc, test_quoted_keys_and_values);
	tcase_add_test(tc, test_crlf_and_no_final_newline);
	tcase_add_test(tc, test_bom_and_wide_characters);
	tcase_add_test(tc, test_leaf_under_dead_root_and_last_line);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(topology_edit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
