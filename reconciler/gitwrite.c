/*
 * gitwrite: commit a new topology.yaml with a compare-and-swap on the ref, then optionally push
 * it (see gitwrite.h and docs/reconciler.md, "Writing a decision back to git").
 *
 * The steps, each of which can lose a race and then leaves the ref as it found it:
 *  1. resolve the ref to the name of a branch-like reference; it must point at expected_oid;
 *  2. write the blob and a tree that differs from expected_oid's only at path, and a commit
 *     with expected_oid as its parent (objects only: nothing points at them yet);
 *  3. move the ref from expected_oid to the commit with git_reference_create_matching (the
 *     reference is locked, its value compared and replaced under the lock): GIT_EMODIFIED is
 *     the race;
 *  4. push REF:REF (never forced). A rejection as non-fast-forward is the race: the ref is
 *     moved back to expected_oid (again compare-and-swap), the remote's ref is fetched and,
 *     when it descends from expected_oid, the local ref is fast-forwarded to it, so that the
 *     caller re-reads what won; the commit that lost stays in the object database, pointed at
 *     by nothing but the reflog, and git gc prunes it in time;
 *  5. a work tree checked out on REF follows the ref (a safe checkout from the old tree to the
 *     new one: files with local edits are kept, and their index entries moved only when
 *     nothing was staged for them).
 *
 * The push and every fetch run in a forked child given up at a deadline (gitbound.h); a fetch
 * writes its objects into a quarantine moved in only when it worked, and no FETCH_HEAD, tag
 * or ref: refs move only here, in the parent, by compare-and-swap.
 *
 * gitwrite_pull (watch --pull) is the catch-up of step 4 on its own: gitwrite_pull.c, with
 * the fetch and the fast-forward shared through gitwrite_internal.h.
 */
#include "gitwrite.h"

#include <git2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitbound.h"
#include "gitwrite_internal.h"
#include "sky_log.h"
#include "sky_mem.h"

#define GITWRITE_DEFAULT_PATH "topology.yaml"

void (*gitwrite_test_before_swap)(const char *repo_dir, const char *refname);

/* "what: libgit2's message" */
int gw_fail(struct sky_error *err, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	struct sky_buf b;
	va_list ap;

	sky_buf_init(&b);
	va_start(ap, fmt);
	sky_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sky_error_set(err, "%s: %s", b.data, e && e->message ? e->message : "unknown error");
	sky_buf_release(&b);
	return -1;
}

char *gitwrite_remote_shown(const char *remote)
{
	const char *scheme = strstr(remote, "://");
	const char *at, *slash;

	if (!scheme)
		return sky_strdup(remote);
	at = strchr(scheme + 3, '@');
	slash = strchr(scheme + 3, '/');
	if (!at || (slash && slash < at))
		return sky_strdup(remote);
	return sky_asprintf("%.*s***%s", (int)(scheme + 3 - remote), remote, at);
}

/*
 * The full name of the reference req->ref means ("main" -> "refs/heads/main"; NULL or "HEAD"
 * -> the branch HEAD points at), following symbolic references. Caller frees *out.
 */
int gw_ref_resolve(char **out, git_repository *repo, const char *ref, struct sky_error *err)
{
	git_reference *r = NULL, *next = NULL;
	char *name = NULL;
	int ret = -1;

	if (!ref || strcmp(ref, "HEAD") == 0) {
		if (git_reference_lookup(&r, repo, "HEAD") < 0) {
			gw_fail(err, "could not read HEAD");
			goto out;
		}
		if (git_reference_type(r) != GIT_REFERENCE_SYMBOLIC) {
			sky_error_set(err, "HEAD is detached (expected a branch to commit to: give "
			                   "--ref a branch)");
			goto out;
		}
	} else if (git_reference_dwim(&r, repo, ref) < 0) {
		sky_error_set(err,
		              "\"%s\" is not a branch or reference (expected the name of the ref "
		              "to commit to, not a commit id)",
		              ref);
		goto out;
	}
	name = sky_strdup(git_reference_name(r));
	for (int depth = 0; git_reference_type(r) == GIT_REFERENCE_SYMBOLIC; depth++) {
		free(name);
		name = sky_strdup(git_reference_symbolic_target(r));
		if (depth > 10 || git_reference_lookup(&next, repo, name) < 0)
			break; /* an unborn branch: its name is what we want */
		git_reference_free(r);
		r = next;
		next = NULL;
	}
	if (strncmp(name, "refs/remotes/", 13) == 0 || strncmp(name, "refs/tags/", 10) == 0) {
		sky_error_set(err, "\"%s\" is %s (expected a local branch to commit to)", name,
		              name[5] == 'r' ? "a remote-tracking branch" : "a tag");
		goto out;
	}
	*out = name;
	name = NULL;
	ret = 0;
out:
	free(name);
	git_reference_free(next);
	git_reference_free(r);
	return ret;
}

/* The tree of commit `base` with path set to blob (keeping the entry's mode when it exists). */
static int tree_with_file(git_oid *out, git_repository *repo, git_tree *base, const char *path,
                          const git_oid *blob, struct sky_error *err)
{
	git_tree_entry *entry = NULL;
	git_tree_update upd;
	int ret = -1;

	memset(&upd, 0, sizeof(upd));
	upd.action = GIT_TREE_UPDATE_UPSERT;
	upd.filemode = GIT_FILEMODE_BLOB;
	upd.path = path;
	git_oid_cpy(&upd.id, blob);
	if (git_tree_entry_bypath(&entry, base, path) == 0) {
		if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
			sky_error_set(err, "\"%s\" is not a file in the commit", path);
			goto out;
		}
		upd.filemode = git_tree_entry_filemode(entry);
	}
	if (git_tree_create_updated(out, repo, base, 1, &upd) < 0) {
		gw_fail(err, "could not write the tree with \"%s\"", path);
		goto out;
	}
	ret = 0;
out:
	git_tree_entry_free(entry);
	return ret;
}

/* Paths a checkout left alone because they had local changes. */
struct skipped {
	char **paths;
	size_t n;
};

static int checkout_notify(git_checkout_notify_t why, const char *path,
                           const git_diff_file *baseline, const git_diff_file *target,
                           const git_diff_file *workdir, void *payload)
{
	struct skipped *s = payload;

	(void)baseline;
	(void)target;
	(void)workdir;
	if (why == GIT_CHECKOUT_NOTIFY_CONFLICT) {
		s->paths = sky_realloc(s->paths, (s->n + 1) * sizeof(*s->paths));
		s->paths[s->n++] = sky_strdup(path);
	}
	return 0;
}

/*
 * A path the checkout kept because of local edits: its index entry follows the new tree when
 * it still was the old tree's (nothing staged), so that the index matches the new commit and
 * only the working file differs; the zeroed stat data make git look at the file's content.
 */
static void index_follow(git_index *index, git_tree *from, git_tree *to, const char *path)
{
	git_tree_entry *old_e = NULL, *new_e = NULL;
	const git_index_entry *cur = git_index_get_bypath(index, path, 0);
	bool was_clean;

	git_tree_entry_bypath(&old_e, from, path);
	git_tree_entry_bypath(&new_e, to, path);
	was_clean = (!cur && !old_e) ||
	            (cur && old_e && git_oid_equal(&cur->id, git_tree_entry_id(old_e)) &&
	             cur->mode == (uint32_t)git_tree_entry_filemode(old_e));
	if (!was_clean) {
		sky_warning("\"%s\" has changes staged in the index: index and working file kept "
		            "as they are (they are not in the new commit)",
		            path);
	} else if (new_e) {
		git_index_entry e;

		memset(&e, 0, sizeof(e));
		e.path = path;
		e.mode = git_tree_entry_filemode(new_e);
		git_oid_cpy(&e.id, git_tree_entry_id(new_e));
		if (git_index_add(index, &e) < 0)
			sky_warning("could not update the index entry of \"%s\": %s", path,
			            git_error_last() ? git_error_last()->message : "unknown error");
		sky_warning("\"%s\" has local edits: working file kept, the index follows the "
		            "new commit (git diff shows the edits against it)",
		            path);
	} else {
		git_index_remove_bypath(index, path);
		sky_warning("\"%s\" has local edits: working file kept, removed from the index "
		            "as in the new commit",
		            path);
	}
	git_tree_entry_free(old_e);
	git_tree_entry_free(new_e);
}

/*
 * The ref moved from commit `from` to commit `to`: when the repository has a work tree with
 * refname checked out, bring the index and the working files along (never overwriting local
 * edits). Best effort: the commit is made, so failures here are warnings.
 */
static void worktree_follow(git_repository *repo, const char *refname, const git_oid *from,
                            const git_oid *to)
{
	git_checkout_options opts;
	git_reference *head = NULL;
	git_commit *cfrom = NULL, *cto = NULL;
	git_tree *tfrom = NULL, *tto = NULL;
	git_index *index = NULL;
	struct skipped skipped = {0};

	git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
	if (git_repository_is_bare(repo))
		return;
	if (git_reference_lookup(&head, repo, "HEAD") < 0 ||
	    git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
	    strcmp(git_reference_symbolic_target(head), refname) != 0)
		goto out; /* the work tree is on another branch: not ours to touch */
	if (git_commit_lookup(&cfrom, repo, from) < 0 || git_commit_lookup(&cto, repo, to) < 0 ||
	    git_commit_tree(&tfrom, cfrom) < 0 || git_commit_tree(&tto, cto) < 0) {
		sky_warning("could not update the work tree: %s",
		            git_error_last() ? git_error_last()->message : "unknown error");
		goto out;
	}
	opts.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_ALLOW_CONFLICTS;
	opts.baseline = tfrom;
	opts.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT;
	opts.notify_cb = checkout_notify;
	opts.notify_payload = &skipped;
	if (git_checkout_tree(repo, (git_object *)tto, &opts) < 0) {
		sky_warning("could not update the work tree: %s",
		            git_error_last() ? git_error_last()->message : "unknown error");
		goto out;
	}
	if (skipped.n == 0)
		goto out;
	if (git_repository_index(&index, repo) < 0 || git_index_read(index, 1) < 0) {
		sky_warning("could not read the index: %s",
		            git_error_last() ? git_error_last()->message : "unknown error");
		goto out;
	}
	for (size_t i = 0; i < skipped.n; i++)
		index_follow(index, tfrom, tto, skipped.paths[i]);
	if (git_index_write(index) < 0)
		sky_warning("could not write the index: %s",
		            git_error_last() ? git_error_last()->message : "unknown error");
out:
	for (size_t i = 0; i < skipped.n; i++)
		free(skipped.paths[i]);
	free(skipped.paths);
	git_index_free(index);
	git_tree_free(tfrom);
	git_tree_free(tto);
	git_commit_free(cfrom);
	git_commit_free(cto);
	git_reference_free(head);
}

/*
 * The remote to push to (push: a configured remote's name: its pushurl, else its url) or to
 * fetch from (its url), or a URL or path. Made as an anonymous remote without url.*.insteadOf
 * rewriting: libgit2 1.5's insteadOf lookup matches every configuration entry against a PCRE2
 * pattern and leaks the match data of each entry that does not match (fixed in libgit2 1.6), which
 * the valgrind and LeakSanitizer runs of the unit tests would report.
 */
int gw_remote_open(git_remote **out, git_repository *repo, const char *name_or_url, bool for_push)
{
	git_remote_create_options o;
	git_config *cfg = NULL;
	git_buf url = {NULL, 0, 0};
	char *key = NULL;
	int rc;

	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_repository_config_snapshot(&cfg, repo) == 0) {
		key = sky_asprintf("remote.%s.pushurl", name_or_url);
		if (!for_push || git_config_get_string_buf(&url, cfg, key) < 0 || url.size == 0) {
			free(key);
			key = sky_asprintf("remote.%s.url", name_or_url);
			git_config_get_string_buf(&url, cfg, key);
		}
		git_error_clear();
	}
	rc = git_remote_create_with_opts(out, url.size ? url.ptr : name_or_url, &o);
	git_buf_dispose(&url);
	git_config_free(cfg);
	free(key);
	return rc;
}

struct tracking {
	git_repository *repo;
	const char *refname;
	const git_oid *oid;
};

static int tracking_one(const git_config_entry *entry, void *payload)
{
	struct tracking *t = payload;
	git_refspec *spec = NULL;
	git_buf dst = {NULL, 0, 0};
	git_reference *r = NULL;
	git_oid cur;

	/* unchanged: not rewritten (a periodic fetch would grow its reflog for nothing) */
	if (git_refspec_parse(&spec, entry->value, 1) == 0 &&
	    git_refspec_src_matches(spec, t->refname) &&
	    git_refspec_transform(&dst, spec, t->refname) == 0 &&
	    !(git_reference_name_to_id(&cur, t->repo, dst.ptr) == 0 &&
	      git_oid_equal(&cur, t->oid)) &&
	    git_reference_create(&r, t->repo, dst.ptr, t->oid, 1, "skyreconcile: push") < 0)
		sky_warning("could not update \"%s\": %s", dst.ptr,
		            git_error_last() ? git_error_last()->message : "unknown error");
	git_reference_free(r);
	git_buf_dispose(&dst);
	git_refspec_free(spec);
	return 0;
}

/*
 * The remote is a configured one (name): its remote-tracking ref for refname (through its
 * fetch refspecs, e.g. refs/remotes/origin/main) follows what the remote now has, as a push
 * or fetch by git would leave it. Nothing for a URL.
 */
static void tracking_update(git_repository *repo, const char *name, const char *refname,
                            const git_oid *oid)
{
	struct tracking t = {.repo = repo, .refname = refname, .oid = oid};
	git_config *cfg = NULL;
	char *key = sky_asprintf("remote.%s.fetch", name);

	if (git_repository_config_snapshot(&cfg, repo) == 0)
		git_config_get_multivar_foreach(cfg, key, NULL, tracking_one, &t);
	git_error_clear();
	git_config_free(cfg);
	free(key);
}

/* What the remote said about our ref: NULL accepted, else its reason (owned). */
struct push_state {
	const char *refname;
	char *rejected;
	int cred_tries;
};

static int push_update_reference(const char *refname, const char *status, void *payload)
{
	struct push_state *ps = payload;

	if (status && strcmp(refname, ps->refname) == 0 && !ps->rejected)
		ps->rejected = sky_strdup(status);
	return 0;
}

/* ssh: the agent's keys, once; anything else: libgit2's defaults (none). */
static int credentials(git_credential **out, const char *url, const char *username,
                       unsigned int allowed, void *payload)
{
	struct push_state *ps = payload;

	(void)url;
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && ps->cred_tries++ == 0)
		return git_credential_ssh_key_from_agent(out, username ? username : "git");
	return GIT_PASSTHROUGH;
}

/* git receive-pack's statuses that mean "someone else pushed first". */
static bool status_is_race(const char *status)
{
	return strstr(status, "non-fast-forward") || strstr(status, "fetch first") ||
	       strstr(status, "stale info");
}

/* What a fetch child works with (inherited at the fork). */
struct fetch_job {
	git_repository *repo;
	git_remote *remote;
	const char *shown;
	const char *refname;
	const char *quarantine;
};

/*
 * The child of fetch_ref: fetch refname into the quarantine (objects only: no FETCH_HEAD, no
 * tag, no ref) and send the commit the remote advertised for it.
 */
static void fetch_child(struct gitbound_result *out, void *arg)
{
	struct fetch_job *j = arg;
	git_fetch_options fo;
	struct push_state ps = {.refname = j->refname};
	char *spec = (char *)j->refname;
	git_strarray specs = {&spec, 1};
	const git_remote_head **heads = NULL;
	struct sky_error e;
	size_t n = 0;

	out->rc = -1;
	out->retryable = true;
	sky_error_clear(&e);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = credentials;
	fo.callbacks.payload = &ps;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (gitbound_quarantine_use(j->repo, j->quarantine) < 0)
		gw_fail(&e, "could not fetch \"%s\" from \"%s\"", j->refname, j->shown);
	else if (git_remote_fetch(j->remote, &specs, &fo, NULL) < 0 ||
	         git_remote_ls(&heads, &n, j->remote) < 0)
		gw_fail(&e, "could not fetch \"%s\" from \"%s\"", j->refname, j->shown);
	for (size_t i = 0; !e.message[0] && i < n; i++) {
		if (strcmp(heads[i]->name, j->refname) == 0) {
			git_oid_tostr(out->oid, sizeof(out->oid), &heads[i]->oid);
			out->rc = 0;
			return;
		}
	}
	if (!e.message[0])
		sky_error_set(&e, "\"%s\" has no \"%s\"", j->shown, j->refname);
	snprintf(out->message, sizeof(out->message), "%s", e.message);
}

/*
 * Start fetching refname from the remote (the same name there: REF:REF is what push sends)
 * into a quarantine: the transfer runs in a child bounded by timeout_ms (gitbound.h) and
 * nothing local changes until gw_fetch_end. -1 with err set (retryable) when it cannot start;
 * *f is then gw_fetch_release-able all the same.
 */
int gw_fetch_start(struct fetch *f, git_repository *repo, git_remote *remote, const char *shown,
                   const char *refname, int timeout_ms, struct sky_error *err)
{
	struct fetch_job job = {.repo = repo, .remote = remote, .shown = shown, .refname = refname};
	char *what = sky_asprintf("fetch \"%s\" from \"%s\"", refname, shown);
	int ret = -1;

	memset(f, 0, sizeof(*f));
	f->child.fd = -1;
	if (gitbound_quarantine_make(&f->quarantine, repo, err) < 0)
		goto out;
	job.quarantine = f->quarantine;
	if (gitbound_start(&f->child, fetch_child, &job, timeout_ms, what, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && err)
		err->retryable = true;
	free(what);
	return ret;
}

/*
 * The child answered r: set *out to the commit the remote has, move the quarantine's objects
 * into repo's and let the remote-tracking ref of a configured remote (name) follow. -1 with err
 * set (retryable: the remote may answer next time) when the remote could not be read or has
 * no such ref, or the objects could not be moved.
 */
int gw_fetch_end(git_oid *out, struct fetch *f, const struct gitbound_result *r,
                 git_repository *repo, const char *name, const char *refname, struct sky_error *err)
{
	int ret = -1;

	if (r->rc < 0) {
		sky_error_set(err, "%s", r->message);
		goto out;
	}
	if (git_oid_fromstr(out, r->oid) < 0) {
		sky_error_set(err, "could not %s: \"%s\" is no commit id", f->child.what, r->oid);
		goto out;
	}
	if (gitbound_quarantine_migrate(repo, f->quarantine, err) < 0)
		goto out;
	tracking_update(repo, name, refname, out);
	ret = 0;
out:
	if (ret < 0 && err)
		err->retryable = true;
	return ret;
}

/* End f: a child still running is killed by its pid and reaped; the quarantine is removed. */
void gw_fetch_release(struct fetch *f)
{
	gitbound_kill(&f->child);
	gitbound_quarantine_remove(f->quarantine);
	free(f->quarantine);
	f->quarantine = NULL;
}

/*
 * Fetch refname from the remote and wait for it (gw_fetch_start, at most timeout_ms, gw_fetch_end):
 * nothing local but the objects and that remote-tracking ref changes, and nothing at all when
 * the child is late and killed. The fetch after a lost push (catch_up).
 */
static int fetch_ref(git_oid *out, git_repository *repo, git_remote *remote, const char *name,
                     const char *shown, const char *refname, int timeout_ms, struct sky_error *err)
{
	struct fetch f;
	struct gitbound_result r;
	int ret = -1;

	if (gw_fetch_start(&f, repo, remote, shown, refname, timeout_ms, err) < 0 ||
	    gitbound_wait(&r, &f.child, err) < 0 ||
	    gw_fetch_end(out, &f, &r, repo, name, refname, err) < 0)
		goto out;
	ret = 0;
out:
	gw_fetch_release(&f);
	return ret;
}

/*
 * Move refname from `from` to `to` (which descends from it) with a compare-and-swap, then
 * bring a work tree checked out on it along (worktree_follow: local edits kept). FF_RACE
 * when the ref no longer pointed at `from` (nothing changed), FF_ERROR with err on any other
 * failure.
 */
int gw_fast_forward(git_repository *repo, const char *refname, const git_oid *from,
                    const git_oid *to, const char *shown, const char *reflog, struct sky_error *err)
{
	git_reference *moved = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	rc = git_reference_create_matching(&moved, repo, refname, to, 1, from, reflog);
	git_reference_free(moved);
	if (rc == GIT_EMODIFIED) {
		sky_info("\"%s\" moved while catching up with \"%s\"", refname, shown);
		return FF_RACE;
	}
	if (rc < 0) {
		gw_fail(err, "could not update \"%s\"", refname);
		if (err)
			err->retryable = rc == GIT_ELOCKED;
		return FF_ERROR;
	}
	git_oid_tostr(hex, sizeof(hex), to);
	sky_info("\"%s\" fast-forwarded to %s from \"%s\"", refname, hex, shown);
	worktree_follow(repo, refname, from, to);
	return FF_MOVED;
}

/*
 * After a push lost: fetch the remote's refname and fast-forward the local ref from expected
 * to it when it descends from expected (so the caller re-reads what won). Returns
 * GITWRITE_RACE, or GITWRITE_ERROR when the remote cannot be read or has diverged.
 */
static int catch_up(git_repository *repo, git_remote *remote, const char *name, const char *shown,
                    const char *refname, const git_oid *expected, int timeout_ms,
                    struct sky_error *err)
{
	git_oid theirs;
	char hex[GIT_OID_HEXSZ + 1];

	if (fetch_ref(&theirs, repo, remote, name, shown, refname, timeout_ms, err) < 0) {
		sky_error_prefix(err, "push to \"%s\" was rejected, and the fetch after it failed",
		                 shown);
		return GITWRITE_ERROR;
	}
	if (git_oid_equal(&theirs, expected))
		return GITWRITE_RACE; /* moved and back again: try again */
	git_oid_tostr(hex, sizeof(hex), &theirs);
	if (git_graph_descendant_of(repo, &theirs, expected) != 1) {
		sky_error_set(err,
		              "\"%s\" on \"%s\" (%s) does not descend from the local one: the "
		              "histories diverged, reconcile them by hand",
		              refname, shown, hex);
		return GITWRITE_ERROR;
	}
	/* a ref moved meanwhile is a race all the same */
	if (gw_fast_forward(repo, refname, expected, &theirs, shown,
	                    "skyreconcile: fast-forward to the remote after a rejected push",
	                    err) == FF_ERROR)
		return GITWRITE_ERROR;
	return GITWRITE_RACE;
}

/* What a push child works with (inherited at the fork). */
struct push_job {
	git_remote *remote;
	const char *refname;
};

/* The child of push: push REF:REF, send libgit2's result and the remote's word on the ref. */
static void push_child(struct gitbound_result *out, void *arg)
{
	struct push_job *j = arg;
	git_push_options po;
	struct push_state ps = {.refname = j->refname};
	char *spec = sky_asprintf("%s:%s", j->refname, j->refname); /* no '+': never forced */
	git_strarray specs = {&spec, 1};
	const git_error *e;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	po.callbacks.push_update_reference = push_update_reference;
	po.callbacks.credentials = credentials;
	po.callbacks.payload = &ps;
	out->rc = git_remote_push(j->remote, &specs, &po);
	e = git_error_last();
	if (out->rc < 0)
		snprintf(out->message, sizeof(out->message), "%s",
		         e && e->message ? e->message : "unknown error");
	if (ps.rejected)
		snprintf(out->note, sizeof(out->note), "%s", ps.rejected);
	free(ps.rejected);
	free(spec);
}

/*
 * Push refname to the remote: OK, RACE (rejected as non-fast-forward) or ERROR. The transfer
 * runs in a child bounded by timeout_ms (gitbound.h); a push given up may still have reached
 * the remote (the caller's next fetch then finds the commit there).
 */
static int push(git_remote *remote, const char *shown, const char *refname, int timeout_ms,
                struct sky_error *err)
{
	struct push_job job = {.remote = remote, .refname = refname};
	struct gitbound_result r;
	char *what = sky_asprintf("push \"%s\" to \"%s\"", refname, shown);
	int ret = GITWRITE_ERROR;

	if (gitbound_run(&r, push_child, &job, timeout_ms, what, err) < 0) {
		/* a push never fails over to a retry inside: the policy decides again */
	} else if (r.rc == GIT_ENONFASTFORWARD) {
		sky_info("push of \"%s\" to \"%s\" rejected: %s", refname, shown,
		         r.message[0] ? r.message : "not a fast-forward");
		ret = GITWRITE_RACE;
	} else if (r.rc < 0) {
		sky_error_set(err, "could not %s: %s", what, r.message);
	} else if (r.note[0] && status_is_race(r.note)) {
		sky_info("push of \"%s\" to \"%s\" rejected: %s", refname, shown, r.note);
		ret = GITWRITE_RACE;
	} else if (r.note[0]) {
		sky_error_set(err, "\"%s\" rejected the push of \"%s\": %s", shown, refname,
		              r.note);
	} else {
		ret = GITWRITE_OK;
	}
	free(what);
	return ret;
}

int gitwrite_commit(const struct gitwrite_req *req, char out_oid[41], struct sky_error *err)
{
	const char *path = req->path ? req->path : GITWRITE_DEFAULT_PATH;
	int timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : GITWRITE_TIMEOUT_DEFAULT_MS;
	git_repository *repo = NULL;
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_reference *updated = NULL, *back = NULL;
	git_remote *remote = NULL;
	git_oid expected, current, blob, tree_id, commit_id;
	char *refname = NULL, *shown = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc, ret = GITWRITE_ERROR;

	git_libgit2_init();
	if (!req->repo_dir || !req->expected_oid || !req->content || !req->message ||
	    !req->author_name || !req->author_email) {
		sky_error_set(err, "gitwrite: repo_dir, expected_oid, content, message and the "
		                   "author are required");
		goto out;
	}
	if (strlen(req->expected_oid) != GIT_OID_HEXSZ ||
	    git_oid_fromstr(&expected, req->expected_oid) < 0) {
		sky_error_set(err, "\"%s\" is not a full commit id (expected %d hex digits)",
		              req->expected_oid, GIT_OID_HEXSZ);
		goto out;
	}
	if (git_repository_open(&repo, req->repo_dir) < 0) {
		gw_fail(err, "could not open git repository \"%s\"", req->repo_dir);
		goto out;
	}
	if (gw_ref_resolve(&refname, repo, req->ref, err) < 0)
		goto out;

	/* 1. the ref must still point at the commit the decision was made from */
	rc = git_reference_name_to_id(&current, repo, refname);
	if (rc < 0 && rc != GIT_ENOTFOUND) {
		gw_fail(err, "could not read \"%s\"", refname);
		goto out;
	}
	if (rc == GIT_ENOTFOUND || !git_oid_equal(&current, &expected)) {
		sky_info("\"%s\" moved from %s: not committing", refname, req->expected_oid);
		ret = GITWRITE_RACE;
		goto out;
	}

	/* 2. the objects */
	if (git_commit_lookup(&parent, repo, &expected) < 0 ||
	    git_commit_tree(&ptree, parent) < 0) {
		gw_fail(err, "could not read commit %s", req->expected_oid);
		goto out;
	}
	if (git_blob_create_from_buffer(&blob, repo, req->content, req->content_len) < 0) {
		gw_fail(err, "could not write the blob of \"%s\"", path);
		goto out;
	}
	if (tree_with_file(&tree_id, repo, ptree, path, &blob, err) < 0)
		goto out;
	if (git_oid_equal(&tree_id, git_tree_id(ptree))) {
		sky_error_set(err, "\"%s\" is already so in commit %s: nothing to commit", path,
		              req->expected_oid);
		goto out;
	}
	if (git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_now(&sig, req->author_name, req->author_email) < 0) {
		gw_fail(err, "could not prepare the commit");
		goto out;
	}
	if (git_commit_create(&commit_id, repo, NULL, sig, sig, NULL, req->message, tree, 1,
	                      (const git_commit **)&parent) < 0) {
		gw_fail(err, "could not write the commit");
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), &commit_id);

	/* 3. compare-and-swap */
	if (gitwrite_test_before_swap)
		gitwrite_test_before_swap(req->repo_dir, refname);
	rc = git_reference_create_matching(&updated, repo, refname, &commit_id, 1, &expected,
	                                   "skyreconcile: failover");
	if (rc == GIT_EMODIFIED) {
		sky_info("\"%s\" moved from %s while committing: commit %s dropped", refname,
		         req->expected_oid, hex);
		ret = GITWRITE_RACE;
		goto out;
	}
	if (rc < 0) {
		gw_fail(err, "could not update \"%s\"", refname);
		if (err)
			err->retryable = rc == GIT_ELOCKED;
		goto out;
	}

	/* 4. push */
	if (req->push_remote) {
		shown = gitwrite_remote_shown(req->push_remote);
		if (gw_remote_open(&remote, repo, req->push_remote, true) < 0) {
			gw_fail(err, "could not use remote \"%s\"", shown);
			ret = GITWRITE_ERROR;
		} else {
			ret = push(remote, shown, refname, timeout_ms, err);
		}
		if (ret != GITWRITE_OK) {
			/* the commit must not stay on the ref: put it back (compare-and-swap) */
			if (git_reference_create_matching(&back, repo, refname, &expected, 1,
			                                  &commit_id,
			                                  "skyreconcile: failover commit not "
			                                  "pushed") < 0)
				sky_warning(
				    "could not move \"%s\" back to %s after the failed push: %s",
				    refname, req->expected_oid,
				    git_error_last() ? git_error_last()->message : "unknown");
			else
				sky_info("\"%s\" moved back to %s; commit %s is left unreferenced",
				         refname, req->expected_oid, hex);
			if (ret == GITWRITE_RACE)
				ret = catch_up(repo, remote, req->push_remote, shown, refname,
				               &expected, timeout_ms, err);
			goto out;
		}
		tracking_update(repo, req->push_remote, refname, &commit_id);
		sky_info("pushed \"%s\" (%s) to \"%s\"", refname, hex, shown);
	}

	/* 5. the work tree */
	worktree_follow(repo, refname, &expected, &commit_id);
	sky_info("committed \"%s\" to \"%s\" as %s", path, refname, hex);
	memcpy(out_oid, hex, sizeof(hex));
	ret = GITWRITE_OK;
out:
	git_remote_free(remote);
	git_reference_free(back);
	git_reference_free(updated);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_repository_free(repo);
	free(refname);
	free(shown);
	git_libgit2_shutdown();
	return ret;
}
