/*
 * Unit tests of the plan engine (reconciler/plan.c): desired topology + actual state, both
 * built in code, in; the ordered operations out. No database.
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "admin.h"
#include "plan.h"
#include "sky_mem.h"
#include "topology.h"

#define V "1" /* the pgq_set version the tests install */

/* ---- desired state, built by hand and freed by the tests (not topology_free) ---- */

static struct topology *topo_new(void)
{
	struct topology *t = sky_calloc(1, sizeof(*t));

	t->file = sky_strdup("test.yaml");
	t->cascade = sky_strdup("app");
	t->nodes = sky_calloc(16, sizeof(*t->nodes));
	t->tables = sky_calloc(16, sizeof(*t->tables));
	t->parallel_copies = 1;
	return t;
}

static char *dsn_of(const char *name)
{
	return sky_asprintf("host=10.0.0.1 dbname=%s password=s3cret", name);
}

static struct topo_node *topo_add_node(struct topology *t, const char *name, enum sky_role role,
                                       const char *provider)
{
	struct topo_node *n = &t->nodes[t->n_nodes++];

	n->name = sky_strdup(name);
	n->role = role;
	n->dsn = dsn_of(name);
	n->provider = provider ? sky_strdup(provider) : NULL;
	return n;
}

/* nodes: NULL-terminated list of names, or no names for "every node" */
static struct topo_table *topo_add_table(struct topology *t, const char *name, ...)
{
	struct topo_table *tb = &t->tables[t->n_tables++];
	const char *dot = strchr(name, '.');
	va_list ap;
	const char *n;

	tb->name = sky_strdup(name);
	tb->schema = sky_strndup(name, (size_t)(dot - name));
	tb->relname = sky_strdup(dot + 1);
	va_start(ap, name);
	while ((n = va_arg(ap, const char *)) != NULL) {
		tb->nodes = sky_realloc(tb->nodes, (tb->n_nodes + 1) * sizeof(*tb->nodes));
		tb->nodes[tb->n_nodes++] = sky_strdup(n);
	}
	va_end(ap);
	return tb;
}

static void topo_release(struct topology *t)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].dsn);
		free(t->nodes[i].provider);
	}
	for (size_t i = 0; i < t->n_tables; i++) {
		free(t->tables[i].name);
		free(t->tables[i].schema);
		free(t->tables[i].relname);
		for (size_t j = 0; j < t->tables[i].n_nodes; j++)
			free(t->tables[i].nodes[j]);
		free(t->tables[i].nodes);
	}
	free(t->nodes);
	free(t->tables);
	free(t->cascade);
	free(t->file);
	free(t);
}

/* root db1 -> branch db2 -> leaf db3; tables public.a everywhere, public.b on db1, db2 */
static struct topology *topo_three(void)
{
	struct topology *t = topo_new();

	topo_add_node(t, "db1", SKY_ROLE_ROOT, NULL);
	topo_add_node(t, "db2", SKY_ROLE_BRANCH, "db1");
	topo_add_node(t, "db3", SKY_ROLE_LEAF, "db2");
	topo_add_table(t, "public.a", NULL);
	topo_add_table(t, "public.b", "db1", "db2", NULL);
	return t;
}

/* ---- actual state ---- */

enum stage {
	ST_EMPTY = 0, /* reachable, nothing installed */
	ST_INSTALLED, /* pgq + pgq_set, no members, not created */
	ST_MEMBERS,   /* + every member as in the topology */
	ST_CREATED,   /* + node created as in the topology */
	ST_TABLES,    /* + every table wanted on it: fully reconciled */
};

static void actual_member_put(struct actual_node *an, const char *name, const char *location)
{
	struct actual_member *m;

	an->members = sky_realloc(an->members, (an->n_members + 1) * sizeof(*an->members));
	m = &an->members[an->n_members++];
	memset(m, 0, sizeof(*m));
	m->name = sky_strdup(name);
	m->location = sky_strdup(location);
}

static void actual_table_put(struct actual_node *an, const struct topo_table *tt)
{
	struct actual_table *t;

	an->tables = sky_realloc(an->tables, (an->n_tables + 1) * sizeof(*an->tables));
	t = &an->tables[an->n_tables++];
	t->name = sky_strdup(tt->name);
	t->schema = sky_strdup(tt->schema);
	t->relname = sky_strdup(tt->relname);
	t->state = sky_strdup("ok");
}

/* Make node `name` of state look like it reached `stage` of topology t. */
static void actual_node_stage(struct actual_state *s, const struct topology *t, const char *name,
                              enum stage stage)
{
	struct actual_node *an = (struct actual_node *)actual_state_node(s, name);
	const struct topo_node *tn = topology_node(t, name);

	ck_assert_ptr_nonnull(an);
	actual_node_clear(an);
	an->name = sky_strdup(name);
	an->reachable = true;
	if (stage >= ST_INSTALLED) {
		an->has_pgq = true;
		an->has_pgq_set = true;
		an->version = sky_strdup(V);
	}
	if (stage >= ST_MEMBERS) {
		for (size_t i = 0; i < t->n_nodes; i++)
			actual_member_put(an, t->nodes[i].name, t->nodes[i].dsn);
	}
	if (stage >= ST_CREATED) {
		an->created = true;
		an->self.name = sky_strdup(name);
		an->self.role = tn->role;
		an->self.role_text = sky_strdup(sky_role_name(tn->role));
		an->self.provider = tn->provider ? sky_strdup(tn->provider) : NULL;
		an->self.last_tick = 1;
	}
	if (stage >= ST_TABLES) {
		for (size_t i = 0; i < t->n_tables; i++) {
			if (topology_table_on_node(&t->tables[i], name))
				actual_table_put(an, &t->tables[i]);
		}
	}
}

static struct actual_state *actual_new(const struct topology *t, enum stage stage)
{
	struct actual_state *s = sky_calloc(1, sizeof(*s));

	s->nodes = sky_calloc(t->n_nodes + 1, sizeof(*s->nodes));
	s->n_nodes = t->n_nodes;
	for (size_t i = 0; i < t->n_nodes; i++) {
		s->nodes[i].name = sky_strdup(t->nodes[i].name);
		actual_node_stage(s, t, t->nodes[i].name, stage);
	}
	return s;
}

static struct actual_node *actual_get(struct actual_state *s, const char *name)
{
	return (struct actual_node *)actual_state_node(s, name);
}

/* ---- running the engine ---- */

static struct plan *plan_of(const struct topology *t, const struct actual_state *s)
{
	struct plan_options opts = {.sql_version = V};
	struct plan *plan = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_msg(plan_build(&plan, t, s, &opts, &err) == 0, "plan_build: %s", err.message);
	ck_assert_ptr_nonnull(plan);
	return plan;
}

/* The plan as the text skyreconcile prints, one line per op and then per problem. */
static char *plan_text(const struct plan *plan)
{
	struct sky_buf b;

	sky_buf_init(&b);
	for (size_t i = 0; i < plan->n_ops; i++) {
		sky_buf_addch(&b, plan_action_sign(plan->ops[i].action));
		sky_buf_addch(&b, ' ');
		plan_op_describe(&b, &plan->ops[i]);
		sky_buf_addch(&b, '\n');
	}
	for (size_t i = 0; i < plan->n_problems; i++) {
		sky_buf_adds(&b, "! ");
		plan_problem_describe(&b, &plan->problems[i]);
		sky_buf_addch(&b, '\n');
	}
	return sky_buf_detach(&b);
}

#define ck_plan(plan, expected)                                                                    \
	do {                                                                                       \
		char *got_ = plan_text(plan);                                                      \
		ck_assert_msg(strcmp(got_, (expected)) == 0, "plan:\n%s\nexpected:\n%s", got_,     \
		              (expected));                                                         \
		free(got_);                                                                        \
	} while (0)

/* ---- tests ---- */

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

START_TEST(test_dsn_changed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;
	json_t *doc;
	char *json;
	char *text;

	/* db2 was fenced on db3 by a failover: an update keeps that */
	actual_get(s, "db3")->members[1].dead = true;
	free(t->nodes[1].dsn);
	t->nodes[1].dsn = sky_strdup("host=10.9.9.9 dbname=app password=n3wsecret");
	plan = plan_of(t, s);
	ck_plan(plan, "~ db1: update member \"db2\" location\n"
	              "~ db2: update member \"db2\" location\n"
	              "~ db3: update member \"db2\" location\n");
	ck_assert_uint_eq(plan->n_change, 3);
	ck_assert_uint_eq(plan->n_add, 0);
	for (size_t i = 0; i < plan->n_ops; i++) {
		ck_assert_int_eq(plan->ops[i].kind, PLAN_OP_UPDATE_MEMBER);
		ck_assert_str_eq(plan->ops[i].location, t->nodes[1].dsn);
	}
	ck_assert(!plan->ops[0].dead);
	ck_assert(plan->ops[2].dead);

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
	ck_plan(plan, "! db2: role change branch -> root is not supported yet\n"
	              "! db1: role change root -> branch is not supported yet\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_provider_changed)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct plan *plan;

	free(t->nodes[2].provider);
	t->nodes[2].provider = sky_strdup("db1");
	plan = plan_of(t, s);
	ck_plan(plan, "! db3: provider change db2 -> db1 is not supported yet\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
}
END_TEST

START_TEST(test_pause_and_rename_are_problems)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct actual_node *an = actual_get(s, "db2");
	struct plan *plan;

	t->nodes[2].paused = true;
	free(an->self.name);
	an->self.name = sky_strdup("old_db2");
	plan = plan_of(t, s);
	ck_plan(plan,
	        "! db2: the database holds node \"old_db2\" of cascade \"app\": rename is not "
	        "supported yet\n"
	        "! db3: pause is not supported yet\n");
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
	struct topology *t = topo_new();
	struct actual_state *s;
	struct plan *plan;

	topo_add_node(t, "r", SKY_ROLE_ROOT, NULL);
	topo_add_node(t, "a", SKY_ROLE_BRANCH, "b");
	topo_add_node(t, "b", SKY_ROLE_BRANCH, "a");
	topo_add_node(t, "c", SKY_ROLE_LEAF, "nowhere");
	topo_add_node(t, "d", SKY_ROLE_BRANCH, "l");
	topo_add_node(t, "l", SKY_ROLE_LEAF, "r");
	s = actual_new(t, ST_TABLES);
	plan = plan_of(t, s);
	ck_plan(plan, "! a: provider chain from \"b\" does not reach the root\n"
	              "! b: provider chain from \"a\" does not reach the root\n"
	              "! c: provider \"nowhere\" is not a node of the topology\n"
	              "! d: provider \"l\" is a leaf: a leaf cannot be a provider\n");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t);
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

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_cluster);
	tcase_add_test(tc, test_reconciled_no_ops);
	tcase_add_test(tc, test_partially_applied);
	tcase_add_test(tc, test_table_added);
	tcase_add_test(tc, test_table_narrowed);
	tcase_add_test(tc, test_dsn_changed);
	tcase_add_test(tc, test_unreachable_node);
	tcase_add_test(tc, test_role_changed);
	tcase_add_test(tc, test_provider_changed);
	tcase_add_test(tc, test_pause_and_rename_are_problems);
	tcase_add_test(tc, test_deep_tree_order);
	tcase_add_test(tc, test_broken_provider_chain);
	tcase_add_test(tc, test_upgrade_and_newer);
	tcase_add_test(tc, test_json_has_no_dsn);
	tcase_add_test(tc, test_version_cmp);
	tcase_add_test(tc, test_sql_version);
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
