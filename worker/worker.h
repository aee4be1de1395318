/*
 * skyworker: the pull-apply loop of one node (see docs/worker.md).
 */
#ifndef SKY_WORKER_H
#define SKY_WORKER_H

#include <signal.h>
#include <stdbool.h>

struct sky_metrics;

struct sky_worker_options {
	const char *dsn;             /* the local node; may hold a password: never printed */
	const char *cascade;         /* NULL: the only cascade of the node */
	double poll_interval;        /* seconds to sleep when no batch is ready */
	bool once;                   /* exit 0 as soon as no batch is pending */
	int fetch_size;              /* events per cursor fetch */
	int leaf_batch_events;       /* a leaf's batches span ticks up to about this; 0: one */
	struct sky_metrics *metrics; /* NULL: no --metrics; borrowed, updated by the loop */
};

/* Set from a signal handler: finish or abort the current batch and return. */
extern volatile sig_atomic_t sky_worker_stop_requested;

/* Set from the SIGCHLD handler: a copy child ended; the idle sleep ends early. */
extern volatile sig_atomic_t sky_worker_child_exited;

/*
 * Run the worker until it is asked to stop (0), --once finds nothing pending (0), or a
 * permanent error that must stop it ("lost position"; --once: any permanent error) (1).
 * opt is borrowed for the duration of the call.
 */
int sky_worker_run(const struct sky_worker_options *opt);

#endif
