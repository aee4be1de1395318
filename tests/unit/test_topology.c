/*
 * Unit tests of the topology.yaml reader (reconciler/topology.c and its topology_*.c parts):
 * parsing and validation.
 *
 * Runs in SKY_TEST_DATA (tests/unit/data) so that file names in messages are stable:
 *  - bad/NAME.yaml must fail with exactly the message in bad/NAME.yaml.expect, except the files
 *    listed in bad/libpq-only.txt: their mistake is a dsn only libpq can judge, and the engine
 *    has no libpq. They must load here, with the dsn's position kept; test_source.c runs every
 *    bad file, those included, through the programs' loader (source_load);
 *  - the .yaml files in good/ and in SKY_SOURCE_DIR/examples/ must load;
 *  - schema/topology.schema.json is checked by check_schema.py (python3-yaml, python3-jsonschema).
 */
#include <check.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sky_mem.h"
#include "topology.h"

static const char *source_dir;
static const char *data_dir;

/* *.yaml names in dir, sorted; caller frees each and the array. */
static char **yaml_files(const char *dir, size_t *n_out)
{
	struct dirent **list;
	char **names;
	size_t n = 0;
	int count;

	count = scandir(dir, &list, NULL, alphasort);
	ck_assert_msg(count >= 0, "cannot list %s", dir);
	names = sky_calloc((size_t)count + 1, sizeof(*names));
	for (int i = 0; i < count; i++) {
		size_t len = strlen(list[i]->d_name);

		if (len > 5 && strcmp(list[i]->d_name + len - 5, ".yaml") == 0)
			names[n++] = sky_strdup(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	*n_out = n;
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The contents of path without trailing newlines, or NULL; caller frees. */
static char *read_text(const char *path)
{
	struct sky_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	sky_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&b, chunk, n);
	fclose(f);
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return sky_buf_detach(&b);
}

static struct topology *load_ok(const char *path)
{
	struct topology *topo = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_msg(topology_load_file(&topo, path, &err) == 0, "%s: %s", path, err.message);
	ck_assert_ptr_nonnull(topo);
	return topo;
}

/* The error message of loading text (which must fail); returned in err. */
static void load_string_fails(struct sky_error *err, const char *text)
{
	struct topology *topo = NULL;

	sky_error_clear(err);
	ck_assert_int_eq(topology_load_string(&topo, "t.yaml", text, strlen(text), err), -1);
	ck_assert_ptr_null(topo);
	ck_assert_str_ne(err->message, "");
}

/* Whether name is listed in bad/libpq-only.txt (one name a line, # comments). */
static bool libpq_only(const char *name)
{
	char *list = read_text("bad/libpq-only.txt");
	bool found = false;

	ck_assert_msg(list != NULL, "cannot read bad/libpq-only.txt");
	for (char *line = list; line && *line && !found;) {
		char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		size_t n = strcspn(line, " \t#\n");

		found = n > 0 && n <= len && strlen(name) == n && strncmp(line, name, n) == 0;
		line = next ? next + 1 : NULL;
	}
	free(list);
	return found;
}

START_TEST(test_bad_files)
{
	size_t n, failures = 0;
	char **names = yaml_files("bad", &n);

	ck_assert_uint_ge(n, 20);
	for (size_t i = 0; i < n; i++) {
		char *path = sky_asprintf("bad/%s", names[i]);
		char *expect_path = sky_asprintf("%s.expect", path);
		char *expect = read_text(expect_path);
		struct topology *topo = NULL;
		struct sky_error err;
		int rc;

		sky_error_clear(&err);
		rc = topology_load_file(&topo, path, &err);
		if (libpq_only(names[i])) {
			/* the engine keeps the dsn and where it is; topology_dsn_check judges it */
			if (rc != 0 || !topo || topo->n_nodes == 0 ||
			    topo->nodes[0].dsn_pos.line < 1) {
				fprintf(stderr, "%s: libpq-only mistake, but the engine said: %s\n",
				        path, err.message);
				failures++;
			}
		} else if (!expect) {
			fprintf(stderr, "%s: missing %s\n", path, expect_path);
			failures++;
		} else if (rc != -1 || topo) {
			fprintf(stderr, "%s: loaded, expected: %s\n", path, expect);
			failures++;
		} else if (strcmp(err.message, expect) != 0) {
			fprintf(stderr, "%s:\n  got:      %s\n  expected: %s\n", path, err.message,
			        expect);
			failures++;
		}
		if (strstr(err.message, "secret")) {
			fprintf(stderr, "%s: the message shows a password: %s\n", path,
			        err.message);
			failures++;
		}
		topology_free(topo);
		free(expect);
		free(expect_path);
		free(path);
	}
	free_names(names, n);
	ck_assert_msg(failures == 0, "%zu bad file(s) did not give the expected message", failures);
}
END_TEST

/* Every .expect file has its .yaml (a renamed case must not leave a stale expectation). */
START_TEST(test_bad_expect_files_have_yaml)
{
	struct dirent **list;
	int count = scandir("bad", &list, NULL, alphasort);

	ck_assert_int_ge(count, 0);
	for (int i = 0; i < count; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);

		if (len > 7 && strcmp(name + len - 7, ".expect") == 0) {
			char *yaml = sky_asprintf("bad/%.*s", (int)(len - 7), name);

			ck_assert_msg(access(yaml, R_OK) == 0, "%s has no %s", name, yaml);
			free(yaml);
		}
		free(list[i]);
	}
	free(list);
}
END_TEST

START_TEST(test_defaults)
{
	struct topology *topo = load_ok("good/defaults.yaml");
	const struct topo_node *n;

	ck_assert_str_eq(topo->file, "good/defaults.yaml");
	ck_assert_str_eq(topo->cascade, "solo");
	ck_assert_uint_eq(topo->n_nodes, 1);
	ck_assert_uint_eq(topo->n_tables, 0);
	ck_assert_int_eq(topo->parallel_copies, 1);
	n = &topo->nodes[0];
	ck_assert_str_eq(n->name, "only");
	ck_assert_int_eq(n->role, SKY_ROLE_ROOT);
	ck_assert_str_eq(n->dsn, "dbname=solo");
	ck_assert_ptr_null(n->provider);
	ck_assert(!n->paused);
	ck_assert_int_eq(n->parallel_copies, 0);
	ck_assert_int_eq(n->pos.line, 4);
	ck_assert_int_eq(n->pos.col, 3);
	ck_assert_ptr_eq(topology_root(topo), n);
	ck_assert_ptr_eq(topology_node(topo, "only"), n);
	ck_assert_ptr_null(topology_node(topo, "other"));
	topology_free(topo);
}
END_TEST

START_TEST(test_full_nodes)
{
	struct topology *topo = load_ok("good/full.yaml");
	const struct topo_node *r, *b, *l, *l2;

	ck_assert_str_eq(topo->cascade, "c_1");
	ck_assert_int_eq(topo->parallel_copies, 4);
	ck_assert_uint_eq(topo->n_nodes, 4);
	/* file order */
	ck_assert_str_eq(topo->nodes[0].name, "r");
	ck_assert_str_eq(topo->nodes[1].name, "b");
	ck_assert_str_eq(topo->nodes[2].name, "l");
	ck_assert_str_eq(topo->nodes[3].name, "l2");
	r = topology_node(topo, "r");
	b = topology_node(topo, "b");
	l = topology_node(topo, "l");
	l2 = topology_node(topo, "l2");
	ck_assert_ptr_eq(topology_root(topo), r);
	ck_assert_str_eq(r->dsn, "dbname=r password=secret");
	ck_assert_ptr_null(r->provider);
	ck_assert_int_eq(b->role, SKY_ROLE_BRANCH);
	ck_assert_str_eq(b->provider, "r");
	ck_assert(b->paused);
	ck_assert_int_eq(b->parallel_copies, 3);
	ck_assert_int_eq(b->pos.line, 6);
	ck_assert_int_eq(l->role, SKY_ROLE_LEAF);
	ck_assert_str_eq(l->provider, "b");
	ck_assert_str_eq(l->dsn, "postgresql://u@h/l");
	ck_assert(!l->paused);
	ck_assert_int_eq(l->parallel_copies, 0);
	ck_assert_str_eq(l2->dsn, "host=h2 dbname=l2");
	ck_assert_str_eq(l2->provider, "r");
	topology_free(topo);
}
END_TEST

static void check_table(const struct topo_table *t, const char *schema, const char *relname,
                        const char *name)
{
	ck_assert_str_eq(t->schema, schema);
	ck_assert_str_eq(t->relname, relname);
	ck_assert_str_eq(t->name, name);
}

START_TEST(test_full_tables)
{
	struct topology *topo = load_ok("good/full.yaml");
	const struct topo_table *t = topo->tables;

	ck_assert_uint_eq(topo->n_tables, 11);
	check_table(&t[0], "public", "accounts", "public.accounts"); /* default schema */
	check_table(&t[1], "sales", "orders", "sales.orders");       /* folded */
	check_table(&t[2], "public", "My T", "public.My T");         /* quoted, kept */
	check_table(&t[3], "Sales", "Order \"Lines\"", "Sales.Order \"Lines\"");
	check_table(&t[4], "a.b", "c", "a.b.c");
	check_table(&t[5], "a", "b.c", "a.b.c"); /* same name, other table */
	check_table(&t[6], "x$1", "_y", "x$1._y");
	for (size_t i = 0; i < 7; i++) {
		ck_assert_ptr_null(t[i].nodes);
		ck_assert_uint_eq(t[i].n_nodes, 0);
		ck_assert(!t[i].create);
		ck_assert(topology_table_on_node(&t[i], "l"));
	}
	ck_assert_int_eq(t[0].pos.line, 10);
	ck_assert_int_eq(t[0].pos.col, 5);

	check_table(&t[7], "public", "hist", "public.hist");
	ck_assert(t[7].create);
	ck_assert_uint_eq(t[7].n_nodes, 2);
	ck_assert_str_eq(t[7].nodes[0], "r");
	ck_assert_str_eq(t[7].nodes[1], "b");
	ck_assert(topology_table_on_node(&t[7], "r"));
	ck_assert(topology_table_on_node(&t[7], "b"));
	ck_assert(!topology_table_on_node(&t[7], "l"));
	ck_assert_int_eq(t[7].pos.line, 17);
	ck_assert_int_eq(t[7].pos.col, 12);

	/* nodes: *rb, an alias of the list above */
	check_table(&t[8], "public", "hist2", "public.hist2");
	ck_assert(!t[8].create);
	ck_assert_uint_eq(t[8].n_nodes, 2);
	ck_assert_str_eq(t[8].nodes[1], "b");

	check_table(&t[9], "public", "only_root", "public.only_root");
	ck_assert_uint_eq(t[9].n_nodes, 1);
	ck_assert(topology_table_on_node(&t[9], "r"));
	ck_assert(!topology_table_on_node(&t[9], "b"));

	check_table(&t[10], "public", "Leaf", "public.Leaf");
	ck_assert(topology_table_on_node(&t[10], "l2"));
	ck_assert(!topology_table_on_node(&t[10], "l"));
	topology_free(topo);
}
END_TEST

START_TEST(test_examples)
{
	char *dir = sky_asprintf("%s/examples", source_dir);
	size_t n;
	char **names = yaml_files(dir, &n);

	ck_assert_uint_ge(n, 2);
	for (size_t i = 0; i < n; i++) {
		char *path = sky_asprintf("%s/%s", dir, names[i]);

		topology_free(load_ok(path));
		free(path);
	}
	free_names(names, n);
	free(dir);
}
END_TEST

/* The demo depends on this one. */
START_TEST(test_example_three_node)
{
	char *path = sky_asprintf("%s/examples/three-node.yaml", source_dir);
	struct topology *topo = load_ok(path);
	const struct topo_node *db1, *db2, *db3;

	ck_assert_str_eq(topo->cascade, "app");
	ck_assert_uint_eq(topo->n_nodes, 3);
	db1 = topology_node(topo, "db1");
	db2 = topology_node(topo, "db2");
	db3 = topology_node(topo, "db3");
	ck_assert_ptr_nonnull(db1);
	ck_assert_ptr_nonnull(db2);
	ck_assert_ptr_nonnull(db3);
	ck_assert_int_eq(db1->role, SKY_ROLE_ROOT);
	ck_assert_ptr_null(db1->provider);
	ck_assert_int_eq(db2->role, SKY_ROLE_BRANCH);
	ck_assert_str_eq(db2->provider, "db1");
	ck_assert_int_eq(db3->role, SKY_ROLE_LEAF);
	ck_assert_str_eq(db3->provider, "db2");
	ck_assert_uint_ge(topo->n_tables, 1);
	topology_free(topo);
	free(path);
}
END_TEST

START_TEST(test_load_string)
{
	static const char text[] = "cascade: x\n"
	                           "nodes:\n"
	                           "  a: {role: root, dsn: \"dbname=a\"}\n"
	                           "  b: {role: leaf, dsn: \"dbname=b\", provider: a}\n"
	                           "tables: []\n";
	struct topology *topo = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_int_eq(topology_load_string(&topo, "<git:HEAD>", text, strlen(text), &err), 0);
	ck_assert_str_eq(topo->file, "<git:HEAD>");
	ck_assert_uint_eq(topo->n_nodes, 2);
	ck_assert_uint_eq(topo->n_tables, 0);
	topology_free(topo);

	/* only len bytes are read: the text need not end in NUL */
	topo = NULL;
	ck_assert_int_eq(topology_load_string(&topo, "cut", text, 11, &err), -1);
	ck_assert_ptr_null(topo);
	ck_assert_str_eq(err.message,
	                 "cut:1:1: missing required key \"nodes\" at top level (expected a mapping "
	                 "of node name to node)");
}
END_TEST

START_TEST(test_load_missing_file)
{
	struct topology *topo = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_int_eq(topology_load_file(&topo, "no/such/file.yaml", &err), -1);
	ck_assert_ptr_null(topo);
	ck_assert_str_eq(err.message,
	                 "no/such/file.yaml: could not open file: No such file or directory");
}
END_TEST

/* A dsn with a password must stay out of every message, whatever is wrong around it. */
START_TEST(test_secret_never_shown)
{
	static const char *const texts[] = {
	    /* (a dsn libpq refuses: test_source.c, the engine has no libpq) */
	    /* of the wrong type */
	    "cascade: a\nnodes:\n  n: {role: root, dsn: {password: secret}}\n",
	    "cascade: a\nnodes:\n  n: {role: root, dsn: [password=secret]}\n",
	    /* the YAML around it is broken */
	    "cascade: a\nnodes:\n  n: {role: root, dsn: \"password=secret\n",
	    "cascade: a\nnodes:\n  n: {role: root, dsn: \"password=secret\\q\"}\n",
	    "cascade: a\nnodes:\n  n: {role: root, dsn: password=secret: x}\n",
	    "cascade: a\nnodes:\n  n: {role: root, dsn: password=secret\n",
	    "cascade: a\nnodes:\n  n:\n    role: root\n    dsn: password=secret\n   x: 1\n",
	    /* something else is wrong in the node */
	    "cascade: a\nnodes:\n  n: {dsn: \"password=secret\", rol: root}\n",
	    "cascade: a\nnodes:\n  n: {dsn: \"password=secret\", role: leaf}\n",
	    "cascade: a\nnodes:\n  n: {dsn: \"password=secret\", role: root, paused: maybe}\n",
	    "cascade: a\nnodes:\n  n: {dsn: \"password=secret\", role: root, dsn: \"x\"}\n",
	    "cascade: a\nnodes:\n  n: {dsn: \"password=secret\"}\n",
	};
	struct sky_error err;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		load_string_fails(&err, texts[i]);
		ck_assert_msg(!strstr(err.message, "secret"), "case %zu shows the password: %s", i,
		              err.message);
	}
}
END_TEST

START_TEST(test_roles)
{
	enum sky_role role = SKY_ROLE_LEAF;

	ck_assert_str_eq(sky_role_name(SKY_ROLE_ROOT), "root");
	ck_assert_str_eq(sky_role_name(SKY_ROLE_BRANCH), "branch");
	ck_assert_str_eq(sky_role_name(SKY_ROLE_LEAF), "leaf");
	ck_assert_int_eq(sky_role_parse(&role, "root"), 0);
	ck_assert_int_eq(role, SKY_ROLE_ROOT);
	ck_assert_int_eq(sky_role_parse(&role, "branch"), 0);
	ck_assert_int_eq(role, SKY_ROLE_BRANCH);
	ck_assert_int_eq(sky_role_parse(&role, "leaf"), 0);
	ck_assert_int_eq(role, SKY_ROLE_LEAF);
	ck_assert_int_eq(sky_role_parse(&role, "Root"), -1);
	ck_assert_int_eq(sky_role_parse(&role, ""), -1);
	ck_assert_int_eq(role, SKY_ROLE_LEAF); /* untouched on failure */
}
END_TEST

START_TEST(test_free_null)
{
	topology_free(NULL);
}
END_TEST

/* schema/topology.schema.json agrees with the parser on the test files. Run by Debian's python3
 * (/usr/bin/python3, which python3-yaml and python3-jsonschema serve; .ci/deps.sh installs them),
 * else the python3 on PATH; a missing module fails the test rather than skipping it. */
START_TEST(test_schema)
{
	const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char *cmd = sky_asprintf("%s '%s/check_schema.py' '%s' '%s'", python, data_dir, source_dir,
	                         data_dir);
	int status = system(cmd);

	free(cmd);
	ck_assert_msg(status != -1 && WIFEXITED(status), "could not run check_schema.py");
	ck_assert_msg(WEXITSTATUS(status) != 77 && WEXITSTATUS(status) != 127,
	              "%s with the yaml and jsonschema modules is needed (.ci/deps.sh installs "
	              "python3-yaml and python3-jsonschema)",
	              python);
	ck_assert_msg(WEXITSTATUS(status) == 0, "check_schema.py failed (exit %d)",
	              WEXITSTATUS(status));
}
END_TEST

static Suite *topology_suite(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_bad_expect_files_have_yaml);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_nodes);
	tcase_add_test(tc, test_full_tables);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_example_three_node);
	tcase_add_test(tc, test_load_string);
	tcase_add_test(tc, test_load_missing_file);
	tcase_add_test(tc, test_secret_never_shown);
	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_free_null);
	tcase_add_test(tc, test_schema);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;
	char *abs_data, *abs_source;

	data_dir = getenv("SKY_TEST_DATA");
	source_dir = getenv("SKY_SOURCE_DIR");
	if (!data_dir || !source_dir) {
		fprintf(stderr, "test_topology: set SKY_TEST_DATA and SKY_SOURCE_DIR\n");
		return 1;
	}
	/* both to absolute paths, then run inside the data directory so that messages carry
	 * stable relative names ("bad/x.yaml") */
	abs_data = realpath(data_dir, NULL);
	abs_source = realpath(source_dir, NULL);
	if (!abs_data || !abs_source || chdir(abs_data) != 0) {
		fprintf(stderr, "test_topology: cannot find %s or %s\n", data_dir, source_dir);
		free(abs_data);
		free(abs_source);
		return 1;
	}
	data_dir = abs_data;
	source_dir = abs_source;

	sr = srunner_create(topology_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(abs_data);
	free(abs_source);
	return failed == 0 ? 0 : 1;
}
