/*
 * gitbound: a libgit2 transfer (fetch, push) with a deadline, for gitwrite.c
 * (docs/reconciler.md, "watch --pull", "Failures").
 *
 * libgit2 1.5 has no connect or read timeout (GIT_OPT_SET_SERVER_TIMEOUT is 1.7), and its
 * transport callbacks are only called when bytes arrive, so nothing in-process can give up on a
 * remote that never answers. The transfer runs in a forked child instead; the parent waits for
 * its result on a pipe until the deadline and then kills it (SIGKILL, by its pid) and reaps it.
 * The parent either waits (gitbound_run) or goes on with its work and looks at the child
 * without blocking now and then (gitbound_start, gitbound_check: watch's periodic fetch).
 *
 * A fetch child writes its objects into a quarantine object directory of its own
 * (objects/tmp_skyreconcile_fetch_<pid>_XXXXXX, with the repository's objects as an alternate)
 * and writes neither FETCH_HEAD nor a ref, so a killed child leaves only that directory, which
 * the parent removes whole. After a fetch that worked the parent moves its packs into
 * objects/pack (each .pack before its .idx: a pack is visible only when complete).
 */
#ifndef SKY_GITBOUND_H
#define SKY_GITBOUND_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sky_error.h"

/* What a child sends back (fixed size: one write on the pipe, no allocation to pass). */
struct gitbound_result {
	int rc;         /* the child's own result (the step decides what it means) */
	bool retryable; /* as sky_error.retryable, when rc < 0 */
	char message[SKY_ERROR_MSG_LEN]; /* the error, when rc < 0 */
	char note[512];              /* push: the remote's reason for a rejected ref ("" none) */
	char oid[GIT_OID_HEXSZ + 1]; /* fetch: the remote's commit */
};

/*
 * A child in flight (gitbound_start): the parent polls fd for POLLIN and calls gitbound_check,
 * or waits with gitbound_wait; gitbound_kill ends it early. Plain data, nothing allocated.
 */
struct gitbound_child {
	pid_t pid;             /* the child; 0 once reaped */
	int fd;                /* the read end of its pipe (non-blocking); -1 once closed */
	long long deadline_ms; /* sky_now_ms() at which it is given up */
	int timeout_ms;        /* as given to gitbound_start (for the message) */
	size_t got;            /* bytes of r received so far */
	struct gitbound_result r;
	char what[512]; /* "fetch \"refs/heads/main\" from \"origin\"": starts the messages */
};

enum { GITBOUND_PENDING = 1 };

/*
 * Fork a child that runs fn(out, arg) and sends what fn filled in. The child uses only what it
 * inherited and libgit2 (no logging: stdio may be locked by another thread at the fork) and
 * ends with _exit. 0 with *out filled (the caller then owns a child to end with gitbound_check
 * returning 0 or -1, or with gitbound_kill); -1 with err set (retryable) when no child could be
 * made. `what` ("fetch \"refs/heads/main\" from \"origin\"") starts the error messages.
 */
int gitbound_start(struct gitbound_child *out, void (*fn)(struct gitbound_result *, void *),
                   void *arg, int timeout_ms, const char *what, struct sky_error *err);

/*
 * Look at c without blocking: read what the child sent so far. GITBOUND_PENDING while its
 * answer is incomplete and the deadline is ahead. 0 with *out as the child filled it (the child
 * reaped); -1 with err set, err->retryable true, the child killed (SIGKILL, by its pid) if it
 * was alive and reaped, when the deadline has passed without a whole answer or the child died
 * without one. After 0 or -1, c holds nothing (gitbound_kill on it does nothing).
 */
int gitbound_check(struct gitbound_result *out, struct gitbound_child *c, struct sky_error *err);

/* gitbound_check until it is no longer pending, waiting on the pipe (at most the deadline). */
int gitbound_wait(struct gitbound_result *out, struct gitbound_child *c, struct sky_error *err);

/* End c now: kill the child (SIGKILL, by its pid) if it runs, reap it, close the pipe. */
void gitbound_kill(struct gitbound_child *c);

/* gitbound_start then gitbound_wait: the transfer with the caller waiting for it. */
int gitbound_run(struct gitbound_result *out, void (*fn)(struct gitbound_result *, void *),
                 void *arg, int timeout_ms, const char *what, struct sky_error *err);

/*
 * Make a quarantine object directory in repo's object directory (named with this process's pid)
 * and remove those a process that is gone left behind. Caller frees *out, and removes the
 * directory with gitbound_quarantine_remove.
 */
int gitbound_quarantine_make(char **out, git_repository *repo, struct sky_error *err);

/* In the child: repo reads its objects and the quarantine's, and writes into the quarantine. */
int gitbound_quarantine_use(git_repository *repo, const char *dir);

/* In the parent, after the child succeeded: move the quarantine's objects into repo's. */
int gitbound_quarantine_migrate(git_repository *repo, const char *dir, struct sky_error *err);

/* Remove the quarantine directory and everything in it (best effort). */
void gitbound_quarantine_remove(const char *dir);

#endif
