/*
 * Unit tests of the status rendering (reconciler/status.c): a report built in code in, the
 * tree text, the JSON document and the problems out. No database.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"
#include "status.h"
#include "topology.h"

/* ---- a report built by hand: db1 root, db2 branch under db1, db3 leaf under db2,
 * db4 dead branch ---- */

static struct topology *topo_new(void)
{
	static const struct {
		const char *name;
		enum sky_role role;
		const char *provider;
		bool dead;
	} spec[] = {
	    {"db1", SKY_ROLE_ROOT, NULL, false},
	    {"db3", SKY_ROLE_LEAF, "db2", false},
	    {"db2", SKY_ROLE_BRANCH, "db1", false},
	    {"db4", SKY_ROLE_BRANCH, "db1", true},
	};
	struct topology *t = sky_calloc(1, sizeof(*t));

	t->file = sky_strdup("test.yaml");
	t->cascade = sky_strdup("app");
	t->nodes = sky_calloc(4, sizeof(*t->nodes));
	for (size_t i = 0; i < 4; i++) {
		struct topo_node *n = &t->nodes[t->n_nodes++];

		n->name = sky_strdup(spec[i].name);
		n->role = spec[i].role;
		n->dsn = sky_asprintf("host=10.0.0.%zu dbname=app password=s3cret", i + 1);
		n->provider = spec[i].provider ? sky_strdup(spec[i].provider) : NULL;
		n->dead = spec[i].dead;
	}
	return t;
}

static struct status_node *node_of(struct status_report *r, const char *name)
{
	return (struct status_node *)status_report_node(r, name);
}

static void node_fill(struct status_report *r, const char *name, const char *role,
                      const char *provider, long long tick, double lag_s, long long lag_ticks)
{
	struct status_node *n = node_of(r, name);

	n->reachable = true;
	n->has_pgq_set = true;
	n->created = true;
	n->role = sky_strdup(role);
	n->provider = provider ? sky_strdup(provider) : NULL;
	n->last_tick = tick;
	n->tick_known = true;
	n->last_tick_time = sky_asprintf("2024-05-01 10:00:%02lld+00", tick % 60);
	n->lag_s = lag_s;
	n->lag_ticks = lag_ticks;
	n->worker_seen_age_s = 0.4;
	n->worker_lock = STATUS_YES;
	n->fenced = STATUS_NO;
}

static void table_add(struct status_node *n, const char *name, const char *state, long long copied,
                      long long estimate, double elapsed, const char *error)
{
	struct status_table *t;

	n->tables = sky_realloc(n->tables, (n->n_tables + 1) * sizeof(*n->tables));
	t = &n->tables[n->n_tables++];
	memset(t, 0, sizeof(*t));
	t->name = sky_strdup(name);
	t->state = sky_strdup(state);
	t->rows_copied = copied;
	t->rows_estimate = estimate;
	t->copy_elapsed_s = elapsed;
	t->copy_error = error ? sky_strdup(error) : NULL;
}

/* A healthy cascade: db3 copying a table, db4 dead and unreachable. */
static struct status_report *report_healthy(struct topology **topo_out)
{
	struct topology *topo = topo_new();
	struct status_report *r = status_report_new(topo);
	struct status_node *n;

	r->root_tick = 120;
	r->root_tick_time = sky_strdup("2024-05-01 10:02:00+00");
	node_fill(r, "db1", "root", NULL, 120, 0, 0);
	node_fill(r, "db2", "branch", "db1", 118, 1.5, 2);
	node_fill(r, "db3", "leaf", "db2", 115, 4.0, 5);
	table_add(node_of(r, "db1"), "public.a", "ok", -1, -1, -1, NULL);
	table_add(node_of(r, "db1"), "public.b", "ok", -1, -1, -1, NULL);
	table_add(node_of(r, "db2"), "public.a", "ok", -1, -1, -1, NULL);
	table_add(node_of(r, "db2"), "public.b", "catching-up", 100, 100, 3, NULL);
	n = node_of(r, "db3");
	table_add(n, "public.a", "copying", 25000, 100000, 10.0, NULL);
	table_add(n, "public.b", "pending", -1, -1, -1, NULL);
	n = node_of(r, "db4");
	n->error = sky_strdup("could not connect to node \"db4\": refused");
	*topo_out = topo;
	return r;
}

static char *render(const struct status_report *r)
{
	struct sky_buf b;

	sky_buf_init(&b);
	status_render_text(&b, r);
	return sky_buf_detach(&b);
}

#define ck_assert_contains(hay, needle)                                                            \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "\"%s\" not in:\n%s", (needle), (hay))

START_TEST(test_tree_order)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	size_t order[4];
	int depth[4];

	status_tree_order(order, depth, r);
	/* db1, db2 under it, db3 under db2 (the file lists db3 before db2), then dead db4 */
	ck_assert_str_eq(r->nodes[order[0]].name, "db1");
	ck_assert_int_eq(depth[0], 0);
	ck_assert_str_eq(r->nodes[order[1]].name, "db2");
	ck_assert_int_eq(depth[1], 1);
	ck_assert_str_eq(r->nodes[order[2]].name, "db3");
	ck_assert_int_eq(depth[2], 2);
	ck_assert_str_eq(r->nodes[order[3]].name, "db4");
	ck_assert_int_eq(depth[3], 0);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_tree_follows_catalog)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	size_t order[4];
	int depth[4];

	/* the catalog of db3 says it pulls from db1 (a provider change by hand): it goes there */
	free(node_of(r, "db3")->provider);
	node_of(r, "db3")->provider = sky_strdup("db1");
	status_tree_order(order, depth, r);
	ck_assert_str_eq(r->nodes[order[1]].name, "db3");
	ck_assert_int_eq(depth[1], 1);
	ck_assert_str_eq(r->nodes[order[2]].name, "db2");
	ck_assert_int_eq(depth[2], 1);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_text_healthy)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	char *text = render(r);

	ck_assert_contains(
	    text, "Cascade \"app\": root db1, newest tick 120 at 2024-05-01 10:02:00+00\n");
	ck_assert_contains(text, "\ndb1 (root)\n    newest tick 120");
	ck_assert_contains(text, "\n  db2 (branch, provider db1)\n");
	ck_assert_contains(text,
	                   "tick 118 at 2024-05-01 10:00:58+00, behind the root: 1.5 s, 2 ticks\n");
	ck_assert_contains(text, "\n    db3 (leaf, provider db2)\n");
	/* behind its provider db2: 4.0 - 1.5 s, 5 - 2 ticks */
	ck_assert_contains(text, "behind the root: 4.0 s, 5 ticks; behind db2: 2.5 s, 3 ticks\n");
	ck_assert_contains(text, "worker up (seen 0.4 s ago)");
	ck_assert_contains(text, "tables: 0 ok, 1 copying, 1 pending\n");
	/* 25000 rows in 10 s: 75000 left at 2500 rows/s */
	ck_assert_contains(text, "public.a copying 25000/100000 rows (25%), ETA 30.0 s\n");
	ck_assert_contains(text, "public.b pending\n");
	ck_assert_contains(text, "tables: 1 ok, 1 catching-up\n");
	ck_assert_contains(text, "db4 (branch, provider db1, dead)\n");
	ck_assert_contains(
	    text, "unreachable: could not connect to node \"db4\": refused (dead: expected)");
	ck_assert_contains(text, "\nAll 3 live nodes fine.\n");
	ck_assert_int_eq(status_problems(NULL, r), 0);
	free(text);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_problems)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	struct status_node *n;
	struct sky_buf b;
	char *text;

	n = node_of(r, "db3");
	status_node_clear_read(n);
	n->error = sky_strdup("timeout: no answer within 5.0 s (connecting)");
	n = node_of(r, "db2");
	n->worker_error = sky_strdup("could not connect to provider \"db1\": boom");
	table_add(n, "public.c", "copying", 10, 100, 1, "relation \"public.c\" does not exist");
	sky_buf_init(&b);
	/* in topology order */
	ck_assert_int_eq(status_problems(&b, r), 3);
	ck_assert_str_eq(
	    b.data, "db3: unreachable: timeout: no answer within 5.0 s (connecting)\n"
	            "db2: worker error: could not connect to provider \"db1\": boom\n"
	            "db2: public.c copying: copy failed: relation \"public.c\" does not exist\n");
	sky_buf_release(&b);
	text = render(r);
	ck_assert_contains(text, "\n3 problems:\n  db3: unreachable:");
	ck_assert_contains(text, "db3 (leaf, provider db2)\n        unreachable: timeout");
	free(text);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_worker_judge)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	struct status_node *n = node_of(r, "db2");
	struct sky_buf b;

	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_UP);
	/* killed: its lock went with its session, whatever the last heartbeat says */
	n->worker_lock = STATUS_NO;
	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_DOWN);
	/* an older catalog without worker_running: the heartbeat's age alone */
	n->worker_lock = STATUS_UNKNOWN;
	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_UP);
	n->worker_seen_age_s = STATUS_WORKER_STALE_S + 0.1;
	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_DOWN);
	/* holding the lock without a heartbeat: stalled */
	n->worker_lock = STATUS_YES;
	n->worker_seen_age_s = 75;
	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_STALLED);
	n->worker_seen_age_s = -1;
	n->worker_lock = STATUS_NO;
	ck_assert_int_eq(status_worker_judge(n), STATUS_WORKER_DOWN);
	n->worker_seen_age_s = 12.34;
	sky_buf_init(&b);
	ck_assert_int_eq(status_problems(&b, r), 1);
	ck_assert_str_eq(b.data, "db2: worker down (not connected, last seen 12.3 s ago)\n");
	sky_buf_release(&b);
	n->worker_lock = STATUS_YES;
	n->worker_seen_age_s = 75;
	sky_buf_init(&b);
	status_problems(&b, r);
	ck_assert_str_eq(b.data, "db2: worker stalled (holds its lock, last seen 1m15s ago)\n");
	sky_buf_release(&b);
	/* a dead node's worker is down by design: no problem */
	n = node_of(r, "db4");
	status_node_clear_read(n);
	n->reachable = true;
	n->created = true;
	n->role = sky_strdup("branch");
	n->provider = sky_strdup("db1");
	n->fenced = STATUS_YES;
	n->worker_lock = STATUS_NO;
	ck_assert_int_eq(status_problems(NULL, r), 1);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_eta)
{
	struct status_table t;

	memset(&t, 0, sizeof(t));
	t.state = (char *)"copying";
	t.rows_copied = 500;
	t.rows_estimate = 1000;
	t.copy_elapsed_s = 5;
	ck_assert(status_table_eta(&t) > 4.99 && status_table_eta(&t) < 5.01);
	t.rows_copied = 1200; /* past the planner's estimate */
	ck_assert(status_table_eta(&t) < 0);
	t.rows_copied = 0; /* no rate yet */
	ck_assert(status_table_eta(&t) < 0);
	t.rows_copied = 500;
	t.copy_elapsed_s = -1; /* no start time (pgq_set 1) */
	ck_assert(status_table_eta(&t) < 0);
	t.copy_elapsed_s = 5;
	t.state = (char *)"catching-up";
	ck_assert(status_table_eta(&t) < 0);
}
END_TEST

START_TEST(test_paused_fenced_revision_text)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	struct status_node *n = node_of(r, "db2");
	char *text;

	n->paused = true;
	n->revision = sky_strdup("3f2a1bc add table public.c");
	n = node_of(r, "db3");
	n->paused = true;
	n->paused_ack = true;
	n = node_of(r, "db4");
	status_node_clear_read(n);
	n->reachable = true;
	n->created = true;
	n->role = sky_strdup("root");
	n->fenced = STATUS_YES;
	n->worker_lock = STATUS_NO;
	n->last_tick = 90;
	text = render(r);
	ck_assert_contains(text, "paused (not acknowledged yet)\n");
	ck_assert_contains(text, "paused (acknowledged)\n");
	ck_assert_contains(text, "revision: 3f2a1bc add table public.c\n");
	/* the old root, fenced: its own top, after the live tree */
	ck_assert_contains(
	    text, "\ndb4 (root, dead, fenced)\n    tick 90 (not on the root: lag unknown)\n"
	          "    worker down (never seen) (dead: expected)\n");
	ck_assert_contains(text, "All 3 live nodes fine.");
	free(text);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

START_TEST(test_json)
{
	struct topology *topo;
	struct status_report *r = report_healthy(&topo);
	json_t *doc, *nodes, *n, *t;
	char *dump;

	status_node_clear_read(node_of(r, "db2"));
	node_of(r, "db2")->error = sky_strdup("could not connect to node \"db2\": refused");
	doc = status_render_json(r);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "cascade")), "app");
	ck_assert(json_is_false(json_object_get(doc, "ok")));
	ck_assert_int_eq(json_array_size(json_object_get(doc, "problems")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "root"), "tick")),
	                 120);
	nodes = json_object_get(doc, "nodes");
	ck_assert_int_eq(json_array_size(nodes), 4);
	n = json_array_get(nodes, 1);
	ck_assert_str_eq(json_string_value(json_object_get(n, "node")), "db2");
	ck_assert(json_is_false(json_object_get(n, "reachable")));
	ck_assert(json_is_null(json_object_get(n, "tables")));
	/* db3 still under db2, by the topology */
	n = json_array_get(nodes, 2);
	ck_assert_str_eq(json_string_value(json_object_get(n, "node")), "db3");
	ck_assert_int_eq(json_integer_value(json_object_get(n, "depth")), 2);
	ck_assert(json_real_value(json_object_get(
	              json_object_get(json_object_get(n, "lag"), "root"), "seconds")) == 4.0);
	/* db2 unread: no lag behind it */
	ck_assert(json_is_null(
	    json_object_get(json_object_get(json_object_get(n, "lag"), "provider"), "ticks")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(n, "worker"), "state")),
	                 "up");
	t = json_array_get(json_object_get(json_object_get(n, "tables"), "list"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "percent")), 25);
	ck_assert(json_real_value(json_object_get(t, "eta_seconds")) == 30.0);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(n, "tables"), "pending")), 1);
	dump = json_dumps(doc, 0);
	ck_assert_ptr_null(strstr(dump, "s3cret"));
	ck_assert_ptr_null(strstr(dump, "10.0.0."));
	free(dump);
	json_decref(doc);
	status_report_free(r);
	topology_free(topo);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tree_order);
	tcase_add_test(tc, test_tree_follows_catalog);
	tcase_add_test(tc, test_text_healthy);
	tcase_add_test(tc, test_problems);
	tcase_add_test(tc, test_worker_judge);
	tcase_add_test(tc, test_eta);
	tcase_add_test(tc, test_paused_fenced_revision_text);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
