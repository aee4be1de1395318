/*
 * test_gitwrite: committing a decision to git (reconciler/gitwrite.c) on repositories made in a
 * temporary directory with libgit2: a work tree (clean, or with a local edit), a bare one, the
 * compare-and-swap losing a race, and pushing to a bare "remote" (accepted, rejected because
 * the remote moved, refused, and a remote that never answers given up after the timeout).
 * Pulling is test_gitwrite_pull.c's; the helpers both use are gitwrite_fixture.c's. Git is no
 * database: no server is needed.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitwrite.h"
#include "gitwrite_fixture.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_time.h"

static struct gitwrite_req req_for(const char *dir, const char *expected, const char *content)
{
	return (struct gitwrite_req){
	    .repo_dir = dir,
	    .ref = NULL,
	    .path = "topology.yaml",
	    .expected_oid = expected,
	    .content = content,
	    .content_len = strlen(content),
	    .author_name = "skyreconcile",
	    .author_email = "skyreconcile@example.org",
	    .message = "failover: db1 is dead, db2 is the root\n\ndb2 branch tick 12: chosen\n",
	};
}

START_TEST(test_worktree_clean)
{
	char base[41], out[41], now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;
	git_repository *repo;
	git_commit *c;
	git_oid id;

	repo_make("wt", false, base);
	r = req_for(dir, base, TOPO_B);
	r.ref = "main";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(dir, now);
	ck_assert_str_eq(now, out);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	/* author, committer, message and parent as asked */
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	git_oid_fromstr(&id, out);
	ck_assert_int_eq(git_commit_lookup(&c, repo, &id), 0);
	ck_assert_str_eq(git_commit_author(c)->name, "skyreconcile");
	ck_assert_str_eq(git_commit_committer(c)->email, "skyreconcile@example.org");
	ck_assert_str_eq(git_commit_message(c), r.message);
	ck_assert_uint_eq(git_commit_parentcount(c), 1);
	ck_assert_int_eq(git_oid_streq(git_commit_parent_id(c, 0), base), 0);
	git_commit_free(c);
	git_repository_free(repo);
	/* the work tree followed: git status clean */
	ck_assert_uint_eq(status_count(dir, &flags), 0);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_local_edit_kept)
{
	static const char edit[] = TOPO_A "# a person's note, not committed\n";
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	repo_make("wt", false, base);
	write_file(file, edit);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	/* the person's file is untouched; the index follows the commit: only the work tree
	 * differs */
	s = read_file(file);
	ck_assert_str_eq(s, edit);
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_WT_MODIFIED);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_autocrlf)
{
	/* core.autocrlf: the commit has LF (as the edit made it from the blob), the working file
	 * gets CR LF as git would check it out, and git status stays clean */
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	git_checkout_options co;
	git_repository *repo;
	git_config *cfg;
	unsigned int flags;

	repo_make("wt", false, base);
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_repository_config(&cfg, repo), 0);
	ck_assert_int_eq(git_config_set_string(cfg, "core.autocrlf", "true"), 0);
	git_config_free(cfg);
	remove(file);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	ck_assert_int_eq(git_checkout_head(repo, &co), 0);
	git_repository_free(repo);
	s = read_file(file);
	ck_assert_ptr_nonnull(strstr(s, "app\r\n"));
	free(s);

	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, TOPO_B);
	free(s);
	s = read_file(file);
	ck_assert_str_eq(s, "cascade: app\r\nnodes:\r\n  db1: {role: root, dsn: \"host=h1\", dead: "
	                    "true}\r\n");
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 0);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_bare_and_crlf)
{
	static const char crlf[] = "cascade: app\r\nnodes:\r\n  db1: {role: root, dead: true}\r\n";
	char base[41], out[41], now[41];
	char *dir = tpath("bare.git"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("bare.git", true, base);
	r = req_for(dir, base, crlf);
	r.ref = "refs/heads/main";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(dir, now);
	ck_assert_str_eq(now, out);
	s = blob_at(dir, out);
	ck_assert_str_eq(s, crlf); /* the bytes as given */
	free(s);
	free(dir);
}
END_TEST

START_TEST(test_cas_race)
{
	char base[41], other[41], out[41] = "", now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	/* someone commits between the decision (made from base) and the commit */
	commit_on(dir, TOPO_C, other);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ck_assert_str_eq(out, "");
	ref_hex(dir, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A); /* nothing written */
	free(s);
	free(file);
	free(dir);
}
END_TEST

static char moved_to[41];

/* The hook: someone commits in the window between the commit object and the ref update. */
static void move_ref(const char *repo_dir, const char *refname)
{
	ck_assert_str_eq(refname, "refs/heads/main");
	commit_on(repo_dir, TOPO_C, moved_to);
}

START_TEST(test_cas_race_in_window)
{
	char base[41], out[41] = "", now[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	gitwrite_test_before_swap = move_ref;
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	gitwrite_test_before_swap = NULL;
	ck_assert_str_eq(out, "");
	ref_hex(dir, now);
	ck_assert_str_eq(now, moved_to); /* the other commit stays, ours is not on the ref */
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A);
	free(s);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_worktree_staged_kept)
{
	static const char staged[] = TOPO_A "# staged by a person\n";
	char base[41], out[41];
	char *dir = tpath("wt"), *file = tpath("wt/topology.yaml"), *s;
	struct gitwrite_req r;
	struct sky_error err;
	git_repository *repo;
	git_index *index;
	unsigned int flags;

	repo_make("wt", false, base);
	write_file(file, staged);
	ck_assert_int_eq(git_repository_open(&repo, dir), 0);
	ck_assert_int_eq(git_repository_index(&index, repo), 0);
	ck_assert_int_eq(git_index_add_bypath(index, "topology.yaml"), 0);
	ck_assert_int_eq(git_index_write(index), 0);
	git_index_free(index);
	git_repository_free(repo);
	r = req_for(dir, base, TOPO_B);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	/* the staged content is neither lost nor overwritten: index and file as the person left
	 * them */
	s = read_file(file);
	ck_assert_str_eq(s, staged);
	free(s);
	ck_assert_uint_eq(status_count(dir, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_INDEX_MODIFIED);
	free(file);
	free(dir);
}
END_TEST

START_TEST(test_push_ok)
{
	char base[41], out[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_OK, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, out);
	ref_hex(clone, now);
	ck_assert_str_eq(now, out);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	/* origin/main follows, as after a git push */
	tracking_hex(clone, now);
	ck_assert_str_eq(now, out);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_rejected)
{
	char base[41], other[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *url, *s;
	struct gitwrite_req r;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	/* another watcher pushed first */
	commit_on(remote, TOPO_C, other);
	url = sky_asprintf("file://%s", remote);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = url;
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ck_assert_str_eq(out, "");
	/* not forced: the remote keeps the other commit */
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	/* the local commit is off the ref, which caught up with the remote to be re-read */
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_C);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	free(url);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_rejected_known)
{
	/* the remote's new commit was already fetched: libgit2 sees the push is no fast-forward */
	char base[41], other[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_req r;
	struct sky_error err;
	git_remote_create_options o;
	git_repository *repo;
	git_remote *origin;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	ck_assert_int_eq(git_repository_open(&repo, clone), 0);
	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
	ck_assert_int_eq(git_remote_create_with_opts(&origin, remote, &o), 0);
	fetch(repo, origin);
	git_remote_free(origin);
	git_repository_free(repo);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	r.ref = "HEAD";
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_commit(&r, out, &err) == GITWRITE_RACE, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_push_refused_rolls_back)
{
	/* the remote refuses the update for another reason (its ref is locked): an error, and
	 * the local ref goes back to where it was */
	char base[41], out[41] = "", now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *lockf = tpath("remote.git/refs/heads/main.lock"),
	     *file = tpath("clone/topology.yaml");
	char *s;
	struct gitwrite_req r;
	struct sky_error err;

	remote_and_clone(base);
	write_file(lockf, "");
	r = req_for(clone, base, TOPO_B);
	r.push_remote = "origin";
	sky_error_clear(&err);
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_msg(strstr(err.message, "push") != NULL, "%s", err.message);
	ref_hex(remote, now);
	ck_assert_str_eq(now, base);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_A);
	free(s);
	free(file);
	free(lockf);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_bad_requests)
{
	char base[41], out[41];
	char *dir = tpath("wt");
	struct gitwrite_req r;
	struct sky_error err;

	repo_make("wt", false, base);
	r = req_for(dir, "abc", TOPO_B);
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "not a full commit id"));
	r = req_for(dir, base, TOPO_B);
	r.ref = base; /* a commit id is not a ref */
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "is not a branch or reference"));
	r.ref = "refs/tags/nope";
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	r = req_for(dir, base, TOPO_A); /* no change */
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "nothing to commit"));
	r = req_for(dir, base, TOPO_B);
	r.push_remote = "https://user:secret@127.0.0.1:1/x.git";
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	ck_assert_ptr_null(strstr(err.message, "secret"));
	ref_hex(dir, out); /* a failed push leaves the ref where it was */
	ck_assert_str_eq(out, base);
	free(dir);
}
END_TEST

START_TEST(test_push_remote_hangs)
{
	/* the policy's push to a remote that never answers is given up: an error, and the
	 * commit is taken off the ref again */
	char base[41], out[41] = "", now[41];
	char *clone = tpath("clone"), *url;
	struct gitwrite_req r;
	struct sky_error err;
	long long t0, took;
	int fds[2], port;

	remote_and_clone(base);
	hole_open(fds, &port, false);
	url = sky_asprintf("git://127.0.0.1:%d/x", port);
	r = req_for(clone, base, TOPO_B);
	r.push_remote = url;
	r.timeout_ms = 500;
	sky_error_clear(&err);
	t0 = sky_now_ms();
	ck_assert_int_eq(gitwrite_commit(&r, out, &err), GITWRITE_ERROR);
	took = sky_now_ms() - t0;
	ck_assert_msg(took >= 450 && took < 2500, "given up after %lld ms", took);
	ck_assert_msg(strstr(err.message, "could not push") && strstr(err.message, "no answer"),
	              "%s", err.message);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	hole_close(fds);
	free(url);
	free(clone);
}
END_TEST

static Suite *gitwrite_suite(void)
{
	Suite *s = suite_create("gitwrite");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_worktree_clean);
	tcase_add_test(tc, test_worktree_local_edit_kept);
	tcase_add_test(tc, test_worktree_autocrlf);
	tcase_add_test(tc, test_bare_and_crlf);
	tcase_add_test(tc, test_cas_race);
	tcase_add_test(tc, test_cas_race_in_window);
	tcase_add_test(tc, test_worktree_staged_kept);
	tcase_add_test(tc, test_push_ok);
	tcase_add_test(tc, test_push_rejected);
	tcase_add_test(tc, test_push_rejected_known);
	tcase_add_test(tc, test_push_refused_rolls_back);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_push_remote_hangs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gitwrite_suite());
	int failed;

	sky_log_set_level(getenv("SKY_TEST_VERBOSE") ? SKY_LOG_DEBUG : SKY_LOG_WARNING);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
