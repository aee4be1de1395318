/*
 * sky_http: the /metrics endpoint of both programs (`skyworker --metrics`, `skyreconcile watch
 * --metrics`), served by libmicrohttpd from its own thread (MHD_USE_INTERNAL_POLLING_THREAD).
 *
 * The endpoint knows nothing of what it serves: on every GET /metrics it calls render(ctx, buf,
 * now) from the HTTP thread, so render must take whatever lock guards the caller's registry.
 * Other paths answer 404, other methods 405. The thread starts with every signal blocked: the
 * program's handlers keep running in its main thread.
 */
#ifndef SKY_HTTP_H
#define SKY_HTTP_H

#include "sky_error.h"
#include "sky_mem.h"

/* Append the whole exposition to out; now is the epoch time of the request. */
typedef void (*sky_http_render_fn)(void *ctx, struct sky_buf *out, double now);

struct sky_http;

/*
 * Serve render on http://ADDR:PORT/metrics, listen given as "ADDR:PORT" (an IPv4 address or a
 * name, or "[IPv6]:PORT"). opt names the option in messages ("--metrics"). On success *out is
 * the running endpoint (stop it with sky_http_stop); -1 with err set on a bad address or a port
 * in use. ctx is borrowed and must stay valid until sky_http_stop.
 */
int sky_http_start(struct sky_http **out, const char *listen, const char *opt,
                   sky_http_render_fn render, void *ctx, struct sky_error *err);

/* Stop the endpoint (waits for its thread) and free it. NULL is fine. */
void sky_http_stop(struct sky_http *h);

#endif
