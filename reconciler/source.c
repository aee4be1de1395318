/*
 * source: read topology.yaml from a file or from a git commit (see source.h).
 */
#include "source.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_log.h"
#include "sky_mem.h"
#include "topology_dsn.h"

static int git_fail(struct sky_error *err, const char *what)
{
	const git_error *e = git_error_last();

	return sky_error_set(err, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

void source_revision_release(struct source_revision *rev)
{
	if (!rev)
		return;
	free(rev->subject);
	memset(rev, 0, sizeof(*rev));
}

/* The bytes of the desired state and where they came from. */
struct source_bytes {
	struct sky_buf data;
	char *label; /* the name errors use: the file, or "REF:PATH" */
};

/*
 * Read PATH at REF from the repository in DIR: the blob's bytes as they are in the commit,
 * nothing is checked out, the index is not looked at. rev gets the commit.
 */
static int source_repo_read(struct source_bytes *out, struct source_revision *rev,
                            const struct source_opts *opts, bool want_bytes, struct sky_error *err)
{
	const char *ref = opts->ref ? opts->ref : SOURCE_DEFAULT_REF;
	const char *path = opts->path ? opts->path : SOURCE_DEFAULT_FILE;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_object *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	char *what = NULL;
	const char *summary;
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
	git_oid_tostr(rev->id, sizeof(rev->id), git_object_id(commit));
	git_oid_tostr(rev->short_id, 8, git_object_id(commit));
	summary = git_commit_summary((git_commit *)commit);
	free(rev->subject);
	rev->subject = sky_strdup(summary ? summary : "");
	if (!want_bytes) {
		ret = 0;
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
	sky_debug("reading %s from commit %s (%s) of \"%s\"", path, rev->id, ref, opts->repo);
	sky_buf_add(&out->data, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	out->label = sky_asprintf("%s:%s", ref, path);
	ret = 0;
out:
	free(what);
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_object_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return ret;
}

/*
 * Read the file; rev gets "file:" + the git blob id of its bytes (git_odb_hash computes it
 * without a repository).
 */
static int source_file_read(struct source_bytes *out, struct source_revision *rev,
                            const struct source_opts *opts, struct sky_error *err)
{
	const char *path = opts->file ? opts->file : SOURCE_DEFAULT_FILE;
	char hex[GIT_OID_HEXSZ + 1];
	char chunk[8192];
	git_oid oid;
	FILE *f;
	size_t n;
	int ret = -1;

	f = fopen(path, "rb");
	if (!f) {
		sky_error_set(err, "%s: could not open file: %s", path, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sky_buf_add(&out->data, chunk, n);
	if (ferror(f)) {
		sky_error_set(err, "%s: could not read file: %s", path, strerror(errno));
		goto out;
	}
	git_libgit2_init();
	if (git_odb_hash(&oid, out->data.data ? out->data.data : "", out->data.len,
	                 GIT_OBJECT_BLOB) < 0) {
		git_fail(err, "could not hash the topology file");
		git_libgit2_shutdown();
		goto out;
	}
	git_libgit2_shutdown();
	git_oid_tostr(hex, sizeof(hex), &oid);
	snprintf(rev->id, sizeof(rev->id), "file:%s", hex);
	snprintf(rev->short_id, sizeof(rev->short_id), "file:%.7s", hex);
	free(rev->subject);
	rev->subject = sky_strdup(path);
	out->label = sky_strdup(path);
	ret = 0;
out:
	if (f)
		fclose(f);
	return ret;
}

static int source_bytes_read(struct source_bytes *out, struct source_revision *rev,
                             const struct source_opts *opts, bool want_bytes, struct sky_error *err)
{
	if (opts->repo)
		return source_repo_read(out, rev, opts, want_bytes, err);
	if (opts->ref || opts->path)
		return sky_error_set(err, "--ref and --path need --repo");
	return source_file_read(out, rev, opts, err);
}

int source_load(struct topology **out, struct source_revision *rev, const struct source_opts *opts,
                struct sky_error *err)
{
	char *text = NULL, *label = NULL;
	size_t len;
	int ret = source_load_text(out, rev, &text, &len, &label, opts, err);

	free(text);
	free(label);
	return ret;
}

int source_load_text(struct topology **out, struct source_revision *rev, char **text, size_t *len,
                     char **label, const struct source_opts *opts, struct sky_error *err)
{
	struct source_bytes b;
	int ret = -1;

	memset(&b, 0, sizeof(b));
	sky_buf_init(&b.data);
	if (source_bytes_read(&b, rev, opts, true, err) < 0)
		goto out;
	if (topology_load_string(out, b.label, b.data.data ? b.data.data : "", b.data.len, err) < 0)
		goto out;
	if (topology_dsn_check(*out, err) < 0) {
		topology_free(*out);
		*out = NULL;
		goto out;
	}
	*len = b.data.len;
	*text = sky_malloc(b.data.len + 1);
	memcpy(*text, b.data.data ? b.data.data : "", b.data.len);
	(*text)[b.data.len] = '\0';
	*label = b.label;
	b.label = NULL;
	ret = 0;
out:
	sky_buf_release(&b.data);
	free(b.label);
	return ret;
}

int source_revision_read(struct source_revision *rev, const struct source_opts *opts,
                         struct sky_error *err)
{
	struct source_bytes b;
	int ret;

	memset(&b, 0, sizeof(b));
	sky_buf_init(&b.data);
	ret = source_bytes_read(&b, rev, opts, false, err);
	sky_buf_release(&b.data);
	free(b.label);
	return ret;
}

int source_topology_load(struct topology **out, const struct source_opts *opts,
                         struct sky_error *err)
{
	struct source_revision rev;
	int ret;

	memset(&rev, 0, sizeof(rev));
	ret = source_load(out, &rev, opts, err);
	source_revision_release(&rev);
	return ret;
}
