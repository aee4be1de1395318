/*
 * Unit tests of reconciler/watch_metrics.c: the registry of `skyreconcile watch --metrics` and its
 * Prometheus text. No database, no HTTP (tests/integration/23_watch.sh scrapes the endpoint and
 * runs promtool on it).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sky_mem.h"
#include "watch_metrics.h"

static char *render(void)
{
	struct sky_buf b;

	sky_buf_init(&b);
	watch_metrics_render(&b, 5000);
	return sky_buf_detach(&b);
}

static void has(const char *text, const char *line)
{
	char *want = sky_asprintf("\n%s\n", line);

	ck_assert_msg(strstr(text, want) != NULL, "missing line \"%s\" in:\n%s", line, text);
	free(want);
}

/* The plan of kinds[0..n-1], with the steps given. Freed with free_plan. */
static void make(struct plan *plan, struct apply_result *r, const enum plan_op_kind *kinds,
                 const enum plan_step *steps, size_t n)
{
	memset(plan, 0, sizeof(*plan));
	memset(r, 0, sizeof(*r));
	plan->ops = sky_calloc(n, sizeof(*plan->ops));
	r->steps = sky_calloc(n, sizeof(*r->steps));
	for (size_t i = 0; i < n; i++) {
		plan->ops[i].kind = kinds[i];
		r->steps[i] = steps[i];
	}
	plan->n_ops = r->n_ops = n;
}

static void free_plan(struct plan *plan, struct apply_result *r)
{
	free(plan->ops);
	free(r->steps);
}

START_TEST(test_empty)
{
	char *t;

	watch_metrics_reset();
	t = render();
	has(t, "skyreconcile_up 1");
	has(t, "# TYPE skyreconcile_reconciles_total counter");
	has(t, "skyreconcile_reconciles_total{outcome=\"no_changes\"} 0");
	has(t, "skyreconcile_reconciles_total{outcome=\"invalid\"} 0");
	has(t, "skyreconcile_reconcile_duration_seconds_count 0");
	has(t, "skyreconcile_failovers_total{mode=\"automatic\"} 0");
	has(t, "skyreconcile_failovers_total{mode=\"manual\"} 0");
	has(t, "skyreconcile_drift_repairs_total 0");
	has(t, "skyreconcile_lock_waits_total 0");
	/* nothing applied yet: no revision, no timestamps */
	ck_assert_ptr_null(strstr(t, "skyreconcile_applied_revision"));
	ck_assert_ptr_null(strstr(t, "skyreconcile_last_reconcile_timestamp_seconds"));
	ck_assert_ptr_null(strstr(t, "skyreconcile_watch_info"));
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	free(t);
}
END_TEST

START_TEST(test_reconciles_and_revision)
{
	char *t;

	watch_metrics_reset();
	watch_metrics_set_cascade("a\"b");
	watch_metrics_reconcile(WATCH_OUTCOME_APPLIED, 1.5, 1000, "abc");
	watch_metrics_reconcile(WATCH_OUTCOME_NO_CHANGES, 0.5, 2000, "abc");
	watch_metrics_reconcile(WATCH_OUTCOME_INVALID, 0.25, 3000, "bad");
	watch_metrics_reconcile(WATCH_OUTCOME_FAILED, 0.25, 4000, "abc");
	t = render();
	has(t, "skyreconcile_watch_info{cascade=\"a\\\"b\"} 1");
	has(t, "skyreconcile_reconciles_total{outcome=\"applied\"} 1");
	has(t, "skyreconcile_reconciles_total{outcome=\"no_changes\"} 1");
	has(t, "skyreconcile_reconciles_total{outcome=\"invalid\"} 1");
	has(t, "skyreconcile_reconciles_total{outcome=\"failed\"} 1");
	has(t, "skyreconcile_reconcile_duration_seconds_sum 2.5");
	has(t, "skyreconcile_reconcile_duration_seconds_count 4");
	/* the invalid revision is not applied; the time is the first success at "abc" */
	has(t, "skyreconcile_applied_revision_info{revision=\"abc\"} 1");
	has(t, "skyreconcile_applied_revision_timestamp_seconds 1000");
	has(t, "skyreconcile_last_reconcile_timestamp_seconds 4000");
	has(t, "skyreconcile_last_success_timestamp_seconds 2000");
	has(t, "skyreconcile_consecutive_failures 2");
	free(t);

	watch_metrics_reconcile(WATCH_OUTCOME_APPLIED, 1, 6000, "def");
	t = render();
	has(t, "skyreconcile_applied_revision_info{revision=\"def\"} 1");
	ck_assert_ptr_null(strstr(t, "revision=\"abc\""));
	has(t, "skyreconcile_applied_revision_timestamp_seconds 6000");
	has(t, "skyreconcile_consecutive_failures 0");
	free(t);
}
END_TEST

START_TEST(test_operations_drift_failovers)
{
	static const enum plan_op_kind kinds[] = {
	    PLAN_OP_PAUSE, PLAN_OP_FAILOVER, PLAN_OP_ADD_TABLE, PLAN_OP_ADD_TABLE, PLAN_OP_RESUME};
	static const enum plan_step steps[] = {PLAN_STEP_DONE, PLAN_STEP_DONE, PLAN_STEP_FAILED,
	                                       PLAN_STEP_SKIPPED, PLAN_STEP_NOT_RUN};
	struct plan plan;
	struct apply_result r;
	char *t;

	watch_metrics_reset();
	make(&plan, &r, kinds, steps, 5);
	watch_metrics_apply(&plan, &r, false); /* a failover from the file: manual */
	watch_metrics_failover(true);          /* the policy announces one ... */
	watch_metrics_apply(&plan, &r, true);  /* ... applied here: counted once, automatic */
	watch_metrics_lock_wait(1.25);
	watch_metrics_lock_wait(0.5);
	t = render();
	has(t, "skyreconcile_operations_total{kind=\"pause\",result=\"done\"} 2");
	has(t, "skyreconcile_operations_total{kind=\"failover\",result=\"done\"} 2");
	has(t, "skyreconcile_operations_total{kind=\"add_table\",result=\"failed\"} 2");
	has(t, "skyreconcile_operations_total{kind=\"add_table\",result=\"skipped\"} 2");
	ck_assert_ptr_null(strstr(t, "kind=\"resume\"")); /* not run: nothing happened */
	has(t, "skyreconcile_failovers_total{mode=\"automatic\"} 1");
	has(t, "skyreconcile_failovers_total{mode=\"manual\"} 1");
	has(t, "skyreconcile_drift_repairs_total 1");
	has(t, "skyreconcile_lock_waits_total 2");
	has(t, "skyreconcile_lock_wait_seconds_total 1.75");
	free(t);
	free_plan(&plan, &r);
	watch_metrics_reset();
}
END_TEST

START_TEST(test_pulls)
{
	char *t;

	watch_metrics_reset();
	t = render();
	ck_assert_ptr_null(strstr(t, "skyreconcile_pull")); /* no --pull: none */
	free(t);
	watch_metrics_pull(WATCH_PULL_UP_TO_DATE, 100);
	watch_metrics_pull(WATCH_PULL_FORWARDED, 101);
	watch_metrics_pull(WATCH_PULL_DIVERGED, 102);
	watch_metrics_pull(WATCH_PULL_FAILED, 103);
	watch_metrics_pull(WATCH_PULL_FAILED, 104);
	t = render();
	has(t, "# TYPE skyreconcile_pulls_total counter");
	has(t, "skyreconcile_pulls_total{result=\"up_to_date\"} 1");
	has(t, "skyreconcile_pulls_total{result=\"forwarded\"} 1");
	has(t, "skyreconcile_pulls_total{result=\"ahead\"} 0");
	has(t, "skyreconcile_pulls_total{result=\"diverged\"} 1");
	has(t, "skyreconcile_pulls_total{result=\"failed\"} 2");
	has(t, "skyreconcile_pull_diverged 1"); /* a failed fetch keeps what was known */
	has(t, "skyreconcile_pull_consecutive_failures 2");
	has(t, "skyreconcile_last_pull_success_timestamp_seconds 102");
	free(t);
	watch_metrics_pull(WATCH_PULL_FORWARDED, 105);
	t = render();
	has(t, "skyreconcile_pull_diverged 0");
	has(t, "skyreconcile_pull_consecutive_failures 0");
	has(t, "skyreconcile_last_pull_success_timestamp_seconds 105");
	free(t);
}
END_TEST

START_TEST(test_outcome_names)
{
	ck_assert_str_eq(watch_outcome_name(WATCH_OUTCOME_STOPPED), "stopped");
	ck_assert_str_eq(watch_outcome_name(WATCH_OUTCOME_N), "unknown");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch_metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_reconciles_and_revision);
	tcase_add_test(tc, test_operations_drift_failovers);
	tcase_add_test(tc, test_pulls);
	tcase_add_test(tc, test_outcome_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
