/*
 * test_topology_edit: the failover decision written into topology.yaml's text
 * (reconciler/topology_edit.c), no database. Each case gives the file before and the exact
 * bytes expected after: everything but the failover's own lines must stay as it was.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sky_mem.h"
#include "topology_edit.h"

/*
 * The decision policy.c makes for dead -> chosen (policy_propose): dead marked dead, chosen
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
	d->proposed = policy_propose(t, dead, chosen);
	topology_free(t);
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
	                             "false}\n"
	                             "  db6: {role: leaf,   provider: db1,    dsn: \"host=h6\"}\n";
	static const char after[] = "cascade: app\n"
	                            "nodes:\n"
	                            "  db1: {role: root,   dsn: \"host=h1\", dead: true}\n"
	                            "  db2: {role: branch, dsn: \"host=h2\", provider: db4}\n"
	                            "  db3: {role: leaf,   dsn: \"host=h3\", provider: db2}\n"
	                            "  db4: {role: root, dsn: \"host=h4\" }\n"
	                            "  db5: {role: leaf, provider: db4, dsn: \"host=h5\", paused: "
	                            "false}\n"
	                            "  db6: {role: leaf,   provider: db4,    dsn: \"host=h6\"}\n";

	check_edit(before, "db1", "db4", after);
}
END_TEST

START_TEST(test_flow_aligned_columns)
{
	/* columns aligned with spaces stay aligned, as a person would keep them */
	static const char before[] = "cascade: app\n"
	                             "nodes:\n"
	                             "  db1: {role: root,   dsn: \"host=h1\"}\n"
	                             "  db2: {role: branch, dsn: \"host=h2\",  provider: db1}\n"
	                             "  db3: {role: leaf,   dsn: \"host=h3\",  provider: db1}\n"
	                             "  db4: {dsn: \"host=h4\", role: branch,   provider: db1}\n";
	static const char after[] = "cascade: app\n"
	                            "nodes:\n"
	                            "  db1: {role: root,   dsn: \"host=h1\", dead: true}\n"
	                            "  db2: {role: root,   dsn: \"host=h2\"}\n"
	                            "  db3: {role: leaf,   dsn: \"host=h3\",  provider: db2}\n"
	                            "  db4: {dsn: \"host=h4\", role: branch,   provider: db2}\n";

	check_edit(before, "db1", "db2", after);
	/* the chosen node's role is set next to the provider pair that goes */
	check_edit("cascade: app\n"
	           "nodes:\n"
	           "  db1: {dsn: \"host=h1\", role: root}\n"
	           "  db2: {dsn: \"host=h2\", role: branch,   provider: db1}\n",
	           "db1", "db2",
	           "cascade: app\n"
	           "nodes:\n"
	           "  db1: {dsn: \"host=h1\", role: root, dead: true}\n"
	           "  db2: {dsn: \"host=h2\", role: root}\n");
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

/* A small deterministic generator for the shapes test. */
static unsigned int rnd(unsigned int *state, unsigned int n)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) % n;
}

/* key or value in a random quoting style */
static void add_quoted(struct sky_buf *b, unsigned int *st, const char *s)
{
	static const char *const q[] = {"", "'", "\""};
	const char *c = q[rnd(st, 3)];

	sky_buf_addf(b, "%s%s%s", c, s, c);
}

/*
 * One node in a random shape: block, flow on one line or flow one pair per line; keys in a
 * rotated order, keys and values quoted at random, comments here and there.
 */
static void add_node(struct sky_buf *b, unsigned int *st, const char *eol, const char *name,
                     const char *role, const char *dsn, const char *provider)
{
	const char *keys[4] = {"role", "dsn", "provider", "paused"};
	const char *vals[4] = {role, dsn, provider, "false"};
	size_t n = provider ? 3 : 2, rot, style = rnd(st, 3);

	if (rnd(st, 2)) { /* paused: false, in the provider's slot when there is none */
		keys[n] = "paused";
		vals[n] = "false";
		n++;
		if (!provider) {
			keys[2] = "paused";
			vals[2] = "false";
		}
	}
	rot = rnd(st, (unsigned int)n);
	sky_buf_addf(b, "  %s:", name);
	if (style == 0)
		sky_buf_adds(b, rnd(st, 2) ? " # the node" : "");
	else
		sky_buf_adds(b, style == 1 ? " {" : " {");
	if (style != 1)
		sky_buf_adds(b, eol);
	for (size_t i = 0; i < n; i++) {
		size_t k = (i + rot) % n;
		bool bool_val = strcmp(keys[k], "paused") == 0;

		if (style == 0)
			sky_buf_adds(b, rnd(st, 4) == 0 ? "    # about the next key" : "");
		if (style == 0 && b->data[b->len - 1] == 'y')
			sky_buf_adds(b, eol);
		if (style != 1)
			sky_buf_adds(b, "    ");
		add_quoted(b, st, keys[k]);
		sky_buf_adds(b, ": ");
		if (bool_val)
			sky_buf_adds(b, vals[k]);
		else
			add_quoted(b, st, vals[k]);
		if (style == 1) {
			sky_buf_adds(b, i + 1 < n ? ", " : "}");
		} else if (style == 2) {
			if (i + 1 < n || rnd(st, 2))
				sky_buf_adds(b, ",");
			sky_buf_adds(b, rnd(st, 3) == 0 ? " # c" : "");
			sky_buf_adds(b, eol);
		} else {
			sky_buf_adds(b, rnd(st, 3) == 0 ? "   # c" : "");
			sky_buf_adds(b, eol);
		}
	}
	if (style == 2)
		sky_buf_addf(b, "   }%s", eol);
	else if (style == 1)
		sky_buf_addf(b, "%s%s", rnd(st, 2) ? " # flow" : "", eol);
}

START_TEST(test_many_shapes)
{
	size_t edited = 0;

	for (unsigned int seed = 1; seed <= 200; seed++) {
		unsigned int st = seed;
		const char *eol = rnd(&st, 2) ? "\r\n" : "\n";
		struct policy_decision *d;
		struct sky_buf b;
		struct sky_error err;
		char *out = NULL;
		static const char *const order[4][4] = {{"db1", "db2", "db3", "db4"},
		                                        {"db4", "db3", "db2", "db1"},
		                                        {"db2", "db1", "db4", "db3"},
		                                        {"db3", "db1", "db2", "db4"}};
		unsigned int o = rnd(&st, 4);

		sky_buf_init(&b);
		sky_buf_addf(&b, "# shape %u%scascade: app%snodes:%s", seed, eol, eol, eol);
		for (int i = 0; i < 4; i++) {
			const char *n = order[o][i];

			if (strcmp(n, "db1") == 0)
				add_node(&b, &st, eol, n, "root", "host=h1", NULL);
			else if (strcmp(n, "db2") == 0)
				add_node(&b, &st, eol, n, "branch", "host=h2", "db1");
			else if (strcmp(n, "db3") == 0)
				add_node(&b, &st, eol, n, "leaf", "host=h3", "db1");
			else
				add_node(&b, &st, eol, n, "leaf", "host=h4", "db2");
		}
		sky_buf_addf(&b, "tables:%s  - public.t", eol);
		if (rnd(&st, 2))
			sky_buf_adds(&b, eol);
		d = decision_for(b.data, "db1", "db2");
		sky_error_clear(&err);
		ck_assert_msg(topology_edit_failover(&out, "t.yaml", b.data, b.len, d, &err) == 0,
		              "seed %u: %s\n%s", seed, err.message, b.data);
		/* the header and the tables are untouched, the line endings are the file's */
		ck_assert(strncmp(out, b.data, strlen("# shape ")) == 0);
		ck_assert_msg(strstr(out, "tables:") &&
		                  strcmp(strstr(out, "tables:"), strstr(b.data, "tables:")) == 0,
		              "seed %u", seed);
		if (strcmp(eol, "\r\n") == 0)
			for (const char *p = strchr(out, '\n'); p; p = strchr(p + 1, '\n'))
				ck_assert_msg(p[-1] == '\r', "seed %u: a bare LF in\n%s", seed,
				              out);
		free(out);
		policy_decision_free(d);
		sky_buf_release(&b);
		edited++;
	}
	ck_assert_uint_eq(edited, 200);
}
END_TEST

/* The file's bytes (caller frees). */
static char *slurp(const char *path, size_t *len)
{
	struct sky_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f != NULL, "%s", path);
	sky_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return sky_buf_detach(&b);
}

/*
 * Every valid topology the project ships (examples/ and the parser's good/ files) whose root has
 * a branch under it: the failover to that branch is written, gives the decision, and keeps
 * every comment line.
 */
static size_t edit_all_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t done = 0;

	ck_assert_msg(d != NULL, "%s", dir);
	while ((de = readdir(d))) {
		size_t nlen = strlen(de->d_name), len;
		char *path, *text, *out = NULL, *line, *save = NULL;
		struct topology *t = NULL;
		struct policy_decision *dec;
		const struct topo_node *root;
		const char *chosen = NULL;
		struct sky_error err;

		if (nlen < 5 || strcmp(de->d_name + nlen - 5, ".yaml") != 0)
			continue;
		path = sky_asprintf("%s/%s", dir, de->d_name);
		text = slurp(path, &len);
		sky_error_clear(&err);
		ck_assert_msg(topology_load_string(&t, path, text, len, &err) == 0, "%s",
		              err.message);
		root = topology_root(t);
		for (size_t i = 0; root && i < t->n_nodes; i++)
			if (t->nodes[i].role == SKY_ROLE_BRANCH && !t->nodes[i].dead &&
			    t->nodes[i].provider && strcmp(t->nodes[i].provider, root->name) == 0) {
				chosen = t->nodes[i].name;
				break;
			}
		if (chosen) {
			dec = decision_for(text, root->name, chosen);
			if (topology_edit_failover(&out, path, text, len, dec, &err) < 0) {
				/*
				 * good/full.yaml: a table narrowed to [l2, r] makes moving l2 under
				 * b an invalid topology. Refusing is right (the file must stay
				 * valid); that the policy proposes it is the policy's matter.
				 */
				ck_assert_msg(strstr(err.message, "not on its provider") != NULL,
				              "%s", err.message);
				policy_decision_free(dec);
				topology_free(t);
				free(text);
				free(path);
				continue;
			}
			for (line = strtok_r(text, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save))
				if (line[strspn(line, " ")] == '#')
					ck_assert_msg(strstr(out, line) != NULL, "%s: lost \"%s\"",
					              path, line);
			policy_decision_free(dec);
			free(out);
			done++;
		}
		topology_free(t);
		free(text);
		free(path);
	}
	closedir(d);
	return done;
}

START_TEST(test_shipped_files)
{
	const char *data = getenv("SKY_TEST_DATA"), *src = getenv("SKY_SOURCE_DIR");
	char *good, *examples;

	if (!data || !src)
		return; /* run outside ctest */
	good = sky_asprintf("%s/good", data);
	examples = sky_asprintf("%s/examples", src);
	ck_assert_uint_ge(edit_all_in(good) + edit_all_in(examples), 3);
	free(good);
	free(examples);
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
	tcase_add_test(tc, test_flow_aligned_columns);
	tcase_add_test(tc, test_flow_provider_last_and_multiline);
	tcase_add_test(tc, test_quoted_keys_and_values);
	tcase_add_test(tc, test_crlf_and_no_final_newline);
	tcase_add_test(tc, test_bom_and_wide_characters);
	tcase_add_test(tc, test_leaf_under_dead_root_and_last_line);
	tcase_add_test(tc, test_many_shapes);
	tcase_add_test(tc, test_shipped_files);
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
