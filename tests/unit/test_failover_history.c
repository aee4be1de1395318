/*
 * test_failover_history: the anti-flap count of the failover policy
 * (reconciler/failover_history.c) on a repository made in a temporary directory with libgit2:
 * commits at chosen times, with and without the trailer line. Git is no database: no server.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "failover_history.h"
#include "sky_mem.h"

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A commit on refs/heads/main, `ago` seconds old, on top of the branch's tip. */
static void commit_at(git_repository *repo, long ago, const char *message)
{
	git_treebuilder *tb = NULL;
	git_oid tree_oid, oid, parent_oid;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	const git_commit *parents[1];
	size_t n_parents = 0;

	ck_assert_int_eq(git_treebuilder_new(&tb, repo, NULL), 0);
	ck_assert_int_eq(git_treebuilder_write(&tree_oid, tb), 0);
	ck_assert_int_eq(git_tree_lookup(&tree, repo, &tree_oid), 0);
	ck_assert_int_eq(git_signature_new(&sig, "t", "t@example.com", time(NULL) - ago, 0), 0);
	if (git_reference_name_to_id(&parent_oid, repo, "refs/heads/main") == 0) {
		ck_assert_int_eq(git_commit_lookup(&parent, repo, &parent_oid), 0);
		parents[n_parents++] = parent;
	}
	ck_assert_int_eq(git_commit_create(&oid, repo, "refs/heads/main", sig, sig, NULL, message,
	                                   tree, n_parents, parents),
	                 0);
	git_commit_free(parent);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
}

START_TEST(test_count_in_window)
{
	git_repository *repo = NULL;
	struct source_opts opts;
	struct sky_error err;
	int n = -1;

	strcpy(tmpdir, "/tmp/sky_fohist_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	git_libgit2_init();
	ck_assert_int_eq(git_repository_init(&repo, tmpdir, 1), 0);
	ck_assert_int_eq(git_repository_set_head(repo, "refs/heads/main"), 0);
	commit_at(repo, 4 * 3600, "cascade");
	commit_at(repo, 2 * 3600, "failover: old\n\nSkycascade-Failover: automatic\n");
	commit_at(repo, 600,
	          "failover: recent\n\nSkycascade-Failover: automatic\nSkycascade-Dead: a\n");
	commit_at(repo, 300, "failover: by hand\n\nSkycascade-Failover: override\n");
	commit_at(repo, 200, "a note: Skycascade-Failover: automatic is the trailer\n");
	commit_at(repo, 100, "policy edit\n");
	git_repository_free(repo);

	memset(&opts, 0, sizeof(opts));
	opts.repo = tmpdir;
	sky_error_clear(&err);
	ck_assert_msg(failover_history_count(&n, &opts, 3600, &err) == 0, "%s", err.message);
	ck_assert_int_eq(n, 1); /* the override and the mention are not counted */
	ck_assert_int_eq(failover_history_count(&n, &opts, 3 * 3600, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(failover_history_count(&n, &opts, 60, &err), 0);
	ck_assert_int_eq(n, 0);
	opts.ref = "no-such-ref";
	ck_assert_int_eq(failover_history_count(&n, &opts, 3600, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "could not read the history"));

	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	git_libgit2_shutdown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("failover_history");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_count_in_window);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
