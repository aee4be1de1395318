/*
 * ops: the multi-step topology operations (docs/reconciler.md, "Topology changes").
 *
 * One file per operation. Each runs as ordered steps; every step is safe to re-run and is
 * skipped when the catalogs say it is done, so a run killed between two steps is finished by
 * the next run (which plans the rest from the catalogs). Each completed step is reported
 * through admin_step_done (the test hook that interrupts a run lives there).
 *
 * All functions: 0 on success, -1 with err set (the node named, the server's SQLSTATE kept).
 */
#ifndef SKY_OPS_H
#define SKY_OPS_H

#include <stdbool.h>

#include "admin.h"
#include "plan.h"
#include "sky_error.h"

/* pause.c */
int ops_pause_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);
int ops_resume_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);

/*
 * Set `paused` on node and wait (up to s->wait_ms) until its worker is quiescent: it
 * acknowledged the pause between batches (paused_ack), or no worker runs there (none holds
 * the worker lock; one that starts later sees the flag before it pulls anything).
 */
int ops_node_quiesce(const struct admin_session *s, const char *node, struct sky_error *err);

/* Set the node's paused flag to `paused` (resuming clears the acknowledgement). */
int ops_node_set_paused(const struct admin_session *s, const char *node, bool paused,
                        struct sky_error *err);

/*
 * Register node on provider at its own tick (pgq_set.register_subscriber_at), waiting up to
 * s->wait_ms while the provider does not have the tick yet (SQLSTATE SK002).
 */
int ops_register_at(const struct admin_session *s, const char *provider, const char *node,
                    const char *tick, struct sky_error *err);

/* change_provider.c */
int ops_change_provider_run(const struct admin_session *s, const struct plan_op *op,
                            struct sky_error *err);

/* switchover.c: op->from is the live root, op->node the branch that becomes the root */
int ops_switchover_run(const struct admin_session *s, const struct plan_op *op,
                       struct sky_error *err);

/* failover.c: fence a dead node; fail over from the dead root op->from to op->node */
int ops_fence_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);
int ops_failover_run(const struct admin_session *s, const struct plan_op *op,
                     struct sky_error *err);

/* rejoin.c: a fenced node comes back under op->provider; lost transactions to op->to */
int ops_rejoin_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);

/* rename.c */
int ops_rename_run(const struct admin_session *s, const struct plan_op *op, struct sky_error *err);

/* drop_node.c: drop a node; unregister a stale subscriber */
int ops_drop_node_run(const struct admin_session *s, const struct plan_op *op,
                      struct sky_error *err);
int ops_unregister_run(const struct admin_session *s, const struct plan_op *op,
                       struct sky_error *err);

/* Sleep ms milliseconds (waiting steps poll the catalogs). */
void ops_sleep_ms(int ms);

#endif
