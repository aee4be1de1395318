/*
 * test_gitwrite_pull: watch --pull's fetch and fast-forward (reconciler/gitwrite_pull.c) from a
 * bare "remote" made with libgit2 (gitwrite_fixture.c): fast-forward, a local edit kept, a
 * local branch ahead or diverged left alone, the remote missing, a remote that never answers
 * given up after the timeout with nothing left in the repository, a dead process's quarantine
 * removed, and the fetch in the background as watch runs it. Git is no database: no server is
 * needed.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <git2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gitwrite.h"
#include "gitwrite_fixture.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_time.h"

START_TEST(test_pull_fast_forward)
{
	/* another clone pushed: the pull moves the ref, the work tree and origin/main */
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *s;
	struct gitwrite_pull_info info;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_UP_TO_DATE,
	              "%s", err.message);
	ck_assert_str_eq(info.local, base);
	ck_assert_str_eq(info.refname, "refs/heads/main");
	commit_on(remote, TOPO_C, other);
	ck_assert_msg(gitwrite_pull(&info, clone, "main", "origin", 0, &err) ==
	                  GITWRITE_PULL_FORWARDED,
	              "%s", err.message);
	ck_assert_str_eq(info.local, other);
	ck_assert_str_eq(info.remote, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, TOPO_C);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 0);
	/* and again: nothing to do */
	ck_assert_int_eq(gitwrite_pull(&info, clone, "HEAD", "origin", 0, &err),
	                 GITWRITE_PULL_UP_TO_DATE);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_local_edit_kept)
{
	/* an uncommitted edit in the clone: the ref follows the remote, the edit stays */
	static const char edit[] = TOPO_A "# a person's note, not committed\n";
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	char *file = tpath("clone/topology.yaml"), *s;
	struct gitwrite_pull_info info;
	struct sky_error err;
	unsigned int flags;

	remote_and_clone(base);
	write_file(file, edit);
	commit_on(remote, TOPO_C, other);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_FORWARDED,
	              "%s", err.message);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	s = read_file(file);
	ck_assert_str_eq(s, edit);
	free(s);
	ck_assert_uint_eq(status_count(clone, &flags), 1);
	ck_assert_uint_eq(flags, GIT_STATUS_WT_MODIFIED);
	free(file);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_ahead_and_diverged)
{
	/* a local commit not on the remote: never reset, never merged; reported */
	char base[41], mine[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(clone, TOPO_B, mine);
	sky_error_clear(&err);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) == GITWRITE_PULL_AHEAD,
	              "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, base);
	commit_on(remote, TOPO_C, other);
	ck_assert_msg(gitwrite_pull(&info, clone, NULL, "origin", 0, &err) ==
	                  GITWRITE_PULL_DIVERGED,
	              "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, other);
	ref_hex(clone, now);
	ck_assert_str_eq(now, mine);
	ref_hex(remote, now);
	ck_assert_str_eq(now, other);
	/* what the remote has is known (origin/main), the local branch is left alone */
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_remote_missing)
{
	/* the remote is gone for a while: a retryable error, nothing changed; then it is back */
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *gone = tpath("gone.git"), *clone = tpath("clone");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	ck_assert_int_eq(rename(remote, gone), 0);
	sky_error_clear(&err);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err), GITWRITE_PULL_ERROR);
	ck_assert_msg(strstr(err.message, "could not fetch") != NULL, "%s", err.message);
	ck_assert(err.retryable);
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	/* a URL's password is never shown */
	ck_assert_int_eq(
	    gitwrite_pull(&info, clone, NULL, "https://user:secret@127.0.0.1:1/x.git", 0, &err),
	    GITWRITE_PULL_ERROR);
	ck_assert_ptr_null(strstr(err.message, "secret"));
	ck_assert(err.retryable);
	/* back: the next pull catches up; a path names a remote too */
	ck_assert_int_eq(rename(gone, remote), 0);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err),
	                 GITWRITE_PULL_FORWARDED);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, clone, 0, &err),
	                 GITWRITE_PULL_UP_TO_DATE);
	/* not a branch: a permanent error */
	ck_assert_int_eq(gitwrite_pull(&info, clone, other, "origin", 0, &err),
	                 GITWRITE_PULL_ERROR);
	ck_assert_ptr_nonnull(strstr(err.message, "is not a branch or reference"));
	ck_assert(!err.retryable);
	free(gone);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_remote_hangs)
{
	/* git:// and http:// peers that accept and never answer, and one that drops the SYN: the
	 * fetch is given up after its timeout (retryable), and nothing in the repository moved */
	static const char *const schemes[] = {"git", "http", "git"};
	char base[41], other[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone"), *gitdir = tpath("clone/.git");
	struct gitwrite_pull_info info;
	struct sky_error err;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	for (int i = 0; i < 3; i++) {
		char *before = listing(gitdir), *after, *url;
		long long t0 = sky_now_ms(), took;
		int fds[2], port;

		hole_open(fds, &port, i == 2);
		url = sky_asprintf("%s://127.0.0.1:%d/x.git", schemes[i], port);
		sky_error_clear(&err);
		ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, url, 500, &err),
		                 GITWRITE_PULL_ERROR);
		took = sky_now_ms() - t0;
		ck_assert_msg(took >= 450 && took < 2500, "%s: given up after %lld ms", url, took);
		ck_assert_msg(strstr(err.message, "no answer within 0.5 s") != NULL, "%s",
		              err.message);
		ck_assert(err.retryable);
		after = listing(gitdir);
		ck_assert_str_eq(after, before);
		hole_close(fds);
		free(url);
		free(after);
		free(before);
	}
	ref_hex(clone, now);
	ck_assert_str_eq(now, base);
	/* the remote answers again: the next pull catches up */
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 1000, &err),
	                 GITWRITE_PULL_FORWARDED);
	ref_hex(clone, now);
	ck_assert_str_eq(now, other);
	free(gitdir);
	free(remote);
	free(clone);
}
END_TEST

START_TEST(test_pull_stale_quarantine_removed)
{
	/* a watcher killed while fetching left its quarantine: the next fetch removes it; one of
	 * a process still alive (this one's parent) stays */
	char base[41], other[41];
	char *clone, *remote, *stale, *alive;
	struct gitwrite_pull_info info;
	struct sky_error err;
	struct stat st;
	pid_t pid = fork(); /* before anything is allocated: the child leaks nothing */

	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid); /* a pid nobody has now */
	clone = tpath("clone");
	remote = tpath("remote.git");
	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	stale = sky_asprintf("%s/.git/objects/tmp_skyreconcile_fetch_%ld_abcdef", clone, (long)pid);
	alive = sky_asprintf("%s/.git/objects/tmp_skyreconcile_fetch_%ld_abcdef", clone,
	                     (long)getppid());
	ck_assert_int_eq(mkdir(stale, 0700), 0);
	ck_assert_int_eq(mkdir(alive, 0700), 0);
	ck_assert_int_eq(gitwrite_pull(&info, clone, NULL, "origin", 0, &err),
	                 GITWRITE_PULL_FORWARDED);
	ck_assert_int_ne(stat(stale, &st), 0);
	ck_assert_int_eq(stat(alive, &st), 0);
	free(alive);
	free(stale);
	free(remote);
	free(clone);
}
END_TEST

/* Wait for job's answer as watch does (poll its pipe up to the deadline, then look). */
static int job_wait(struct gitwrite_pull_job *job, struct gitwrite_pull_info *info,
                    struct sky_error *err)
{
	int rc;

	while ((rc = gitwrite_pull_check(job, info, err)) == GITWRITE_PULL_PENDING) {
		struct pollfd pfd = {.fd = gitwrite_pull_job_fd(job), .events = POLLIN};
		long long left = gitwrite_pull_job_deadline(job) - sky_now_ms();

		poll(&pfd, 1, left > 0 ? (int)left : 0);
	}
	return rc;
}

START_TEST(test_pull_background)
{
	/* the fetch in the background: a look never waits for a remote that hangs; the job freed
	 * while in flight, or given up at its deadline, leaves nothing (no file, no child); the
	 * fast-forward starts from where the local ref is when the answer is used */
	char base[41], other[41], mine[41], now[41];
	char *remote = tpath("remote.git"), *clone = tpath("clone"), *gitdir = tpath("clone/.git");
	char *before, *after, *url;
	struct gitwrite_pull_job *job = NULL;
	struct gitwrite_pull_info info;
	struct sky_error err;
	long long t0, took;
	int fds[2], port;

	remote_and_clone(base);
	commit_on(remote, TOPO_C, other);
	hole_open(fds, &port, false);
	url = sky_asprintf("git://127.0.0.1:%d/x.git", port);
	before = listing(gitdir);
	sky_error_clear(&err);
	/* freed while it runs: the child killed and reaped, the quarantine removed */
	ck_assert_msg(gitwrite_pull_start(&job, clone, NULL, url, 5000, &err) == 0, "%s",
	              err.message);
	t0 = sky_now_ms();
	ck_assert_int_eq(gitwrite_pull_check(job, &info, &err), GITWRITE_PULL_PENDING);
	ck_assert_int_ge(gitwrite_pull_job_fd(job), 0);
	ck_assert_int_gt(gitwrite_pull_job_deadline(job), sky_now_ms() + 4000);
	gitwrite_pull_job_free(job);
	took = sky_now_ms() - t0;
	ck_assert_msg(took < 1000, "a look and a free took %lld ms", took);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* no child left, not even a zombie */
	after = listing(gitdir);
	ck_assert_str_eq(after, before);
	free(after);
	/* given up at the deadline by the look after it */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, NULL, url, 500, &err), 0);
	t0 = sky_now_ms();
	ck_assert_int_eq(job_wait(job, &info, &err), GITWRITE_PULL_ERROR);
	took = sky_now_ms() - t0;
	ck_assert_msg(took >= 450 && took < 2500, "given up after %lld ms", took);
	ck_assert_msg(strstr(err.message, "no answer within 0.5 s") != NULL, "%s", err.message);
	ck_assert(err.retryable);
	ck_assert_str_eq(info.refname, "refs/heads/main");
	ck_assert_int_eq(gitwrite_pull_check(job, &info, &err), GITWRITE_PULL_ERROR); /* ended */
	gitwrite_pull_job_free(job);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	after = listing(gitdir);
	ck_assert_str_eq(after, before);
	free(after);
	/* not a branch: refused at the start, before any child */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, other, "origin", 0, &err), -1);
	ck_assert(!err.retryable);
	/* a local commit made while the fetch runs: the remote's commit is compared with it */
	ck_assert_int_eq(gitwrite_pull_start(&job, clone, NULL, "origin", 0, &err), 0);
	commit_on(clone, TOPO_B, mine);
	ck_assert_msg(job_wait(job, &info, &err) == GITWRITE_PULL_DIVERGED, "%s", err.message);
	ck_assert_str_eq(info.local, mine);
	ck_assert_str_eq(info.remote, other);
	gitwrite_pull_job_free(job);
	ref_hex(clone, now);
	ck_assert_str_eq(now, mine);
	tracking_hex(clone, now);
	ck_assert_str_eq(now, other);
	gitwrite_pull_job_free(NULL);
	hole_close(fds);
	free(before);
	free(url);
	free(gitdir);
	free(remote);
	free(clone);
}
END_TEST

static Suite *gitwrite_pull_suite(void)
{
	Suite *s = suite_create("gitwrite_pull");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pull_fast_forward);
	tcase_add_test(tc, test_pull_local_edit_kept);
	tcase_add_test(tc, test_pull_ahead_and_diverged);
	tcase_add_test(tc, test_pull_remote_missing);
	tcase_add_test(tc, test_pull_remote_hangs);
	tcase_add_test(tc, test_pull_stale_quarantine_removed);
	tcase_add_test(tc, test_pull_background);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gitwrite_pull_suite());
	int failed;

	sky_log_set_level(getenv("SKY_TEST_VERBOSE") ? SKY_LOG_DEBUG : SKY_LOG_WARNING);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
