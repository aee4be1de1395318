/*
 * source: where the desired state comes from. Either a file (`-f FILE`) or a file inside
 * a git commit (`--repo DIR [--ref REF] [--path P]`, read with libgit2 straight from the
 * object database: the working tree and the index are never looked at).
 */
#ifndef SKY_SOURCE_H
#define SKY_SOURCE_H

#include "sky_error.h"
#include "topology.h"

#define SOURCE_DEFAULT_FILE "topology.yaml"
#define SOURCE_DEFAULT_REF "HEAD"

struct source_opts {
	const char *file; /* -f; used when repo is NULL (default SOURCE_DEFAULT_FILE) */
	const char *repo; /* --repo: a git repository (work tree or bare); NULL for a file */
	const char *ref;  /* --ref: anything git rev-parse takes; NULL = SOURCE_DEFAULT_REF */
	const char *path; /* --path inside the repository; NULL = SOURCE_DEFAULT_FILE */
};

/*
 * Load and validate the topology from opts. Errors name the place: a file's own name, or
 * "REF:PATH" for a file in a commit (e.g. `HEAD:topology.yaml:3:7: ...`), the way git
 * names a file in a commit. *out is set on success; the caller frees it with topology_free.
 */
int source_topology_load(struct topology **out, const struct source_opts *opts,
                         struct sky_error *err);

/*
 * Which version of the desired state was read (docs/reconciler.md, "Revision"):
 *  - from a commit: id = the commit's full hex id, short_id its first 7 hex digits, subject
 *    the commit's summary line;
 *  - from a file: id = "file:" + the git blob id of the file's bytes (what `git hash-object`
 *    prints), short_id = "file:" + its first 7 hex digits, subject = the file's name.
 * Owned by the caller: source_revision_release frees subject (the arrays are inline).
 */
#define SOURCE_REVISION_ID_LEN 80
struct source_revision {
	char id[SOURCE_REVISION_ID_LEN];       /* "" when unknown */
	char short_id[SOURCE_REVISION_ID_LEN]; /* "" when unknown */
	char *subject;                         /* NULL when unknown */
};

void source_revision_release(struct source_revision *rev);

/*
 * source_topology_load, and the revision it read. *rev is filled whenever the bytes could be
 * read, also when they do not make a valid topology (the failed attempt can then be recorded
 * under its revision); rev->id is "" when not even the commit or the file could be read.
 * rev must be zeroed (or released) on entry.
 */
int source_load(struct topology **out, struct source_revision *rev, const struct source_opts *opts,
                struct sky_error *err);

/*
 * source_load, and also the bytes it parsed (*text, NUL-terminated, *len bytes) and the name
 * errors use for them (*label): what the failover policy edits. The caller frees *text and
 * *label with free(); they are set only on success.
 */
int source_load_text(struct topology **out, struct source_revision *rev, char **text, size_t *len,
                     char **label, const struct source_opts *opts, struct sky_error *err);

/*
 * Only the revision (cheap: no parse). The watch loop reads it on every change of the
 * repository or the file and reconciles when it moved.
 */
int source_revision_read(struct source_revision *rev, const struct source_opts *opts,
                         struct sky_error *err);

#endif
