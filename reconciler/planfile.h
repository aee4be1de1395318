/*
 * planfile: saved plans (`--dry-run --out FILE`, `skyreconcile apply FILE`). No I/O but the
 * caller's: the document is built and checked here, read and written by cmd_apply.c.
 *
 * A saved plan names its source (file, or repository, ref and path), the revision it was made
 * from, a digest of the actual state it was made against (what the plan depends on: nodes'
 * identities, roles, providers, pause and fencing, members, subscribers, tables, sequences,
 * plan-time checks; not ticks, errors or copy progress), and the plan's operations. Applying it
 * re-reads the source and the catalogs (under the lock) and refuses, as "stale plan", when the
 * revision, the state digest or the operations differ: what runs is exactly what was shown.
 */
#ifndef SKY_PLANFILE_H
#define SKY_PLANFILE_H

#include <jansson.h>

#include "actual.h"
#include "plan.h"
#include "sky_error.h"
#include "source.h"

#define PLANFILE_FORMAT 1

/* The digest of what a plan depends on in the actual state (hex; caller frees). */
char *planfile_state_digest(const struct actual_state *state);

/*
 * The saved-plan document (new reference). source and revision as the plan was made from;
 * plan must have no problems.
 */
json_t *planfile_build(const struct plan *plan, const struct source_opts *source,
                       const struct source_revision *rev, const struct actual_state *state);

/*
 * Read the source options back from a saved plan (borrowed from doc: valid while it lives).
 * -1 with err set when the document is not a saved plan of this format.
 */
int planfile_source(struct source_opts *out, const json_t *doc, struct sky_error *err);

/*
 * 0 when the plan made now (plan, from rev and state) is the saved one; otherwise -1 with
 * err->message "stale plan: ..." saying what changed.
 */
int planfile_check(const json_t *doc, const struct plan *plan, const struct source_revision *rev,
                   const struct actual_state *state, struct sky_error *err);

#endif
