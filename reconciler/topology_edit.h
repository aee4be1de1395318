/*
 * topology_edit: write a decision of the failover policy back into topology.yaml's text, as the
 * minimal edit a person would make by hand (docs/reconciler.md, "Writing a decision back to
 * git"). Pure: libyaml only (no libpq, no libgit2), so it belongs with the plan engine.
 */
#ifndef SKY_TOPOLOGY_EDIT_H
#define SKY_TOPOLOGY_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"
#include "topology.h"

struct policy_decision; /* policy.h */

/*
 * Rewrite topology.yaml TEXT (len bytes; file is the name used in messages) for a failover
 * decision d (d->dead, d->chosen, d->proposed = the topology after the failover): the dead root
 * gets `dead: true`, the chosen node `role: root` and no provider line, the dead root's other
 * subscribers `provider: CHOSEN`; every other byte (comments, order, quoting, indentation, flow
 * or block style, line endings) is kept. The result is parsed again (topology_load_string) and
 * must give a topology equal to d->proposed; otherwise -1 and err says why, and *out is not
 * set. On success *out is a NUL-terminated string of the new text (its length is strlen: the
 * input holds no NUL, or it would not parse); the caller frees it with free().
 */
int topology_edit_failover(char **out, const char *file, const char *text, size_t len,
                           const struct policy_decision *d, struct sky_error *err);

/*
 * True when a and b describe the same desired state (every field the plan engine reads; the
 * file name and the positions are not compared). When they differ and why is not NULL, *why
 * gets a short description of the first difference (why_len bytes at most; never a dsn).
 * A field added to struct topology must be added here too.
 */
bool topology_equal(const struct topology *a, const struct topology *b, char *why, size_t why_len);

#endif
