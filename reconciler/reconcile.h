/*
 * reconcile: one reconcile, the flow both `skyreconcile` (cmd_apply.c) and `skyreconcile watch`
 * (cmd_watch.c) run: take the lock, read every node's catalog, build the plan, apply it with
 * the one apply loop (apply.c), read the catalogs again, record the revision. Printing is the
 * caller's (apply_print.c has the text output both use).
 *
 * struct reconcile owns everything it holds; reconcile_release frees it all (and releases the
 * lock). Fields are read by the caller between the calls.
 */
#ifndef SKY_RECONCILE_H
#define SKY_RECONCILE_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>

#include "actual.h"
#include "admin.h"
#include "apply.h"
#include "lock.h"
#include "plan.h"
#include "source.h"
#include "topology.h"

struct reconcile {
	const struct topology *topo; /* the desired state (borrowed: outlives the struct) */
	struct source_revision rev;  /* its revision */
	PGconn **conns;              /* one per topology node, the apply's sessions */
	struct actual_state *actual; /* as read before the plan */
	struct plan *plan;
	struct reconcile_lock *lock; /* NULL when not taken (--dry-run) */
	long long lock_waited_ms;    /* how long reconcile_plan waited for another skyreconcile
	                                to release the lock; 0 when it did not wait */
	char *sql_version;
	char *sql_digest;
	struct admin_session session; /* valid after reconcile_plan */
	const char *lost_dir;         /* where a rejoin writes lost transactions (NULL: ".");
	                                 set by the caller before reconcile_plan */
};

/* Zero it. */
void reconcile_init(struct reconcile *rc);

/*
 * Plan for topo (borrowed until reconcile_release) and rev (taken over: its contents move into
 * rc->rev and *rev is zeroed; rev may be NULL): take the lock unless lock_timeout_ms < 0
 * (--dry-run), read the catalogs and build the plan. wait_ms: each step's wait
 * (--wait-timeout).
 */
int reconcile_plan(struct reconcile *rc, const struct topology *topo, struct source_revision *rev,
                   int lock_timeout_ms, int wait_ms, const volatile sig_atomic_t *stop,
                   struct sky_error *err);

/*
 * Apply rc->plan (no problems allowed) through admin_op_run with observe telling about each
 * step; *out as apply_plan (released by the caller). Returns apply_plan's value.
 */
int reconcile_apply(struct reconcile *rc, struct apply_result *out,
                    void (*observe)(void *ctx, const struct plan *plan, size_t i,
                                    enum apply_event ev, const struct apply_result *result),
                    void *observe_ctx, const volatile sig_atomic_t *stop);

/* The catalogs as they are now (after an apply), or NULL when they could not be read. */
struct actual_state *reconcile_read_again(struct reconcile *rc);

/* Record rc->rev on the nodes (revision.c): applied when ok, attempted with error otherwise. */
size_t reconcile_record(struct reconcile *rc, bool ok, const char *error);

void reconcile_release(struct reconcile *rc);

/* admin_op_run as an apply_runner.run (ctx: the struct admin_session). */
int reconcile_admin_run(void *ctx, const struct plan_op *op, struct sky_error *err);

#endif
