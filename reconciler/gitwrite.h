/*
 * gitwrite: commit a new topology.yaml to the repository skyreconcile watch follows, with a
 * compare-and-swap on the ref, and optionally push it (docs/reconciler.md, "Writing a decision
 * back to git"); fetch the followed ref and fast-forward to it (watch --pull). libgit2.
 */
#ifndef SKY_GITWRITE_H
#define SKY_GITWRITE_H

#include <stddef.h>

#include "sky_error.h"

struct gitwrite_req {
	const char *repo_dir; /* the repository skyreconcile watch --repo follows */
	const char *ref;      /* the ref it follows, as --ref names it ("main", "refs/heads/main",
	                         "HEAD"); NULL or "HEAD" = the branch HEAD points at. It must
	                         name a branch-like reference, not a commit id */
	const char *path;     /* topology.yaml's path in the tree (--path); NULL = topology.yaml */
	const char *expected_oid; /* hex commit the decision was made from: the ref must still
	                             point there */
	const char *content;      /* the new file (borrowed) */
	size_t content_len;
	const char *author_name, *author_email; /* the reconciler's identity (committer too) */
	const char *message;                    /* the evidence (subject line + body), whole */
	const char *push_remote; /* NULL: no push; else push the ref to this remote (a name or a
	                            URL) after the commit */
	int timeout_ms; /* how long the push, and the fetch after a rejected one, may take each
	                   (0: GITWRITE_TIMEOUT_DEFAULT_MS); a late one is given up (an error) */
};

/* The default bound of one transfer with a remote (watch's --pull-timeout default). */
#define GITWRITE_TIMEOUT_DEFAULT_MS 20000

enum gitwrite_result { GITWRITE_ERROR = -1, GITWRITE_OK = 0, GITWRITE_RACE = 1 };

/*
 * Commit content as path on ref, parent expected_oid, updating the ref only if it still
 * points at expected_oid (compare-and-swap). If the ref moved, or the push is rejected as
 * non-fast-forward: GITWRITE_RACE and nothing forced; after a rejected push the local ref is
 * back at expected_oid, the remote's ref is fetched and the local ref fast-forwarded to it when
 * it descends from expected_oid, so the caller re-reads and re-decides. GITWRITE_ERROR with err
 * set on any other failure (a failed push also puts the ref back: a commit that is not on the
 * remote never stays on the ref). out_oid gets the new commit's hex id (NUL-terminated) on
 * GITWRITE_OK. A non-bare repository whose checked-out branch is the ref also gets its index
 * and working file updated when they were clean for path; local edits of the working file are
 * kept (and logged). libgit2 is initialised and shut down inside (balanced).
 */
int gitwrite_commit(const struct gitwrite_req *req, char out_oid[41], struct sky_error *err);

/* What gitwrite_pull found (hex ids NUL-terminated; "" when not known). */
struct gitwrite_pull_info {
	char refname[256]; /* the full name of the ref followed ("refs/heads/main") */
	char local[41];    /* the local ref's commit, after the pull */
	char remote[41];   /* the remote's commit for the same ref */
};

enum gitwrite_pull_result {
	GITWRITE_PULL_ERROR = -1,
	GITWRITE_PULL_UP_TO_DATE = 0, /* the same commit on both sides (or the local ref moved
	                                 during the pull: the next pull looks again) */
	GITWRITE_PULL_FORWARDED = 1,  /* the local ref was fast-forwarded to the remote's */
	GITWRITE_PULL_AHEAD = 2,      /* local commits the remote does not have, the remote's
	                                 commit is an ancestor: nothing changed */
	GITWRITE_PULL_DIVERGED = 3,   /* each side has commits the other lacks: nothing changed */
	GITWRITE_PULL_PENDING = 4,    /* gitwrite_pull_check: the fetch is still running */
};

/*
 * Fetch ref (as gitwrite_req.ref names it: NULL or "HEAD" = the branch HEAD points at) from
 * remote_name (a configured remote's name, its url, or a URL or path; the remote's ref of the
 * same name) into repo_dir and fast-forward the local ref to it when the remote's commit
 * descends from the local one (a compare-and-swap, as gitwrite_commit moves it). Never a
 * merge, never a reset: a local ref ahead of the remote or diverged from it is reported and
 * left as it is. A work tree checked out on the ref follows as after gitwrite_commit (files
 * with local edits kept, and logged). A configured remote's remote-tracking ref follows what
 * was fetched. *out is filled as far as known, also on errors once the fetch has started. On
 * GITWRITE_PULL_ERROR err is set; err->retryable is true when the remote could not be read (it may
 * answer next time), false for a ref that is no branch or a repository that cannot be opened. The
 * fetch is given up after timeout_ms (0: GITWRITE_TIMEOUT_DEFAULT_MS), a retryable error ("no
 * answer within 20 s"), and then leaves nothing in the repository (gitbound.h). A URL's password
 * never appears in err. libgit2 is initialised and shut down inside (balanced).
 */
int gitwrite_pull(struct gitwrite_pull_info *out, const char *repo_dir, const char *ref,
                  const char *remote_name, int timeout_ms, struct sky_error *err);

/*
 * The same pull in the background (watch --pull: the loop goes on while the remote is slow).
 * gitwrite_pull_start checks what it can at once (the repository, the ref, the remote's name:
 * the non-retryable errors of gitwrite_pull) and starts the fetch in a child (gitbound.h); 0 and
 * *out (caller frees with gitwrite_pull_job_free), or -1 with err set as gitwrite_pull sets it.
 * Nothing in the repository changes until gitwrite_pull_check sees the child's answer.
 */
struct gitwrite_pull_job;

int gitwrite_pull_start(struct gitwrite_pull_job **out, const char *repo_dir, const char *ref,
                        const char *remote_name, int timeout_ms, struct sky_error *err);

/*
 * Look at job without blocking (poll gitwrite_pull_job_fd for POLLIN to know when to):
 * GITWRITE_PULL_PENDING while the fetch runs and its deadline is ahead; otherwise the fetch has
 * ended (the child reaped, killed if it was late; the quarantine removed) and the result is
 * gitwrite_pull's, with *out and err as it fills them; the fast-forward starts from where the
 * local ref is at that moment (it may have moved since the start). Once not pending, only
 * gitwrite_pull_job_free is left to call.
 */
int gitwrite_pull_check(struct gitwrite_pull_job *job, struct gitwrite_pull_info *out,
                        struct sky_error *err);

/* The pipe the fetch's child answers on (borrowed: valid until the check that ends the job). */
int gitwrite_pull_job_fd(const struct gitwrite_pull_job *job);

/* sky_now_ms() at which the fetch is given up (by the gitwrite_pull_check at or after it). */
long long gitwrite_pull_job_deadline(const struct gitwrite_pull_job *job);

/*
 * Free job (NULL: nothing). A fetch still running is ended first: its child killed (SIGKILL, by
 * its pid) and reaped, its quarantine removed; the repository is as before the start.
 */
void gitwrite_pull_job_free(struct gitwrite_pull_job *job);

/*
 * A remote as it may be shown in logs and errors: a URL's user information (which may hold a
 * password or a token) is replaced by "***". Caller frees.
 */
char *gitwrite_remote_shown(const char *remote);

/*
 * Test hook (tests/unit/test_gitwrite.c): when not NULL, called after the commit object is
 * written and before the compare-and-swap of the ref, so a test can move the ref in that
 * window. NULL in the programs.
 */
extern void (*gitwrite_test_before_swap)(const char *repo_dir, const char *refname);

#endif
