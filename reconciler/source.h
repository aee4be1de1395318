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

#endif
