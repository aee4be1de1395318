/*
 * reconcile: the flow of one reconcile (see reconcile.h).
 */
#include "reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "drift.h"
#include "revision.h"
#include "sky_log.h"
#include "sky_mem.h"

/* The pgq_set install script, generated from sql/install.sql (cmake/embed_sql.cmake). */
extern const char sky_sql_install[];

void reconcile_init(struct reconcile *rc)
{
	memset(rc, 0, sizeof(*rc));
}

int reconcile_admin_run(void *ctx, const struct plan_op *op, struct sky_error *err)
{
	return admin_op_run(ctx, op, err);
}

int reconcile_plan(struct reconcile *rc, const struct topology *topo, struct source_revision *rev,
                   int lock_timeout_ms, int wait_ms, const volatile sig_atomic_t *stop,
                   struct sky_error *err)
{
	struct plan_options popts;

	rc->topo = topo;
	if (rev) {
		rc->rev = *rev;
		memset(rev, 0, sizeof(*rev));
	}
	if (admin_sql_version(&rc->sql_version, sky_sql_install, err) < 0)
		return -1;
	rc->sql_digest = admin_sql_digest(sky_sql_install);
	/* locked before anything is read: the plan is made from what the holder left */
	if (lock_timeout_ms >= 0 &&
	    lock_acquire(&rc->lock, topo, lock_timeout_ms, stop, &rc->lock_waited_ms, err) < 0)
		return -1;
	rc->conns = sky_calloc(topo->n_nodes + 1, sizeof(*rc->conns));
	if (catalog_state_read(&rc->actual, rc->conns, topo, err) < 0)
		return -1;
	memset(&popts, 0, sizeof(popts));
	popts.sql_version = rc->sql_version;
	popts.sql_digest = rc->sql_digest;
	popts.lost_dir = rc->lost_dir ? rc->lost_dir : ".";
	if (plan_build(&rc->plan, topo, rc->actual, &popts, err) < 0)
		return -1;
	/* what the catalog functions do not show: triggers dropped by hand */
	drift_plan_add(rc->plan, rc->conns, topo, rc->actual);
	rc->session.topo = topo;
	rc->session.conns = rc->conns;
	rc->session.install_sql = sky_sql_install;
	rc->session.sql_version = rc->sql_version;
	rc->session.sql_digest = rc->sql_digest;
	rc->session.wait_ms = wait_ms;
	return 0;
}

int reconcile_apply(struct reconcile *rc, struct apply_result *out,
                    void (*observe)(void *ctx, const struct plan *plan, size_t i,
                                    enum apply_event ev, const struct apply_result *result),
                    void *observe_ctx, const volatile sig_atomic_t *stop)
{
	struct apply_runner runner = {
	    .run = reconcile_admin_run,
	    .ctx = &rc->session,
	    .observe = observe,
	    .observe_ctx = observe_ctx,
	    .stop = stop,
	};

	return apply_plan(out, rc->plan, &runner);
}

struct actual_state *reconcile_read_again(struct reconcile *rc)
{
	struct actual_state *after = NULL;
	struct sky_error err;

	sky_error_clear(&err);
	if (catalog_state_read(&after, rc->conns, rc->topo, &err) < 0) {
		sky_debug("could not read the catalogs after applying: %s", err.message);
		return NULL;
	}
	return after;
}

size_t reconcile_record(struct reconcile *rc, bool ok, const char *error)
{
	return revision_record(rc->conns, rc->topo, &rc->rev, ok, error);
}

void reconcile_release(struct reconcile *rc)
{
	plan_free(rc->plan);
	actual_state_free(rc->actual);
	if (rc->topo && rc->conns)
		catalog_conns_close(rc->conns, rc->topo->n_nodes);
	free(rc->conns);
	lock_release(rc->lock);
	free(rc->sql_version);
	free(rc->sql_digest);
	source_revision_release(&rc->rev);
	memset(rc, 0, sizeof(*rc));
}
