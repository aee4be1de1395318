/*
 * watch_pull: the watch loop's periodic fetch and fast-forward (see watch_pull.h).
 */
#include "watch_pull.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitwrite.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_time.h"
#include "watch_metrics.h"

void watch_pull_init(struct watch_pull *p, const char *repo, const char *ref, const char *remote,
                     int interval_s, int timeout_s)
{
	memset(p, 0, sizeof(*p));
	p->repo = repo;
	p->ref = ref;
	p->remote = remote;
	p->interval_ms = interval_s * 1000;
	p->timeout_ms = timeout_s * 1000;
	p->next_ms = sky_now_ms();
	p->shown = gitwrite_remote_shown(remote);
}

/* End the fetch in flight, if any: its child killed by its pid and reaped, nothing left. */
static void pull_abandon(struct watch_pull *p)
{
	if (!p->job)
		return;
	sky_info("pull: the fetch from \"%s\" in flight is given up (watch stops)", p->shown);
	gitwrite_pull_job_free(p->job);
	p->job = NULL;
}

void watch_pull_release(struct watch_pull *p)
{
	pull_abandon(p);
	free(p->shown);
	p->shown = NULL;
}

/* Log the ahead/diverged state once per pair of commits; forget it when it is over. */
static void report_apart(struct watch_pull *p, int rc, const struct gitwrite_pull_info *info)
{
	char pair[sizeof(p->reported)];

	if (rc != GITWRITE_PULL_AHEAD && rc != GITWRITE_PULL_DIVERGED) {
		if (p->reported[0])
			sky_info("pull: \"%s\" is on \"%s\"'s commit %.7s again", info->refname,
			         p->shown, info->remote);
		p->reported[0] = '\0';
		return;
	}
	snprintf(pair, sizeof(pair), "%s %s", info->local, info->remote);
	if (strcmp(pair, p->reported) == 0)
		return;
	snprintf(p->reported, sizeof(p->reported), "%s", pair);
	if (rc == GITWRITE_PULL_AHEAD)
		sky_warning("pull: \"%s\" (%.7s) has commits that \"%s\" (%.7s) does not have: "
		            "left as it is (nothing is pushed but by --push), watch follows the "
		            "local branch",
		            info->refname, info->local, p->shown, info->remote);
	else
		sky_warning("pull: \"%s\" (%.7s) and \"%s\"'s (%.7s) have diverged: nothing "
		            "merged or reset, watch follows the local branch and no longer the "
		            "remote's; reconcile them by hand (git pull --rebase, git push)",
		            info->refname, info->local, p->shown, info->remote);
}

/* A fetch ended with rc (gitwrite_pull's result; e from it): log, count, make the next due. */
static int pull_done(struct watch_pull *p, int rc, const struct gitwrite_pull_info *info,
                     const struct sky_error *e, struct sky_error *err)
{
	static const enum watch_pull_result results[] = {
	    [GITWRITE_PULL_UP_TO_DATE] = WATCH_PULL_UP_TO_DATE,
	    [GITWRITE_PULL_FORWARDED] = WATCH_PULL_FORWARDED,
	    [GITWRITE_PULL_AHEAD] = WATCH_PULL_AHEAD,
	    [GITWRITE_PULL_DIVERGED] = WATCH_PULL_DIVERGED,
	};

	p->next_ms = sky_now_ms() + p->interval_ms;
	if (rc == GITWRITE_PULL_ERROR) {
		watch_metrics_pull(WATCH_PULL_FAILED, sky_epoch_s());
		if (!e->retryable) {
			if (err)
				*err = *e;
			p->failures++;
			return -1;
		}
		if (p->failures++ == 0)
			sky_warning(
			    "pull: %s (trying again every %d s, logged once until it works)",
			    e->message, p->interval_ms / 1000);
		else
			sky_debug("pull: failed again (%d in a row): %s", p->failures, e->message);
		return 0;
	}
	if (p->failures > 0)
		sky_info("pull: fetching from \"%s\" works again after %d failure%s", p->shown,
		         p->failures, p->failures == 1 ? "" : "s");
	p->failures = 0;
	watch_metrics_pull(results[rc], sky_epoch_s());
	report_apart(p, rc, info);
	if (rc == GITWRITE_PULL_UP_TO_DATE)
		sky_debug("pull: \"%s\" is up to date with \"%s\" (%.7s)", info->refname, p->shown,
		          info->remote);
	return rc == GITWRITE_PULL_FORWARDED ? 1 : 0;
}

int watch_pull_step(struct watch_pull *p, struct sky_error *err)
{
	struct gitwrite_pull_info info;
	struct sky_error e;
	int rc;

	memset(&info, 0, sizeof(info));
	sky_error_clear(&e);
	if (!p->job) {
		if (sky_now_ms() < p->next_ms)
			return 0;
		if (gitwrite_pull_start(&p->job, p->repo, p->ref, p->remote, p->timeout_ms, &e) < 0)
			return pull_done(p, GITWRITE_PULL_ERROR, &info, &e, err);
		sky_debug("pull: fetching from \"%s\" (given up after %d s)", p->shown,
		          p->timeout_ms / 1000);
	}
	rc = gitwrite_pull_check(p->job, &info, &e);
	if (rc == GITWRITE_PULL_PENDING)
		return 0;
	gitwrite_pull_job_free(p->job);
	p->job = NULL;
	return pull_done(p, rc, &info, &e, err);
}

int watch_pull_fd(const struct watch_pull *p)
{
	return p->job ? gitwrite_pull_job_fd(p->job) : -1;
}

long long watch_pull_next_ms(const struct watch_pull *p)
{
	return p->job ? gitwrite_pull_job_deadline(p->job) : p->next_ms;
}

int watch_pull_run(struct watch_pull *p, const volatile sig_atomic_t *stop, struct sky_error *err)
{
	int rc;

	p->next_ms = sky_now_ms();
	rc = watch_pull_step(p, err);
	while (p->job && !(stop && *stop)) {
		struct pollfd pfd = {.fd = watch_pull_fd(p), .events = POLLIN};
		long long left = watch_pull_next_ms(p) - sky_now_ms();

		if (left > 0)
			poll(&pfd, 1, (int)left); /* EINTR: a signal, *stop tells */
		rc = watch_pull_step(p, err);
	}
	if (p->job) { /* stopped */
		pull_abandon(p);
		rc = 0;
	}
	return rc;
}
