/*
 * source: read topology.yaml from a file or from a git commit (see source.h).
 */
#include "source.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_mem.h"

static int git_fail(struct sky_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return sky_error_set(err, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

/*
 * Read PATH at REF from the repository in DIR into a topology. The blob's bytes go to the
 * parser as they are in the commit; nothing is checked out.
 */
static int source_repo_load(struct topology **out, const struct source_opts *opts,
                            struct sky_error *err)
{
	const char *ref = opts->ref ? opts->ref : SOURCE_DEFAULT_REF;
	const char *path = opts->path ? opts->path : SOURCE_DEFAULT_FILE;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_object *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	char *label = NULL;
	char *what = NULL;
	char oid[GIT_OID_HEXSZ + 1];
	int ret = -1;

	git_libgit2_init();
	if (git_repository_open(&repo, opts->repo) < 0) {
		what = sky_asprintf("could not open git repository \"%s\"", opts->repo);
		git_fail(err, what);
		goto out;
	}
	if (git_revparse_single(&obj, repo, ref) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		what =
		    sky_asprintf("could not resolve \"%s\" to a commit in \"%s\"", ref, opts->repo);
		git_fail(err, what);
		goto out;
	}
	if (git_commit_tree(&tree, (git_commit *)commit) < 0) {
		what = sky_asprintf("could not read the tree of \"%s\"", ref);
		git_fail(err, what);
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0) {
		sky_error_set(err, "\"%s\" does not exist in commit \"%s\"", path, ref);
		goto out;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		sky_error_set(err, "\"%s\" in commit \"%s\" is not a file", path, ref);
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		what = sky_asprintf("could not read \"%s\" in commit \"%s\"", path, ref);
		git_fail(err, what);
		goto out;
	}
	git_oid_tostr(oid, sizeof(oid), git_object_id(commit));
	sky_debug("reading %s from commit %s (%s) of \"%s\"", path, oid, ref, opts->repo);
	label = sky_asprintf("%s:%s", ref, path);
	if (topology_load_string(out, label, git_blob_rawcontent(blob),
	                         (size_t)git_blob_rawsize(blob), err) < 0)
		goto out;
	ret = 0;
out:
	free(what);
	free(label);
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_object_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

int source_topology_load(struct topology **out, const struct source_opts *opts,
                         struct sky_error *err)
{
	if (opts->repo)
		return source_repo_load(out, opts, err);
	if (opts->ref || opts->path)
		return sky_error_set(err, "--ref and --path need --repo");
	return topology_load_file(out, opts->file ? opts->file : SOURCE_DEFAULT_FILE, err);
}
