/*
 * watch_pull: `skyreconcile watch --repo DIR --pull REMOTE` keeps the followed branch at the
 * remote's (docs/reconciler.md, "watch --pull"): every --pull-interval seconds a fetch of the
 * followed ref and a fast-forward to it (gitwrite_pull: never a merge, never a reset). The
 * fetch is given up after --pull-timeout seconds (gitbound.h: a child killed when late), so a
 * remote that never answers holds the loop that long at most. This module is the loop's side
 * of it: when a pull is due, what is logged (a failure once per streak, a timeout included, a
 * branch ahead of or diverged from the remote once per pair of commits) and counted
 * (watch_metrics_pull).
 */
#ifndef SKY_WATCH_PULL_H
#define SKY_WATCH_PULL_H

#include <stdbool.h>

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
};

/* Set up p (no I/O; the first pull is due at once). Released with watch_pull_release. */
void watch_pull_init(struct watch_pull *p, const char *repo, const char *ref, const char *remote,
                     int interval_s, int timeout_s);

void watch_pull_release(struct watch_pull *p);

/*
 * Pull now, log, count, and make the next pull due interval_ms from now. 1 when the local ref
 * moved (a new commit to reconcile), 0 when it did not (also after a failure, which is
 * logged), -1 with err set on a failure that the next pull cannot mend (the ref is no branch,
 * the repository cannot be opened), not logged: the caller decides (watch refuses to start on
 * it, and later logs it when p->failures is 1, the first of a streak).
 */
int watch_pull_run(struct watch_pull *p, struct sky_error *err);

#endif
