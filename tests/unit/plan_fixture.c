/*
 * plan_fixture: the states the plan engine's unit tests start from (plan_fixture.h), built in
 * code: a desired topology freed by topo_release (not topology_free), an actual state as a
 * node looks after each stage of a reconcile, and the plan as the text skyreconcile prints.
 */
#include "plan_fixture.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"

/* ---- desired state, built by hand and freed by the tests (not topology_free) ---- */

struct topology *topo_new(void)
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

struct topo_node *topo_add_node(struct topology *t, const char *name, enum sky_role role,
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
struct topo_table *topo_add_table(struct topology *t, const char *name, ...)
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

void topo_release(struct topology *t)
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
struct topology *topo_three(void)
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

void actual_member_put(struct actual_node *an, const char *name, const char *location)
{
	struct actual_member *m;

	an->members = sky_realloc(an->members, (an->n_members + 1) * sizeof(*an->members));
	m = &an->members[an->n_members++];
	memset(m, 0, sizeof(*m));
	m->name = sky_strdup(name);
	m->location = sky_strdup(location);
}

void actual_table_put(struct actual_node *an, const struct topo_table *tt)
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
void actual_node_stage(struct actual_state *s, const struct topology *t, const char *name,
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

struct actual_state *actual_new(const struct topology *t, enum stage stage)
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

struct actual_node *actual_get(struct actual_state *s, const char *name)
{
	return (struct actual_node *)actual_state_node(s, name);
}

/* ---- running the engine ---- */

struct plan *plan_of(const struct topology *t, const struct actual_state *s)
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
char *plan_text(const struct plan *plan)
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
