/*
 * progress: what the catalogs say is still under way — tables not in sync yet (pending,
 * copying with its row counts, catching-up, a failed copy attempt) and workers' errors —
 * as status lines and JSON for the plan output (docs/reconciler.md). These are not changes:
 * the workers act on them, the reconciler only shows them.
 *
 * Pure formatting of a struct actual_state, no I/O. Everything shown comes from the catalog
 * reader, which has already folded worker texts onto one line and masked the passwords of
 * the topology's DSNs; nothing here prints a DSN.
 */
#ifndef SKY_PROGRESS_H
#define SKY_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>

#include "actual.h"
#include "sky_mem.h"

/* True when the table is not in sync yet (its state is not "ok"). */
bool progress_table_syncing(const struct actual_table *t);

/*
 * Append one status line for table t of node `node`, no indent, no newline:
 * "db2: public.a copying 45000/100000 rows (45%)", "db3: public.x pending",
 * "db2: public.y catching-up", "db2: public.z copying (last attempt failed: ...)".
 */
void progress_table_describe(struct sky_buf *out, const char *node, const struct actual_table *t);

/*
 * Append every status line of state, "  db2: ...\n" each, nodes in state order (a node's
 * worker error first, then its tables not in sync, in catalog order). Unreachable nodes have
 * no lines (the plan reports them). Returns the number of lines appended.
 */
size_t progress_lines(struct sky_buf *out, const struct actual_state *state);

/*
 * The state's nodes as a JSON array: [{"node", "reachable", "worker_error", "tables": [{"table",
 * "state", "rows_copied", "rows_estimate", "copy_error"}]}], every registered table (ok ones
 * too); unknown numbers and absent errors are null. New reference (json_decref).
 */
json_t *progress_to_json(const struct actual_state *state);

#endif
