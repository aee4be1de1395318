/*
 * watch_pull: `skyreconcile watch --repo DIR --pull REMOTE` keeps the followed branch at the
 * remote's (docs/reconciler.md, "watch --pull"): every --pull-interval seconds a fetch of the
 * followed ref and a fast-forward to it (gitwrite_pull: never a merge, never a reset). The
 * fetch runs in the background (gitwrite_pull_start: a child killed when it is still running
 * after --pull-timeout seconds), so a remote that never answers does not hold the loop: it
 * looks at the fetch at each turn (watch_pull_step, never blocking), polls its pipe with the
 * inotify descriptor, and moves the ref when the answer is there. At most one fetch in flight;
 * the next starts --pull-interval after the previous ended. The one at start is waited for
 * (watch_pull_run: the first reconcile is of the remote's commit). This module is the loop's
 * side of it: when a pull is due, what is logged (a failure once per streak, a timeout
 * included, a branch ahead of or diverged from the remote once per pair of commits) and
 * counted (watch_metrics_pull).
 */
#ifndef SKY_WATCH_PULL_H
#define SKY_WATCH_PULL_H

#include <signal.h>
#include <stdbool.h>

#include "gitwrite.h"
#include "sky_error.h"

struct watch_pull {
	const char *repo;   /* --repo (borrowed, valid while the watch runs) */
	const char *ref;    /* --ref; NULL = HEAD */
	const char *remote; /* --pull REMOTE */
	int interval_ms;    /* --pull-interval */
	int timeout_ms;     /* --pull-timeout: a fetch that takes longer is given up */
	long long next_ms;  /* sky_now_ms() when the next pull is due */
	int failures;       /* failed fetches in a row */
	char reported[84];  /* "LOCAL REMOTE" of the ahead/diverged state last logged; "" none */
	char *shown;        /* remote as logged (no password); owned */
	struct gitwrite_pull_job *job; /* the fetch in flight (owned); NULL: none */
};

/* Set up p (no I/O; the first pull is due at once). Released with watch_pull_release. */
void watch_pull_init(struct watch_pull *p, const char *repo, const char *ref, const char *remote,
                     int interval_s, int timeout_s);

/* A fetch in flight is ended (its child killed by its pid and reaped, its quarantine removed). */
void watch_pull_release(struct watch_pull *p);

/*
 * The loop's look at the pull, never blocking: start a fetch when one is due and none runs;
 * when the one that runs has ended (answered, or given up at its deadline), log, count and make
 * the next due interval_ms from now. 1 when the local ref moved (a new commit to reconcile), 0
 * when it did not (nothing due, the fetch still running, or a failure, which is logged), -1 with
 * err set on a failure that the next pull cannot mend (the ref is no branch, the repository
 * cannot be opened), not logged: the caller decides (watch refuses to start on it, and later
 * logs it when p->failures is 1, the first of a streak).
 */
int watch_pull_step(struct watch_pull *p, struct sky_error *err);

/* The descriptor to poll for POLLIN while a fetch runs (its answer); -1 when none runs. */
int watch_pull_fd(const struct watch_pull *p);

/*
 * sky_now_ms() at which watch_pull_step has something to do without any descriptor becoming
 * ready: the deadline of the fetch that runs, else the start of the next.
 */
long long watch_pull_next_ms(const struct watch_pull *p);

/*
 * Pull now and wait for the end (at most --pull-timeout; a *stop set meanwhile ends the fetch
 * at once, and then 0): watch_pull_step's results. Watch's first pull, before its first
 * reconcile.
 */
int watch_pull_run(struct watch_pull *p, const volatile sig_atomic_t *stop, struct sky_error *err);

#endif
