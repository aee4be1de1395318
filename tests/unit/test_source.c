/*
 * Unit tests of reconciler/source.c and topology_dsn.c: the loader every command uses, which is
 * the engine's topology parser followed by libpq's judgement of the dsns. No database.
 *
 * Runs in SKY_TEST_DATA (tests/unit/data), like test_topology.c, so file names in messages are
 * stable: every bad/NAME.yaml must fail with exactly the message in bad/NAME.yaml.expect, the
 * files of bad/libpq-only.txt included (test_topology.c, which links the engine alone, checks
 * those load there).
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sky_mem.h"
#include "source.h"
#include "topology.h"

/* The contents of path without trailing newlines, or NULL; caller frees. */
static char *read_text(const char *path)
{
	struct sky_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	sky_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&b, chunk, n);
	fclose(f);
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return sky_buf_detach(&b);
}

static int is_yaml(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 5 && strcmp(d->d_name + len - 5, ".yaml") == 0;
}

START_TEST(test_bad_files)
{
	struct dirent **list;
	size_t failures = 0;
	int n = scandir("bad", &list, is_yaml, alphasort);

	ck_assert_int_ge(n, 20);
	for (int i = 0; i < n; i++) {
		char *path = sky_asprintf("bad/%s", list[i]->d_name);
		char *expect_path = sky_asprintf("%s.expect", path);
		char *expect = read_text(expect_path);
		struct source_opts opts = {.file = path};
		struct topology *topo = NULL;
		struct sky_error err;
		int rc;

		sky_error_clear(&err);
		rc = source_topology_load(&topo, &opts, &err);
		if (!expect) {
			fprintf(stderr, "%s: missing %s\n", path, expect_path);
			failures++;
		} else if (rc != -1 || topo) {
			fprintf(stderr, "%s: loaded, expected: %s\n", path, expect);
			failures++;
		} else if (strcmp(err.message, expect) != 0) {
			fprintf(stderr, "%s:\n  got:      %s\n  expected: %s\n", path, err.message,
			        expect);
			failures++;
		}
		if (strstr(err.message, "secret")) {
			fprintf(stderr, "%s: the message shows a password: %s\n", path,
			        err.message);
			failures++;
		}
		topology_free(topo);
		free(expect);
		free(expect_path);
		free(path);
		free(list[i]);
	}
	free(list);
	ck_assert_msg(failures == 0, "%zu bad file(s) did not give the expected message", failures);
}
END_TEST

/* Write text to a new temporary file; its name is returned (caller unlinks and frees). */
static char *temp_file(const char *text)
{
	char *path = sky_strdup("/tmp/sky_test_sourceXXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A dsn libpq refuses: refused at its position, and the password never in the message. */
START_TEST(test_dsn_refused_secret_never_shown)
{
	static const struct {
		const char *text;
		int line, col;
	} cases[] = {
	    {"cascade: a\nnodes:\n  n: {role: root, dsn: \"password=secret host\"}\n", 3, 24},
	    {"cascade: a\nnodes:\n  n: {role: root, dsn: \"pasword=secret\"}\n", 3, 24},
	    {"cascade: a\nnodes:\n  n: {role: root, dsn: \"postgresql://u:secret@h/d?bad=1\"}\n", 3,
	     24},
	    {"cascade: a\nnodes:\n  n: {role: root, dsn: \"host='secret\"}\n", 3, 24},
	    {"cascade: a\nnodes:\n  n: {role: root, dsn: 'password=secret hots=x'}\n", 3, 24},
	    /* the first bad one in file order is named */
	    {"cascade: a\nnodes:\n  m: {role: root, dsn: \"dbname=m\"}\n"
	     "  n: {role: leaf, dsn: \"password=secret x\", provider: m}\n"
	     "  o: {role: leaf, dsn: \"y\", provider: m}\n",
	     4, 24},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = temp_file(cases[i].text);
		char *want = sky_asprintf("%s:%d:%d: invalid \"dsn\" in node \"n\"", path,
		                          cases[i].line, cases[i].col);
		struct source_opts opts = {.file = path};
		struct topology *topo = NULL;
		struct sky_error err;

		sky_error_clear(&err);
		ck_assert_int_eq(source_topology_load(&topo, &opts, &err), -1);
		ck_assert_ptr_null(topo);
		ck_assert_msg(strncmp(err.message, want, strlen(want)) == 0,
		              "case %zu: got %s, expected %s ...", i, err.message, want);
		ck_assert_msg(!strstr(err.message, "secret"), "case %zu shows the password: %s", i,
		              err.message);
		unlink(path);
		free(path);
		free(want);
	}
}
END_TEST

START_TEST(test_file_revision)
{
	/* -f: "file:" + the git blob id of the bytes, as `git hash-object` prints it */
	char path[] = "/tmp/sky_test_revXXXXXX";
	int fd = mkstemp(path);
	struct source_opts opts = {.file = path};
	struct source_revision rev;
	struct sky_error err;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	close(fd);
	memset(&rev, 0, sizeof(rev));
	sky_error_clear(&err);
	ck_assert_int_eq(source_revision_read(&rev, &opts, &err), 0);
	ck_assert_str_eq(rev.id, "file:ce013625030ba8dba906f756967f9e9ca394464a");
	ck_assert_str_eq(rev.short_id, "file:ce01362");
	ck_assert_str_eq(rev.subject, path);
	source_revision_release(&rev);
	unlink(path);
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_dsn_refused_secret_never_shown);
	tcase_add_test(tc, test_file_revision);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;
	const char *data_dir = getenv("SKY_TEST_DATA");

	if (!data_dir || chdir(data_dir) != 0) {
		fprintf(stderr, "test_source: set SKY_TEST_DATA to tests/unit/data\n");
		return 1;
	}
	sr = srunner_create(source_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
