/*
 * test_graph: the cascade's picture (reconciler/graph.c), no database. Topologies come from YAML
 * through the real parser; the catalogs' state is built by hand.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "sky_mem.h"

static const char base_yaml[] = "cascade: app\n"
                                "nodes:\n"
                                "  db1: {role: root, dsn: \"host=h1\"}\n"
                                "  db2: {role: branch, dsn: \"host=h2\", provider: db1}\n"
                                "  db3: {role: leaf, dsn: \"host=h3\", provider: db2}\n"
                                "  end: {role: leaf, dsn: \"host=h4\", provider: db1, "
                                "paused: true}\n";

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

/*
 * db1 (head 20), db2 (applied 18, head 18) and end (applied 20) reachable and created as the
 * file says; db3 unreachable, db2's subscriber entry has it at tick 15.
 */
static struct actual_state *actual(const struct topology *t)
{
	static const long long last[] = {-1, 18, -1, 20};
	struct actual_state *s = sky_calloc(1, sizeof(*s));

	s->nodes = sky_calloc(t->n_nodes, sizeof(*s->nodes));
	s->n_nodes = t->n_nodes;
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct actual_node *an = &s->nodes[i];

		an->name = sky_strdup(t->nodes[i].name);
		an->reachable = i != 2;
		an->created = an->reachable;
		if (!an->created) {
			an->error = sky_strdup("could not connect");
			continue;
		}
		an->self.name = sky_strdup(t->nodes[i].name);
		an->self.role = t->nodes[i].role;
		an->self.provider = t->nodes[i].provider ? sky_strdup(t->nodes[i].provider) : NULL;
		an->self.last_tick = last[i];
		an->self.paused = t->nodes[i].paused;
	}
	s->nodes[1].subscribers = sky_calloc(1, sizeof(struct actual_subscriber));
	s->nodes[1].n_subscribers = 1;
	s->nodes[1].subscribers[0].name = sky_strdup("db3");
	s->nodes[1].subscribers[0].last_tick = 15;
	s->nodes[1].subscribers[0].watermark = -1;
	return s;
}

static char *render(const struct topology *t, const struct actual_state *s, const long long *heads,
                    enum graph_format f)
{
	struct graph g;
	struct sky_buf b;

	sky_buf_init(&b);
	graph_build(&g, t, s, heads);
	graph_render(&b, &g, f);
	graph_release(&g);
	return sky_buf_detach(&b);
}

#define HAS(text, needle) ck_assert_msg(strstr(text, needle), "missing %s in:\n%s", needle, text)
#define HASNT(text, needle)                                                                        \
	ck_assert_msg(!strstr(text, needle), "unexpected %s in:\n%s", needle, text)

START_TEST(test_dot_file_alone)
{
	struct topology *t = load(NULL);
	char *d = render(t, NULL, NULL, GRAPH_DOT);

	ck_assert(strncmp(d, "digraph \"app\" {\n", 16) == 0);
	HAS(d, "\"db1\" [label=\"db1\\nroot\", shape=doubleoctagon");
	HAS(d, "\"db2\" [label=\"db2\\nbranch\", shape=box");
	HAS(d, "\"db3\" [label=\"db3\\nleaf\", shape=ellipse");
	HAS(d, "\"end\" [label=\"end\\nleaf\\npaused\"");
	HAS(d, "\t\"db1\" -> \"db2\";\n");
	HAS(d, "\t\"db2\" -> \"db3\";\n");
	HAS(d, "\t\"db1\" -> \"end\";\n");
	/* no catalogs asked for: nothing is unreachable, no lag is known */
	HASNT(d, "unreachable");
	HASNT(d, "lag");
	ck_assert(strcmp(d + strlen(d) - 2, "}\n") == 0);
	free(d);
	topology_free(t);
}
END_TEST

START_TEST(test_dot_catalogs_lag_unreachable)
{
	static const long long heads[] = {20, 18, -1, 20};
	struct topology *t = load(NULL);
	struct actual_state *s = actual(t);
	char *d = render(t, s, heads, GRAPH_DOT);

	HAS(d, "\"db1\" -> \"db2\" [label=\"lag 2 ticks\"];");
	/* db3 cannot be read: its provider's subscriber entry gives its position */
	HAS(d, "\"db2\" -> \"db3\" [label=\"lag 3 ticks\"];");
	HAS(d, "\"db1\" -> \"end\" [label=\"lag 0 ticks\"];");
	HAS(d, "\"db3\" [label=\"db3\\nleaf\\nunreachable\"");
	HAS(d, "style=\"filled,dotted\"");
	HASNT(d, "db1\\nroot\\nunreachable");
	free(d);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_catalog_wins_dead_and_moved)
{
	static const long long heads[] = {20, 19, -1, 20};
	struct topology *t = load(NULL);
	struct actual_state *s = actual(t);
	char *d;

	/* the catalogs say: db2 is fenced, end was re-pointed to db2 (mid-failover) */
	s->nodes[1].self.fenced = true;
	free(s->nodes[3].self.provider);
	s->nodes[3].self.provider = sky_strdup("db2");
	s->nodes[3].self.last_tick = 18;
	d = render(t, s, heads, GRAPH_DOT);
	HAS(d, "\"db2\" [label=\"db2\\nbranch\\ndead\"");
	HAS(d, "style=\"filled,dashed\"");
	HAS(d, "\"db1\" -> \"db2\" [label=\"lag 2 ticks\", style=dashed];");
	HAS(d, "\"db2\" -> \"end\" [label=\"lag 1 tick\"];");
	HASNT(d, "\"db1\" -> \"end\"");
	free(d);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_file_dead_node)
{
	struct topology *t =
	    load("  db5: {role: leaf, dsn: \"host=h5\", provider: db1, dead: true}\n");
	char *d = render(t, NULL, NULL, GRAPH_DOT);
	char *m = render(t, NULL, NULL, GRAPH_MERMAID);

	HAS(d, "\"db5\" [label=\"db5\\nleaf\\ndead\"");
	HAS(d, "\"db1\" -> \"db5\" [style=dashed];");
	HAS(m, "\tn_db1 -.-> n_db5\n");
	HAS(m, "\tclass n_db5 dead\n");
	HAS(m, "classDef dead ");
	free(d);
	free(m);
	topology_free(t);
}
END_TEST

START_TEST(test_mermaid)
{
	static const long long heads[] = {20, 18, -1, 20};
	static const char head[] = "---\ntitle: cascade app\n---\nflowchart TB\n";
	struct topology *t = load(NULL);
	struct actual_state *s = actual(t);
	char *m = render(t, s, heads, GRAPH_MERMAID);

	ck_assert(strncmp(m, head, strlen(head)) == 0);
	HAS(m, "\tn_db1{{\"db1<br/>root\"}}\n");
	HAS(m, "\tn_db2[\"db2<br/>branch\"]\n");
	HAS(m, "\tn_db3([\"db3<br/>leaf<br/>unreachable\"])\n");
	/* "end" is a Mermaid keyword: ids are prefixed */
	HAS(m, "\tn_end([\"end<br/>leaf<br/>paused\"])\n");
	HAS(m, "\tn_db1 -->|\"lag 2 ticks\"| n_db2\n");
	HAS(m, "\tn_db2 -->|\"lag 3 ticks\"| n_db3\n");
	HAS(m, "\tclass n_db3 unreachable\n");
	HAS(m, "\tclass n_end paused\n");
	HAS(m, "classDef paused ");
	HAS(m, "classDef unreachable ");
	HASNT(m, "classDef dead");
	free(m);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

START_TEST(test_edge_lag)
{
	static const long long heads[] = {20, 18, -1, 20};
	struct topology *t = load(NULL);
	struct actual_state *s = actual(t);
	struct graph g;

	graph_build(&g, t, s, heads);
	ck_assert_int_eq(graph_edge_lag(&g, 0), -1); /* the root has no edge in */
	ck_assert_int_eq(graph_edge_lag(&g, 1), 2);
	ck_assert_int_eq(graph_edge_lag(&g, 2), 3);
	ck_assert_int_eq(graph_edge_lag(&g, 3), 0);
	graph_release(&g);
	/* no heads: no lag */
	graph_build(&g, t, s, NULL);
	ck_assert_int_eq(graph_edge_lag(&g, 1), -1);
	graph_release(&g);
	actual_state_free(s);
	topology_free(t);
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_dot_file_alone);
	tcase_add_test(tc, test_dot_catalogs_lag_unreachable);
	tcase_add_test(tc, test_catalog_wins_dead_and_moved);
	tcase_add_test(tc, test_file_dead_node);
	tcase_add_test(tc, test_mermaid);
	tcase_add_test(tc, test_edge_lag);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(graph_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
