/*
 * copy: initial copies of tables (DESIGN invariant 7), each in its own child process so that
 * several run at once while the batch loop goes on.
 *
 * The batch loop claims pending tables (pgq_set.claim_copies) between batches; from then on it
 * sets their events aside (apply.c). A child copies one table from the provider:
 *   - from the root: COPY in a repeatable-read transaction whose snapshot is recorded
 *     (copy_done(snapshot)); the events visible in it are in the copy;
 *   - from a branch: COPY in a repeatable-read transaction together with the branch's completed
 *     tick (copy_done(tick)): the branch applies whole batches per transaction, so the copy is
 *     the table as of that tick.
 * The local side truncates the table (creating its structure first when the topology asked for
 * it), streams the rows in with COPY and calls copy_done in the same transaction, so a copy is
 * all or nothing. The table is then 'catching-up' and the batch loop applies what the copy
 * lacks, then hands it over to 'ok' at a batch boundary.
 */
#ifndef SKY_COPY_H
#define SKY_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"

/* What a copy needs; all borrowed. */
struct sky_copy_params {
	const char *local_dsn;
	const char *provider_node;
	const char *provider_location; /* may hold a password: never printed */
	const char *cascade;
	const char *node;
	const char *table; /* schema.relname, unquoted */
};

/*
 * Copy one table (runs in the child). 0: copied (or nothing to do: the table is no longer
 * 'copying'); -1: failed, recorded with pgq_set.copy_failed; -2: stopped by a signal; -3: the
 * provider (a branch) is still copying the table itself: try again soon.
 */
/* What a copy process's exit status means to the worker (sky_copies_reap). */
enum sky_copy_exit {
	SKY_COPY_EXIT_DONE = 0,      /* copied and committed: the table is catching up */
	SKY_COPY_EXIT_FAILED = 1,    /* failed, recorded with copy_failed: retried with backoff */
	SKY_COPY_EXIT_STOPPED = 2,   /* stopped by SIGTERM (worker stopping, pause): rolled back */
	SKY_COPY_EXIT_ORPHANED = 3,  /* its worker was gone before it started */
	SKY_COPY_EXIT_NOT_READY = 4, /* the provider has not got the table in sync: retried soon */
};

int sky_copy_table(const struct sky_copy_params *p, struct sky_error *err);

/* The parent's running and failed copies. */
struct sky_copies;

struct sky_copies *sky_copies_new(void);
/* Stops running children first (sky_copies_stop). */
void sky_copies_free(struct sky_copies *c);

/*
 * Make sure a child copies each of tables[0..n) (tables now in state 'copying'): start one
 * where none runs and the table's retry pause (after a failed attempt) is over. Children
 * copying from another provider than p->provider_node are stopped (restarted later).
 */
void sky_copies_start(struct sky_copies *c, char *const *tables, size_t n,
                      const struct sky_copy_params *p);

/*
 * Forget the tables that are not in tables[0..n) any more (removed, or done) and have no
 * child running: their retry pause goes with them, so a table removed during a failing copy
 * and added again is copied at once.
 */
void sky_copies_forget(struct sky_copies *c, char *const *tables, size_t n);

/* Collect finished children without blocking. */
void sky_copies_reap(struct sky_copies *c);

/* Children running now. */
size_t sky_copies_running(const struct sky_copies *c);

/* Failed attempts since the start (for --once). */
size_t sky_copies_failures(const struct sky_copies *c);

/* Ask every child to stop (SIGTERM), wait for them; kill (SIGKILL) those left 5 s later. */
void sky_copies_stop(struct sky_copies *c);

#endif
