/*
 * Unit tests of worker/metrics.c: the registry and its Prometheus text, label escaping, the
 * endpoint's address parsing. No database; the endpoint itself is tested by
 * tests/integration/26_metrics.sh (promtool, curl).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sky_mem.h"

static char *render(struct sky_metrics *m, double now)
{
	char *text;
	size_t len;

	sky_metrics_render(&text, &len, m, now);
	ck_assert_uint_eq(len, strlen(text));
	return text;
}

START_TEST(test_empty_registry)
{
	struct sky_metrics *m = sky_metrics_new();
	char *t = render(m, 1000);

	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_up 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE skyworker_batches_total counter\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_batches_total 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "skyworker_errors_total{kind=\"lost_position\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_paused 0\n"));
	/* nothing known yet: no lag, no last batch time, no tables */
	ck_assert_ptr_null(strstr(t, "skyworker_lag_seconds"));
	ck_assert_ptr_null(strstr(t, "skyworker_lag_ticks"));
	ck_assert_ptr_null(strstr(t, "skyworker_last_batch_timestamp_seconds"));
	ck_assert_ptr_null(strstr(t, "skyworker_table_state"));
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	free(t);
	sky_metrics_free(m);
}
END_TEST

START_TEST(test_batches_errors_lag)
{
	struct sky_metrics *m = sky_metrics_new();
	char *t;

	sky_metrics_batch_done(m, 10, 0.5, 1000.0, 3);
	sky_metrics_batch_done(m, 0, 0.25, 1002.0, 0);
	sky_metrics_error(m, SKY_METRICS_ERR_RETRYABLE);
	sky_metrics_error(m, SKY_METRICS_ERR_RETRYABLE);
	sky_metrics_error(m, SKY_METRICS_ERR_PERMANENT);
	sky_metrics_set_state(m, "app", "db2", "leaf", true);
	sky_metrics_batch_done(NULL, 1, 1, 1, 1); /* no registry: nothing */
	t = render(m, 1010.5);
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_batches_total 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_events_total 10\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_apply_seconds_total 0.75\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_lag_seconds 8.5\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_lag_ticks 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "skyworker_errors_total{kind=\"retryable\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "skyworker_errors_total{kind=\"permanent\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_paused 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "skyworker_info{cascade=\"app\",node=\"db2\",role=\"leaf\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nskyworker_last_batch_timestamp_seconds "));
	free(t);
	sky_metrics_free(m);
}
END_TEST

START_TEST(test_tables_and_escaping)
{
	struct sky_metrics *m = sky_metrics_new();
	struct sky_metrics_table tabs[] = {
	    {"public.a", "copying", 42},
	    {"odd.\"q\\uote\nd\"", "ok", -1},
	};
	char *t;

	sky_metrics_set_tables(m, tabs, 2);
	t = render(m, 0);
	ck_assert_ptr_nonnull(
	    strstr(t, "skyworker_table_state{table=\"public.a\",state=\"copying\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "skyworker_table_state{table=\"public.a\",state=\"ok\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "skyworker_copy_rows{table=\"public.a\"} 42\n"));
	ck_assert_ptr_nonnull(strstr(
	    t, "skyworker_table_state{table=\"odd.\\\"q\\\\uote\\nd\\\"\",state=\"ok\"} 1\n"));
	/* unknown progress: no sample */
	ck_assert_ptr_null(strstr(t, "skyworker_copy_rows{table=\"odd."));
	free(t);
	/* replaced, not appended */
	sky_metrics_set_tables(m, tabs, 1);
	t = render(m, 0);
	ck_assert_ptr_null(strstr(t, "odd."));
	free(t);
	sky_metrics_set_tables(m, NULL, 0);
	t = render(m, 0);
	ck_assert_ptr_null(strstr(t, "skyworker_table_state"));
	free(t);
	sky_metrics_free(m);
}
END_TEST

START_TEST(test_bad_listen)
{
	struct sky_metrics *m = sky_metrics_new();
	struct sky_error err;
	const char *bad[] = {"9187",        "127.0.0.1", "127.0.0.1:", ":9187",
	                     "127.0.0.1:x", "[::1]9187", "[::1"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_lt(sky_metrics_serve(m, bad[i], &err), 0);
		ck_assert_ptr_nonnull(strstr(err.message, "--metrics"));
	}
	sky_metrics_free(m);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_registry);
	tcase_add_test(tc, test_batches_errors_lag);
	tcase_add_test(tc, test_tables_and_escaping);
	tcase_add_test(tc, test_bad_listen);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
