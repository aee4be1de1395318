/*
 * gitwrite_internal: what gitwrite.c (commit, push, the catch-up after a lost push) and
 * gitwrite_pull.c (watch --pull's fetch and fast-forward) share. Not for other modules: their
 * interface is gitwrite.h. Each function is described where it is defined, in gitwrite.c.
 */
#ifndef SKY_GITWRITE_INTERNAL_H
#define SKY_GITWRITE_INTERNAL_H

#include <git2.h>
#include <stdbool.h>

#include "gitbound.h"
#include "sky_error.h"

/*
 * One fetch in flight: the child (gitbound.h) and the quarantine it writes into. Made by
 * gw_fetch_start, looked at through child (gitbound_check / gitbound_wait), the answer used by
 * gw_fetch_end, and ended by gw_fetch_release in every case.
 */
struct fetch {
	struct gitbound_child child;
	char *quarantine; /* owned; removed whole by gw_fetch_release */
};

enum ff_result { FF_ERROR = -1, FF_MOVED = 0, FF_RACE = 1 };

/* err = "what: libgit2's last message"; returns -1 */
int gw_fail(struct sky_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ref (NULL: HEAD's branch) as the full name of a local branch (*out, caller frees) */
int gw_ref_resolve(char **out, git_repository *repo, const char *ref, struct sky_error *err);
/* a configured remote by name, or an anonymous one for a URL */
int gw_remote_open(git_remote **out, git_repository *repo, const char *name_or_url, bool for_push);
/* start fetching refname into a quarantine, in a child bounded by timeout_ms */
int gw_fetch_start(struct fetch *f, git_repository *repo, git_remote *remote, const char *shown,
                   const char *refname, int timeout_ms, struct sky_error *err);
/* the child answered r: *out = the remote's commit, objects moved in, tracking ref updated */
int gw_fetch_end(git_oid *out, struct fetch *f, const struct gitbound_result *r,
                 git_repository *repo, const char *name, const char *refname,
                 struct sky_error *err);
/* end f: the child killed by its pid and reaped if still running, the quarantine removed */
void gw_fetch_release(struct fetch *f);
/* compare-and-swap refname from `from` to its descendant `to`, the work tree following */
int gw_fast_forward(git_repository *repo, const char *refname, const git_oid *from,
                    const git_oid *to, const char *shown, const char *reflog,
                    struct sky_error *err);

#endif
