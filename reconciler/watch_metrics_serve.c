/*
 * watch_metrics_serve: the HTTP side of watch_metrics.h, through common's sky_http
 * (libmicrohttpd). Not in the plan engine.
 */
#include "sky_http.h"
#include "watch_metrics.h"

static struct sky_http *endpoint; /* set and cleared by the main thread only */

static void render_cb(void *ctx, struct sky_buf *out, double now)
{
	(void)ctx;
	watch_metrics_render(out, now);
}

int watch_metrics_serve(const char *listen, struct sky_error *err)
{
	if (endpoint)
		return sky_error_set(err, "metrics are already served");
	return sky_http_start(&endpoint, listen, "--metrics", render_cb, NULL, err);
}

void watch_metrics_stop(void)
{
	sky_http_stop(endpoint);
	endpoint = NULL;
}
