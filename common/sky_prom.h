/*
 * sky_prom: writing the Prometheus text exposition format (version 0.0.4) into a sky_buf.
 * Shared by skyworker's and skyreconcile's metrics registries; no I/O, no outside library.
 */
#ifndef SKY_PROM_H
#define SKY_PROM_H

#include "sky_mem.h"

/* The content type of what the helpers below write. */
#define SKY_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge ...). */
void sky_prom_header(struct sky_buf *b, const char *name, const char *type, const char *help);

/* "name v" with v printed so that it parses back to the same double (%.17g). */
void sky_prom_sample(struct sky_buf *b, const char *name, double v);

/* Append s as a label value: backslash, double quote and newline escaped. */
void sky_prom_label_escape(struct sky_buf *b, const char *s);

#endif
