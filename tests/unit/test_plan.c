/*
 * Unit tests of the plan engine (reconciler/plan.c): desired topology + actual state, both
 * built in code, in; the ordered operations out. No database.
 */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actual.h"
#include "admin_sql.h"
#include "apply.h"
#include "lock.h"
#include "plan.h"
#include "progress.h"
#include "sky_mem.h"
#include "topology.h"

#define V "1" /* the pgq_set version the tests install */
#define COMMA ,

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
		free(t->nodes[i].renamed_from);
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
	memset(t, 0, sizeof(*t));
	t->name = sky_strdup(tt->name);
	t->schema = sky_strdup(tt->schema);
	t->relname = sky_strdup(tt->relname);
	t->state = sky_strdup("ok");
	t->rows_copied = -1;
	t->rows_estimate = -1;
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

START_TEST(test_failure_scope)
{
	struct plan_op add = {.kind = PLAN_OP_ADD_TABLE, .node = "db3", .subject = "public.x"};
	struct plan_op rm = {.kind = PLAN_OP_REMOVE_TABLE, .node = "db3", .subject = "public.x"};
	struct plan_op branch = {.kind = PLAN_OP_CREATE_BRANCH, .node = "db2"};
	struct plan_op pc = {.kind = PLAN_OP_SET_PARALLEL_COPIES, .node = "db2"};

	/* a missing table (not to be created) holds back nothing */
	ck_assert_int_eq(plan_failure_scope(&add, "42P01"), PLAN_SCOPE_ALL);
	/* another table failure (no primary key, lost connection ...): other tables go on */
	ck_assert_int_eq(plan_failure_scope(&add, "42P16"), PLAN_SCOPE_TABLES);
	ck_assert_int_eq(plan_failure_scope(&add, ""), PLAN_SCOPE_TABLES);
	ck_assert_int_eq(plan_failure_scope(&add, NULL), PLAN_SCOPE_TABLES);
	ck_assert_int_eq(plan_failure_scope(&rm, "42P01"), PLAN_SCOPE_TABLES);
	/* anything else stops the apply */
	ck_assert_int_eq(plan_failure_scope(&branch, "42P01"), PLAN_SCOPE_NONE);
	ck_assert_int_eq(plan_failure_scope(&pc, "08006"), PLAN_SCOPE_NONE);
	ck_assert(plan_op_is_table(&add));
	ck_assert(plan_op_is_table(&rm));
	ck_assert(!plan_op_is_table(&pc));
}
END_TEST

/*
 * A fake operation runner for apply_plan (apply.c, the apply loop skyreconcile runs): the ops
 * whose index is in fail[] (terminated by (size_t)-1) fail with sqlstate, the others succeed.
 */
struct fake_runner {
	const struct plan *plan;
	const size_t *fail;
	const char *sqlstate;
	size_t calls;
};

static int fake_run(void *ctx, const struct plan_op *op, struct sky_error *err)
{
	struct fake_runner *f = ctx;
	size_t i = (size_t)(op - f->plan->ops);

	f->calls++;
	for (const size_t *x = f->fail; *x != (size_t)-1; x++) {
		if (*x == i) {
			sky_error_set(err, "op %zu failed", i);
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
			         f->sqlstate ? f->sqlstate : "");
			return -1;
		}
	}
	return 0;
}

/* Counts what the observer was told, to check that apply_plan tells about every step. */
struct fake_observer {
	size_t started, done, failed, skipped;
};

static void fake_observe(void *ctx, const struct plan *plan, size_t i, enum apply_event ev,
                         const struct apply_result *r)
{
	struct fake_observer *o = ctx;

	ck_assert_uint_lt(i, plan->n_ops);
	switch (ev) {
	case APPLY_EVENT_START:
		o->started++;
		break;
	case APPLY_EVENT_DONE:
		o->done++;
		break;
	case APPLY_EVENT_FAILED:
		ck_assert_ptr_nonnull(r->errors[i]);
		o->failed++;
		break;
	case APPLY_EVENT_SKIPPED:
		ck_assert_uint_lt(r->blockers[i], i);
		o->skipped++;
		break;
	}
}

/* Run apply_plan with the fake runner; the steps as a string, one letter per op: d(one)
 * f(ailed) s(kipped) n(ot run). */
static char *simulate_apply(const struct plan *plan, const size_t *fail, const char *sqlstate)
{
	struct fake_runner f = {.plan = plan, .fail = fail, .sqlstate = sqlstate};
	struct fake_observer o = {0};
	struct apply_runner runner = {
	    .run = fake_run, .ctx = &f, .observe = fake_observe, .observe_ctx = &o};
	struct apply_result r;
	char *out = sky_calloc(plan->n_ops + 1, 1);
	size_t n_not_run = 0;
	int rc;

	rc = apply_plan(&r, plan, &runner);
	for (size_t i = 0; i < plan->n_ops; i++) {
		static const char letters[] = {[PLAN_STEP_NOT_RUN] = 'n',
		                               [PLAN_STEP_DONE] = 'd',
		                               [PLAN_STEP_FAILED] = 'f',
		                               [PLAN_STEP_SKIPPED] = 's'};

		out[i] = letters[r.steps[i]];
		n_not_run += r.steps[i] == PLAN_STEP_NOT_RUN;
	}
	/* the counts, the runner calls and the observer agree with the steps */
	ck_assert_uint_eq(f.calls, o.started);
	ck_assert_uint_eq(o.done + o.failed, o.started);
	ck_assert_uint_eq(o.done, apply_result_n_done(&r));
	ck_assert_uint_eq(o.failed, r.n_failed);
	ck_assert_uint_eq(o.skipped, r.n_skipped);
	ck_assert_uint_eq(n_not_run, r.n_not_run);
	ck_assert_int_eq(rc, r.n_failed || r.n_skipped || r.n_not_run ? -1 : 0);
	ck_assert(!r.stopped);
	apply_result_release(&r);
	return out;
}

#define ck_apply(plan, fail_list, sqlstate, expected)                                              \
	do {                                                                                       \
		static const size_t fail_[] = {fail_list, (size_t)-1};                             \
		char *got_ = simulate_apply((plan), fail_, (sqlstate));                            \
		ck_assert_msg(strcmp(got_, (expected)) == 0, "steps %s, expected %s", got_,        \
		              (expected));                                                         \
		free(got_);                                                                        \
	} while (0)

START_TEST(test_failures_continue)
{
	struct topology *t = topo_three();
	struct actual_state *s = actual_new(t, ST_TABLES);
	struct topology *t2 = topo_new();
	struct plan *plan;

	topo_add_table(t, "public.x", NULL);
	topo_add_table(t, "public.y", NULL);
	plan = plan_of(t, s);
	ck_plan(plan, "+ db1: add table public.x\n"
	              "+ db1: add table public.y\n"
	              "+ db2: add table public.x\n"
	              "+ db2: add table public.y\n"
	              "+ db3: add table public.x\n"
	              "+ db3: add table public.y\n");
	/* public.x missing on the leaf: the rest is applied */
	ck_apply(plan, 4, "42P01", "ddddfd");
	/* missing on the branch: the leaf copies it from there, so it waits; y goes on */
	ck_apply(plan, 2, "42P01", "ddfdsd");
	/* missing on the root: nowhere below either */
	ck_apply(plan, 0, "42P01", "fdsdsd");
	/* any table failure leaves the other tables going */
	ck_apply(plan, 3, "42P16", "dddfds");
	ck_apply(plan, 1 COMMA 4, "", "dfdsfs");
	plan_free(plan);

	/* a failure outside the tables stops everything after it */
	actual_state_free(s);
	s = actual_new(t, ST_MEMBERS);
	plan = plan_of(t, s);
	ck_assert_uint_eq(plan->n_ops, 3 + 11);
	ck_apply(plan, 1, "42P01", "dfnnnnnnnnnnnn");
	plan_free(plan);

	/* removals: a provider waits for its subscribers, other tables go on */
	actual_state_free(s);
	s = actual_new(t, ST_TABLES);
	topo_add_node(t2, "db1", SKY_ROLE_ROOT, NULL);
	topo_add_node(t2, "db2", SKY_ROLE_BRANCH, "db1");
	topo_add_node(t2, "db3", SKY_ROLE_LEAF, "db2");
	topo_add_table(t2, "public.a", NULL);
	plan = plan_of(t2, s);
	ck_plan(plan, "- db3: remove table public.x\n"
	              "- db3: remove table public.y\n"
	              "- db2: remove table public.b\n"
	              "- db2: remove table public.x\n"
	              "- db2: remove table public.y\n"
	              "- db1: remove table public.b\n"
	              "- db1: remove table public.x\n"
	              "- db1: remove table public.y\n");
	ck_apply(plan, 0, "08006", "fddsddsd");
	ck_apply(plan, 2, "", "ddfddsdd");
	plan_free(plan);
	actual_state_free(s);
	topo_release(t2);
	topo_release(t);
}
END_TEST

START_TEST(test_failure_gate_scope_tables)
{
	/* a table failure holds back what is not a table operation, should one follow */
	struct plan_op ops[3] = {
	    {.kind = PLAN_OP_ADD_TABLE,
	     .action = PLAN_ACTION_ADD,
	     .node = "db1",
	     .subject = "public.x"},
	    {.kind = PLAN_OP_SET_PARALLEL_COPIES, .action = PLAN_ACTION_CHANGE, .node = "db2"},
	    {.kind = PLAN_OP_ADD_TABLE,
	     .action = PLAN_ACTION_ADD,
	     .node = "db1",
	     .subject = "public.y"},
	};
	struct plan plan = {.ops = ops, .n_ops = 3};

	ck_apply(&plan, 0, "42P16", "fnd");
	ck_apply(&plan, 0, "42P01", "fdd");
	ck_apply(&plan, 1, "", "dfn");
}
END_TEST

START_TEST(test_apply_stop)
{
	/* the stop flag (SIGTERM in skyreconcile and watch) is looked at between operations */
	struct plan_op ops[3] = {
	    {.kind = PLAN_OP_SET_PARALLEL_COPIES, .action = PLAN_ACTION_CHANGE, .node = "db2"},
	    {.kind = PLAN_OP_SET_PARALLEL_COPIES, .action = PLAN_ACTION_CHANGE, .node = "db3"},
	    {.kind = PLAN_OP_SET_PARALLEL_COPIES, .action = PLAN_ACTION_CHANGE, .node = "db4"},
	};
	struct plan plan = {.ops = ops, .n_ops = 3};
	static const size_t none[] = {(size_t)-1};
	struct fake_runner f = {.plan = &plan, .fail = none};
	volatile sig_atomic_t stop = 1;
	struct apply_runner runner = {.run = fake_run, .ctx = &f, .stop = &stop};
	struct apply_result r;

	ck_assert_int_eq(apply_plan(&r, &plan, &runner), -1);
	ck_assert(r.stopped);
	ck_assert_uint_eq(f.calls, 0);
	ck_assert_uint_eq(r.n_not_run, 3);
	apply_result_release(&r);
	stop = 0;
	ck_assert_int_eq(apply_plan(&r, &plan, &runner), 0);
	ck_assert_uint_eq(f.calls, 3);
	ck_assert_uint_eq(apply_result_n_done(&r), 3);
	ck_assert_str_eq(apply_step_name(r.steps[2]), "done");
	apply_result_release(&r);
}
END_TEST

START_TEST(test_lock_majority)
{
	/* more than half of the live nodes */
	ck_assert_uint_eq(lock_majority(1), 1);
	ck_assert_uint_eq(lock_majority(2), 2);
	ck_assert_uint_eq(lock_majority(3), 2);
	ck_assert_uint_eq(lock_majority(4), 3);
	ck_assert_uint_eq(lock_majority(5), 3);
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
	tcase_add_test(tc, test_stale_subscriber_unregistered);
	tcase_add_test(tc, test_plan_time_table_checks);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_pause_resume);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_drop_node);
	tcase_add_test(tc, test_deep_tree_order);
	tcase_add_test(tc, test_broken_provider_chain);
	tcase_add_test(tc, test_upgrade_and_newer);
	tcase_add_test(tc, test_installer_digest);
	tcase_add_test(tc, test_json_has_no_dsn);
	tcase_add_test(tc, test_version_cmp);
	tcase_add_test(tc, test_sql_version);
	tcase_add_test(tc, test_table_add_create_flag);
	tcase_add_test(tc, test_table_removed_everywhere);
	tcase_add_test(tc, test_table_narrowed_away);
	tcase_add_test(tc, test_parallel_copies);
	tcase_add_test(tc, test_ticker_settings);
	tcase_add_test(tc, test_upgrade_then_parallel_copies);
	tcase_add_test(tc, test_syncing_tables_are_not_changes);
	tcase_add_test(tc, test_progress_describe);
	tcase_add_test(tc, test_failure_scope);
	tcase_add_test(tc, test_failures_continue);
	tcase_add_test(tc, test_failure_gate_scope_tables);
	tcase_add_test(tc, test_apply_stop);
	tcase_add_test(tc, test_lock_majority);
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
