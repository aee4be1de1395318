/*
 * gitwrite_pull: watch --pull's fetch of the followed branch and its fast-forward (see
 * gitwrite.h). The catch-up of gitwrite_commit's step 4 on its own: the same fetch
 * (gw_fetch_start / gw_fetch_end, a child bounded by a deadline writing into a quarantine) and
 * the same compare-and-swap fast-forward with the work tree following (gw_fast_forward), from
 * whatever the local ref points at; a local ref ahead of the remote or diverged from it is only
 * reported. gitwrite_pull_start / gitwrite_pull_check are the pull split at the fetch, for
 * watch's loop, which goes on while the child fetches: the repository is opened again when
 * the answer is used, and the fast-forward starts from where the local ref is then.
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitbound.h"
#include "gitwrite.h"
#include "gitwrite_internal.h"
#include "sky_mem.h"

/* A watch --pull fetch in flight (gitwrite.h). */
struct gitwrite_pull_job {
	struct fetch fetch;
	char *repo_dir, *refname, *remote_name, *shown; /* owned */
	struct gitwrite_pull_info info;                 /* refname, local as at the start */
};

int gitwrite_pull_start(struct gitwrite_pull_job **out, const char *repo_dir, const char *ref,
                        const char *remote_name, int timeout_ms, struct sky_error *err)
{
	struct gitwrite_pull_job *job = sky_calloc(1, sizeof(*job));
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_oid ours;
	int ret = -1;

	git_libgit2_init();
	job->fetch.child.fd = -1;
	job->shown = gitwrite_remote_shown(remote_name ? remote_name : "");
	if (!repo_dir || !remote_name) {
		sky_error_set(err, "gitwrite_pull: repo_dir and the remote are required");
		goto out;
	}
	job->repo_dir = sky_strdup(repo_dir);
	job->remote_name = sky_strdup(remote_name);
	if (git_repository_open(&repo, repo_dir) < 0) {
		gw_fail(err, "could not open git repository \"%s\"", repo_dir);
		goto out;
	}
	if (gw_ref_resolve(&job->refname, repo, ref, err) < 0)
		goto out;
	snprintf(job->info.refname, sizeof(job->info.refname), "%s", job->refname);
	if (git_reference_name_to_id(&ours, repo, job->refname) < 0) {
		gw_fail(err, "could not read \"%s\"", job->refname);
		goto out;
	}
	git_oid_tostr(job->info.local, sizeof(job->info.local), &ours);
	if (gw_remote_open(&remote, repo, remote_name, false) < 0) {
		gw_fail(err, "could not use remote \"%s\"", job->shown);
		goto out;
	}
	/* the child has its own copy of repo and remote: the parent's are freed at once */
	if (gw_fetch_start(&job->fetch, repo, remote, job->shown, job->refname,
	                   timeout_ms > 0 ? timeout_ms : GITWRITE_TIMEOUT_DEFAULT_MS, err) < 0)
		goto out;
	*out = job;
	job = NULL;
	ret = 0;
out:
	gitwrite_pull_job_free(job);
	git_remote_free(remote);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

int gitwrite_pull_job_fd(const struct gitwrite_pull_job *job)
{
	return job->fetch.child.fd;
}

long long gitwrite_pull_job_deadline(const struct gitwrite_pull_job *job)
{
	return job->fetch.child.deadline_ms;
}

void gitwrite_pull_job_free(struct gitwrite_pull_job *job)
{
	if (!job)
		return;
	gw_fetch_release(&job->fetch);
	free(job->repo_dir);
	free(job->refname);
	free(job->remote_name);
	free(job->shown);
	free(job);
}

/*
 * The child of job ended (rc as gitbound_check returned it, r its answer when rc is 0): move
 * the objects in and the ref forward from where it is now, as gitwrite_pull does. The child is
 * gone and the quarantine removed afterwards, whatever the result.
 */
static int pull_finish(struct gitwrite_pull_job *job, int rc, const struct gitbound_result *r,
                       struct gitwrite_pull_info *out, struct sky_error *err)
{
	git_repository *repo = NULL;
	git_oid ours, theirs;
	int ret = GITWRITE_PULL_ERROR;

	git_libgit2_init();
	*out = job->info;
	if (rc < 0)
		goto out;
	if (git_repository_open(&repo, job->repo_dir) < 0) {
		gw_fail(err, "could not open git repository \"%s\"", job->repo_dir);
		goto out;
	}
	if (gw_fetch_end(&theirs, &job->fetch, r, repo, job->remote_name, job->refname, err) < 0)
		goto out;
	git_oid_tostr(out->remote, sizeof(out->remote), &theirs);
	/* the local ref as it is now: it may have moved while the fetch ran (a commit) */
	if (git_reference_name_to_id(&ours, repo, job->refname) < 0) {
		gw_fail(err, "could not read \"%s\"", job->refname);
		goto out;
	}
	git_oid_tostr(out->local, sizeof(out->local), &ours);
	if (git_oid_equal(&theirs, &ours)) {
		ret = GITWRITE_PULL_UP_TO_DATE;
		goto out;
	}
	rc = git_graph_descendant_of(repo, &theirs, &ours);
	if (rc == 1) {
		rc = gw_fast_forward(repo, job->refname, &ours, &theirs, job->shown,
		                     "skyreconcile: fast-forward to the remote", err);
		if (rc == FF_ERROR)
			goto out;
		if (rc == FF_MOVED)
			memcpy(out->local, out->remote, sizeof(out->local));
		/* FF_RACE: the local ref moved meanwhile (a commit, a push's catch-up): the next
		 * pull looks again */
		ret = rc == FF_MOVED ? GITWRITE_PULL_FORWARDED : GITWRITE_PULL_UP_TO_DATE;
		goto out;
	}
	if (rc == 0)
		rc = git_graph_descendant_of(repo, &ours, &theirs);
	if (rc < 0) {
		gw_fail(err, "could not compare \"%s\" with \"%s\" on \"%s\"", job->refname,
		        job->refname, job->shown);
		goto out;
	}
	ret = rc == 1 ? GITWRITE_PULL_AHEAD : GITWRITE_PULL_DIVERGED;
out:
	gw_fetch_release(&job->fetch);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

int gitwrite_pull_check(struct gitwrite_pull_job *job, struct gitwrite_pull_info *out,
                        struct sky_error *err)
{
	struct gitbound_result r;
	int rc;

	if (job->fetch.child.pid <= 0 && !job->fetch.quarantine) {
		*out = job->info;
		sky_error_set(err, "gitwrite_pull_check: the fetch has ended already");
		return GITWRITE_PULL_ERROR;
	}
	rc = gitbound_check(&r, &job->fetch.child, err);
	if (rc == GITBOUND_PENDING)
		return GITWRITE_PULL_PENDING;
	return pull_finish(job, rc, &r, out, err);
}

int gitwrite_pull(struct gitwrite_pull_info *out, const char *repo_dir, const char *ref,
                  const char *remote_name, int timeout_ms, struct sky_error *err)
{
	struct gitwrite_pull_job *job = NULL;
	struct gitbound_result r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (gitwrite_pull_start(&job, repo_dir, ref, remote_name, timeout_ms, err) < 0)
		return GITWRITE_PULL_ERROR;
	rc = gitbound_wait(&r, &job->fetch.child, err);
	rc = pull_finish(job, rc, &r, out, err);
	gitwrite_pull_job_free(job);
	return rc;
}
