/*
 * sky_error: the one error contract of skycascade (see docs/errors.md).
 *
 * Functions return 0 on success and a negative value on failure; the details travel in a
 * caller-provided struct sky_error. The struct is owned by the caller and needs no release:
 * the message is stored inline (truncated to SKY_ERROR_MSG_LEN).
 */
#ifndef SKY_ERROR_H
#define SKY_ERROR_H

#include <stdbool.h>

#define SKY_ERROR_MSG_LEN 1024

/* pgq_set's own SQLSTATEs (class SK, docs/errors.md) */
#define SKY_SQLSTATE_DEFERRABLE_KEY "SK001" /* add_table: deferrable primary key refused */
#define SKY_SQLSTATE_NO_TICK "SK002"        /* register_subscriber_at: tick not in the queue */
#define SKY_SQLSTATE_FENCED "SK003"         /* worker_state: the node is marked dead */
#define SKY_SQLSTATE_LOST_POSITION "SK004"  /* the batch offered is not the node's next */

struct sky_error {
	char message[SKY_ERROR_MSG_LEN];
	char sqlstate[6]; /* "" when the error did not come from the server */
	bool retryable;   /* connection lost, serialization failure, deadlock ... */
};

/* Reset err to "no error". err may be NULL. */
void sky_error_clear(struct sky_error *err);

/* Set the message (printf style) and return -1, so that `return sky_error_set(...)` works. */
int sky_error_set(struct sky_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the existing message with context: "ctx: old message". Returns -1. */
int sky_error_prefix(struct sky_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True for SQLSTATEs after which the same work may succeed when retried. */
bool sky_sqlstate_is_retryable(const char *sqlstate);

#endif
