/*
 * Unit tests of applying a plan: the apply loop (reconciler/apply.c) against a fake runner,
 * the failure gates (reconciler/plan_gate.c) and the lock's majority (reconciler/lock_rule.c).
 * No database.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "lock.h"
#include "plan.h"
#include "plan_fixture.h"
#include "sky_mem.h"
#include "topology.h"

#define COMMA ,

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

static Suite *apply_suite(void)
{
	Suite *s = suite_create("apply");
	TCase *tc = tcase_create("core");

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
	SRunner *sr = srunner_create(apply_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
