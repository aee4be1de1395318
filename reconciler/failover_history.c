/*
 * failover_history: automatic failovers in the repository's recent history (see
 * failover_history.h). libgit2.
 */
#include "failover_history.h"

#include <git2.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static int git_fail(struct sky_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return sky_error_set(err, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

/* True when one line of msg is exactly FAILOVER_TRAILER. */
static bool has_trailer(const char *msg)
{
	size_t n = strlen(FAILOVER_TRAILER);

	for (const char *p = msg; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len == n && strncmp(p, FAILOVER_TRAILER, n) == 0)
			return true;
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

int failover_history_count(int *out, const struct source_opts *opts, int window_s,
                           struct sky_error *err)
{
	const char *ref = opts->ref ? opts->ref : SOURCE_DEFAULT_REF;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_revwalk *walk = NULL;
	git_oid oid;
	time_t since = time(NULL) - window_s;
	int count = 0;
	int ret = -1;

	git_libgit2_init();
	if (!opts->repo) {
		sky_error_set(err, "the failover history needs a repository (--repo)");
		goto out;
	}
	if (git_repository_open(&repo, opts->repo) < 0) {
		git_fail(err, "could not open the git repository");
		goto out;
	}
	if (git_revparse_single(&obj, repo, ref) < 0 || git_revwalk_new(&walk, repo) < 0) {
		git_fail(err, "could not read the history");
		goto out;
	}
	git_revwalk_simplify_first_parent(walk);
	if (git_revwalk_push(walk, git_object_id(obj)) < 0) {
		git_fail(err, "could not read the history");
		goto out;
	}
	while (git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;

		if (git_commit_lookup(&c, repo, &oid) < 0) {
			git_fail(err, "could not read the history");
			goto out;
		}
		if (git_commit_time(c) < since) {
			git_commit_free(c);
			break;
		}
		if (has_trailer(git_commit_message(c)))
			count++;
		git_commit_free(c);
	}
	*out = count;
	ret = 0;
out:
	git_revwalk_free(walk);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}
