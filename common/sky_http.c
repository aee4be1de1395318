/*
 * sky_http: the /metrics endpoint on libmicrohttpd (see sky_http.h).
 */
#include "sky_http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sky_prom.h"
#include "sky_time.h"

struct sky_http {
	struct MHD_Daemon *daemon;
	sky_http_render_fn render;
	void *ctx;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct sky_http *h = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	struct sky_buf body;
	size_t len;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
		                                       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "not found: the metrics are on /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
		                                       MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_FOUND;
	} else {
		char *text;

		sky_buf_init(&body);
		h->render(h->ctx, &body, sky_epoch_s());
		len = body.len;
		text = sky_buf_detach(&body);
		resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(text);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        status == MHD_HTTP_OK ? SKY_PROM_CONTENT_TYPE
	                                              : "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Split "ADDR:PORT" / "[ADDR]:PORT" into a socket address (numeric or a name). */
static int listen_resolve(struct addrinfo **out, const char *listen, const char *opt,
                          struct sky_error *err)
{
	int ret = -1;
	char *host = NULL;
	const char *port, *colon;
	struct addrinfo hints;
	int rc;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':') {
			sky_error_set(err, "invalid %s \"%s\": expected ADDR:PORT", opt, listen);
			goto out;
		}
		host = sky_strndup(listen + 1, (size_t)(close - listen - 1));
		port = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || colon == listen) {
			sky_error_set(err, "invalid %s \"%s\": expected ADDR:PORT", opt, listen);
			goto out;
		}
		host = sky_strndup(listen, (size_t)(colon - listen));
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port)) {
		sky_error_set(err, "invalid %s \"%s\": expected ADDR:PORT", opt, listen);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0) {
		sky_error_set(err, "invalid %s \"%s\": %s", opt, listen, gai_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	free(host);
	return ret;
}

int sky_http_start(struct sky_http **out, const char *listen, const char *opt,
                   sky_http_render_fn render, void *ctx, struct sky_error *err)
{
	int ret = -1;
	struct addrinfo *ai = NULL;
	struct sky_http *h = NULL;
	sigset_t all, old;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	int port;

	if (listen_resolve(&ai, listen, opt, err) < 0)
		goto out;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	port = ai->ai_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port)
	                                 : ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port);
	h = sky_calloc(1, sizeof(*h));
	h->render = render;
	h->ctx = ctx;
	/* the HTTP thread inherits this mask: signals go to the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	h->daemon =
	    MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR,
	                     ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->daemon) {
		sky_error_set(err, "could not serve metrics on \"%s\" (address in use?)", listen);
		goto out;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	free(h);
	if (ai)
		freeaddrinfo(ai);
	return ret;
}

void sky_http_stop(struct sky_http *h)
{
	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	free(h);
}
