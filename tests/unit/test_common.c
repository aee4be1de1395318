/*
 * Unit tests of common/: DSN redaction, errors, buffers. No database.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sky_error.h"
#include "sky_mem.h"
#include "sky_pg.h"

static void check_redact(const char *dsn, const char *expected)
{
	char *got = sky_dsn_redact(dsn);

	ck_assert_str_eq(got, expected);
	ck_assert_ptr_null(strstr(got, "s3cr3t"));
	free(got);
}

START_TEST(redact_keyword_value)
{
	check_redact("host=db1 port=5432 dbname=app", "host=db1 port=5432 dbname=app");
	check_redact("host=db1 password=s3cr3t dbname=app",
	             "host=db1 password=******** dbname=app");
	check_redact("password = s3cr3t host=db1", "password=******** host=db1");
	check_redact("host=db1 password='s3 cr3t \\' x' user=u",
	             "host=db1 password=******** user=u");
	check_redact("password=s3cr3t", "password=********");
	check_redact("", "");
}
END_TEST

START_TEST(redact_uri)
{
	check_redact("postgresql://u:s3cr3t@db1:5432/app", "postgresql://u:********@db1:5432/app");
	check_redact("postgres://u@db1/app?password=s3cr3t&sslmode=disable",
	             "postgres://u@db1/app?password=********&sslmode=disable");
	check_redact("postgresql://db1/app", "postgresql://db1/app");
}
END_TEST

START_TEST(error_prefix_and_retryable)
{
	struct sky_error err;

	sky_error_clear(&err);
	ck_assert_int_eq(sky_error_set(&err, "connection lost to %s", "db2"), -1);
	ck_assert_int_eq(sky_error_prefix(&err, "node \"%s\"", "db2"), -1);
	ck_assert_str_eq(err.message, "node \"db2\": connection lost to db2");
	ck_assert(sky_sqlstate_is_retryable("08006"));
	ck_assert(sky_sqlstate_is_retryable("40001"));
	ck_assert(sky_sqlstate_is_retryable("40P01"));
	ck_assert(!sky_sqlstate_is_retryable("23505"));
	ck_assert(!sky_sqlstate_is_retryable(""));
	ck_assert(!sky_sqlstate_is_retryable(NULL));
	/* a prefix that fills the buffer truncates, never overflows */
	{
		char big[SKY_ERROR_MSG_LEN * 2];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		sky_error_set(&err, "inner");
		sky_error_prefix(&err, "%s", big);
		ck_assert_uint_eq(strlen(err.message), SKY_ERROR_MSG_LEN - 1);
	}
}
END_TEST

START_TEST(buffer_grows_and_detaches)
{
	struct sky_buf b;
	char *s;
	int i;

	sky_buf_init(&b);
	for (i = 0; i < 1000; i++)
		sky_buf_addf(&b, "%d,", i);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	s = sky_buf_detach(&b);
	ck_assert_ptr_null(b.data);
	free(s);
	s = sky_pg_quote_ident("My \"T\"");
	ck_assert_str_eq(s, "\"My \"\"T\"\"\"");
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, redact_keyword_value);
	tcase_add_test(tc, redact_uri);
	tcase_add_test(tc, error_prefix_and_retryable);
	tcase_add_test(tc, buffer_grows_and_detaches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
