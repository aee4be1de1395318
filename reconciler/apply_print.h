/*
 * apply_print: the output of a reconcile, shared by `skyreconcile` and `skyreconcile watch`
 * (docs/reconciler.md, "Output"). Results to stdout, each failure's error to stderr.
 */
#ifndef SKY_APPLY_PRINT_H
#define SKY_APPLY_PRINT_H

#include <stdbool.h>

#include "actual.h"
#include "apply.h"
#include "plan.h"
#include "source.h"

/* apply_runner.observe: "+ db1: add table public.x ... done" (ctx: a bool *, true for --json:
 * then only the errors, to stderr). */
void apply_print_observe(void *ctx, const struct plan *plan, size_t i, enum apply_event ev,
                         const struct apply_result *r);

/* "Revision: 1a2b3c4 add node db4" (nothing when rev is unknown). */
void apply_print_revision(const struct source_revision *rev);

/* The plan (or "No changes ..."), then the status section of state. */
void apply_print_plan_text(const struct plan *plan, const struct actual_state *state);

/* The plan as JSON with "revision" (when rev is not NULL) and "nodes". */
void apply_print_plan_json(const struct plan *plan, const struct source_revision *rev,
                           const struct actual_state *state);

/* "Apply complete: ..." / "Apply failed: ...", then the status section of after. */
void apply_print_result_text(const struct apply_result *r, const struct actual_state *after);

/* The plan, each op's status, the outcome and the nodes after the apply, as one JSON document. */
void apply_print_result_json(const struct plan *plan, const struct source_revision *rev,
                             const struct apply_result *r, const struct actual_state *after);

/* {"id", "short", "subject"} (new reference), or NULL when rev is unknown. */
json_t *apply_revision_json(const struct source_revision *rev);

#endif
