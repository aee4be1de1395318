/*
 * metrics: the worker's Prometheus registry and its /metrics endpoint (docs/worker.md,
 * "Metrics").
 *
 * The loop updates a small registry (counters and gauges) at the points where a batch ends, an
 * error is handled and the state is read; common's sky_http (libmicrohttpd) serves it as Prometheus
 * text from its own thread, so every access goes through the registry's mutex.
 *
 * Copy children (copy.c) are fork()ed while that thread runs: a child has only the forking
 * thread, closes every inherited descriptor above stderr (the listening socket and any scrape
 * connection included) and never calls anything here, so neither the daemon nor the mutex (which
 * the HTTP thread may have held at the fork) is ever used in a child.
 *
 * Every update function accepts m == NULL and then does nothing: the loop calls them whether or
 * not --metrics was given.
 */
#ifndef SKY_METRICS_H
#define SKY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "sky_error.h"

enum sky_metrics_error_kind {
	SKY_METRICS_ERR_RETRYABLE,
	SKY_METRICS_ERR_PERMANENT,
	SKY_METRICS_ERR_LOST_POSITION,
	SKY_METRICS_ERR_N
};

/* One replicated table as the node's catalog has it (borrowed by sky_metrics_set_tables). */
struct sky_metrics_table {
	const char *name;
	const char *state;     /* pending / copying / catching-up / ok */
	long long rows_copied; /* -1: unknown */
};

struct sky_metrics;

/* A registry without an endpoint (tests, and the start of sky_metrics_serve). Free with
 * sky_metrics_free. */
struct sky_metrics *sky_metrics_new(void);

/*
 * Serve m on http://ADDR:PORT/metrics, listen given as "ADDR:PORT" (an IPv4 address, or
 * "[IPv6]:PORT"). The HTTP thread starts with every signal blocked, so the worker's handlers run
 * in the main thread. 0, or -1 with err set (bad address, port in use).
 */
int sky_metrics_serve(struct sky_metrics *m, const char *listen, struct sky_error *err);

/* Stop the endpoint (if serving) and free m. NULL is fine. */
void sky_metrics_free(struct sky_metrics *m);

/*
 * A batch was finished on the provider: events applied from it (0 when it was applied before),
 * seconds from its being offered to its finish, the epoch time of its tick (the provider's
 * clock) and the provider's newest tick id minus the batch's (-1: unknown).
 */
void sky_metrics_batch_done(struct sky_metrics *m, long long events, double seconds,
                            double tick_epoch, long long lag_ticks);

void sky_metrics_error(struct sky_metrics *m, enum sky_metrics_error_kind kind);

/* The node's identity and pause flag, as the last state read had them (strings copied). */
void sky_metrics_set_state(struct sky_metrics *m, const char *cascade, const char *node,
                           const char *role, bool paused);

/* Replace the table list (copied). */
void sky_metrics_set_tables(struct sky_metrics *m, const struct sky_metrics_table *tables,
                            size_t n);

/*
 * The registry in the Prometheus text format (version 0.0.4), lag computed against now (epoch
 * seconds). *out is NUL-terminated; the caller frees it with free().
 */
void sky_metrics_render(char **out, size_t *len, struct sky_metrics *m, double now);

#endif
