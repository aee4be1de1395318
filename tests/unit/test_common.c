/*
 * Unit tests of common/: password masking, errors, buffers. No database.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sky_error.h"
#include "sky_mem.h"
#include "sky_pg.h"

static void check_scrub(const char *text, const char *expected)
{
	static const char *const dsns[] = {
	    "host=db1 password=s3cr3t dbname=app",
	    "host=db2 password='s3cr3t-longer x' user=u",
	    "postgresql://u:urip4ss@db3:5432/app",
	    "postgres://u@db4/app?password=qp4ss&sslmode=disable",
	    "host=db5 dbname=app",
	    NULL,
	};
	char *got = sky_text_scrub(text, (const char *const *)dsns, 6);

	ck_assert_str_eq(got, expected);
	free(got);
}

START_TEST(scrub_passwords)
{
	check_scrub("could not connect: password s3cr3t rejected",
	            "could not connect: password ******** rejected");
	/* the longest password where one begins another */
	check_scrub("auth s3cr3t-longer x failed", "auth ******** failed");
	check_scrub("uri urip4ss and query qp4ss", "uri ******** and query ********");
	check_scrub("no secret here", "no secret here");
	check_scrub("", "");
	check_scrub(NULL, "");
}
END_TEST

START_TEST(scrub_one_line)
{
	check_scrub("line one\n\tline two\r\n", "line one line two");
	check_scrub("a\n\nb", "a b");
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

	tcase_add_test(tc, scrub_passwords);
	tcase_add_test(tc, scrub_one_line);
	tcase_add_test(tc, error_prefix_and_retryable);
	tcase_add_test(tc, buffer_grows_and_detaches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
