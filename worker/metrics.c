/*
 * metrics: the registry, its rendering as Prometheus text, and the libmicrohttpd endpoint.
 * Locking: m->lock guards every field but daemon (set and cleared by the main thread only).
 */
#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sky_mem.h"

struct mtable {
	char *name;
	char *state;
	long long rows_copied;
};

struct sky_metrics {
	pthread_mutex_t lock;
	struct MHD_Daemon *daemon;

	unsigned long long batches;
	unsigned long long events;
	double apply_seconds;
	double last_batch_time; /* epoch seconds; 0: no batch yet */
	double last_tick_time;  /* epoch seconds of the last finished batch's tick; 0: none */
	long long lag_ticks;    /* -1: unknown */
	unsigned long long errors[SKY_METRICS_ERR_N];
	bool paused;
	char *cascade;
	char *node;
	char *role;
	struct mtable *tables;
	size_t n_tables;
};

static const char *const error_kinds[SKY_METRICS_ERR_N] = {
    [SKY_METRICS_ERR_RETRYABLE] = "retryable",
    [SKY_METRICS_ERR_PERMANENT] = "permanent",
    [SKY_METRICS_ERR_LOST_POSITION] = "lost_position",
};

/* the states a table can be in: skyworker_table_state has one series per state */
static const char *const table_states[] = {"pending", "copying", "catching-up", "ok"};

struct sky_metrics *sky_metrics_new(void)
{
	struct sky_metrics *m = sky_calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->lag_ticks = -1;
	return m;
}

static void tables_clear(struct sky_metrics *m)
{
	size_t i;

	for (i = 0; i < m->n_tables; i++) {
		free(m->tables[i].name);
		free(m->tables[i].state);
	}
	free(m->tables);
	m->tables = NULL;
	m->n_tables = 0;
}

void sky_metrics_free(struct sky_metrics *m)
{
	if (!m)
		return;
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	tables_clear(m);
	free(m->cascade);
	free(m->node);
	free(m->role);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void sky_metrics_batch_done(struct sky_metrics *m, long long events, double seconds,
                            double tick_epoch, long long lag_ticks)
{
	struct timespec ts;

	if (!m)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&m->lock);
	m->batches++;
	m->events += events > 0 ? (unsigned long long)events : 0;
	m->apply_seconds += seconds > 0 ? seconds : 0;
	m->last_batch_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (tick_epoch > 0)
		m->last_tick_time = tick_epoch;
	m->lag_ticks = lag_ticks;
	pthread_mutex_unlock(&m->lock);
}

void sky_metrics_error(struct sky_metrics *m, enum sky_metrics_error_kind kind)
{
	if (!m || kind < 0 || kind >= SKY_METRICS_ERR_N)
		return;
	pthread_mutex_lock(&m->lock);
	m->errors[kind]++;
	pthread_mutex_unlock(&m->lock);
}

/* *dst = a copy of src unless it holds that already (no allocation in the common case) */
static void set_str(char **dst, const char *src)
{
	if ((*dst == NULL && src == NULL) || (*dst && src && strcmp(*dst, src) == 0))
		return;
	free(*dst);
	*dst = src ? sky_strdup(src) : NULL;
}

void sky_metrics_set_state(struct sky_metrics *m, const char *cascade, const char *node,
                           const char *role, bool paused)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	set_str(&m->cascade, cascade);
	set_str(&m->node, node);
	set_str(&m->role, role);
	m->paused = paused;
	pthread_mutex_unlock(&m->lock);
}

void sky_metrics_set_tables(struct sky_metrics *m, const struct sky_metrics_table *tables, size_t n)
{
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	tables_clear(m);
	m->tables = n ? sky_calloc(n, sizeof(*m->tables)) : NULL;
	for (i = 0; i < n; i++) {
		m->tables[i].name = sky_strdup(tables[i].name);
		m->tables[i].state = sky_strdup(tables[i].state);
		m->tables[i].rows_copied = tables[i].rows_copied;
	}
	m->n_tables = n;
	pthread_mutex_unlock(&m->lock);
}

void sky_metrics_label_escape(struct sky_buf *buf, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sky_buf_adds(buf, "\\\\");
		else if (*s == '"')
			sky_buf_adds(buf, "\\\"");
		else if (*s == '\n')
			sky_buf_adds(buf, "\\n");
		else
			sky_buf_addch(buf, *s);
	}
}

static void header(struct sky_buf *b, const char *name, const char *type, const char *help)
{
	sky_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a float sample the way Prometheus parses it (%.17g round-trips) */
static void sample(struct sky_buf *b, const char *name, double v)
{
	sky_buf_addf(b, "%s %.17g\n", name, v);
}

void sky_metrics_render(char **out, size_t *len, struct sky_metrics *m, double now)
{
	struct sky_buf b;
	size_t i, k;

	sky_buf_init(&b);
	pthread_mutex_lock(&m->lock);

	header(&b, "skyworker_up", "gauge", "1 while the worker process runs.");
	sample(&b, "skyworker_up", 1);

	header(&b, "skyworker_info", "gauge",
	       "The node this worker serves, as the last state read had it (always 1).");
	sky_buf_adds(&b, "skyworker_info{cascade=\"");
	sky_metrics_label_escape(&b, m->cascade ? m->cascade : "");
	sky_buf_adds(&b, "\",node=\"");
	sky_metrics_label_escape(&b, m->node ? m->node : "");
	sky_buf_adds(&b, "\",role=\"");
	sky_metrics_label_escape(&b, m->role ? m->role : "");
	sky_buf_adds(&b, "\"} 1\n");

	header(&b, "skyworker_batches_total", "counter",
	       "Batches finished on the provider (applied, or found applied before).");
	sky_buf_addf(&b, "skyworker_batches_total %llu\n", m->batches);

	header(&b, "skyworker_events_total", "counter", "Events applied from finished batches.");
	sky_buf_addf(&b, "skyworker_events_total %llu\n", m->events);

	header(&b, "skyworker_apply_seconds_total", "counter",
	       "Seconds from a batch being offered to its finish, summed over finished batches.");
	sample(&b, "skyworker_apply_seconds_total", m->apply_seconds);

	if (m->last_batch_time > 0) {
		header(&b, "skyworker_last_batch_timestamp_seconds", "gauge",
		       "When the last batch was finished (Unix time).");
		sample(&b, "skyworker_last_batch_timestamp_seconds", m->last_batch_time);
	}
	if (m->last_tick_time > 0) {
		header(&b, "skyworker_lag_seconds", "gauge",
		       "Now minus the time of the tick of the last finished batch (the provider's "
		       "clock).");
		sample(&b, "skyworker_lag_seconds", now - m->last_tick_time);
	}
	if (m->lag_ticks >= 0) {
		header(&b, "skyworker_lag_ticks", "gauge",
		       "The provider's newest tick minus the last finished batch's tick, when that "
		       "batch was taken.");
		sky_buf_addf(&b, "skyworker_lag_ticks %lld\n", m->lag_ticks);
	}

	header(&b, "skyworker_errors_total", "counter",
	       "Failures handled by the worker, by kind (retryable: backoff; permanent: recorded "
	       "and paused; lost_position: exit).");
	for (k = 0; k < SKY_METRICS_ERR_N; k++)
		sky_buf_addf(&b, "skyworker_errors_total{kind=\"%s\"} %llu\n", error_kinds[k],
		             m->errors[k]);

	header(&b, "skyworker_paused", "gauge", "1 while the node is paused.");
	sample(&b, "skyworker_paused", m->paused ? 1 : 0);

	if (m->n_tables > 0) {
		header(&b, "skyworker_table_state", "gauge",
		       "1 for the state each replicated table is in, 0 for the others.");
		for (i = 0; i < m->n_tables; i++) {
			for (k = 0; k < sizeof(table_states) / sizeof(table_states[0]); k++) {
				sky_buf_adds(&b, "skyworker_table_state{table=\"");
				sky_metrics_label_escape(&b, m->tables[i].name);
				sky_buf_addf(&b, "\",state=\"%s\"} %d\n", table_states[k],
				             strcmp(m->tables[i].state, table_states[k]) == 0);
			}
		}
		header(&b, "skyworker_copy_rows", "gauge",
		       "Rows copied by the running (or last) initial copy of each table.");
		for (i = 0; i < m->n_tables; i++) {
			if (m->tables[i].rows_copied < 0)
				continue;
			sky_buf_adds(&b, "skyworker_copy_rows{table=\"");
			sky_metrics_label_escape(&b, m->tables[i].name);
			sky_buf_addf(&b, "\"} %lld\n", m->tables[i].rows_copied);
		}
	}
	pthread_mutex_unlock(&m->lock);
	*len = b.len;
	*out = sky_buf_detach(&b);
}

/* ---------------------------------------------------------------- HTTP (MHD's thread) */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct sky_metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int status = MHD_HTTP_OK;
	struct timespec ts;
	char *body;
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
		clock_gettime(CLOCK_REALTIME, &ts);
		sky_metrics_render(&body, &len, m, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
	                                              : "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Split "ADDR:PORT" / "[ADDR]:PORT" into a socket address (numeric or a name). */
static int listen_resolve(struct addrinfo **out, const char *listen, struct sky_error *err)
{
	int ret = -1;
	char *host = NULL;
	const char *port, *colon;
	struct addrinfo hints;
	int rc;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':') {
			sky_error_set(err, "invalid --metrics \"%s\": expected ADDR:PORT", listen);
			goto out;
		}
		host = sky_strndup(listen + 1, (size_t)(close - listen - 1));
		port = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || colon == listen) {
			sky_error_set(err, "invalid --metrics \"%s\": expected ADDR:PORT", listen);
			goto out;
		}
		host = sky_strndup(listen, (size_t)(colon - listen));
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port)) {
		sky_error_set(err, "invalid --metrics \"%s\": expected ADDR:PORT", listen);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0) {
		sky_error_set(err, "invalid --metrics \"%s\": %s", listen, gai_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	free(host);
	return ret;
}

int sky_metrics_serve(struct sky_metrics *m, const char *listen, struct sky_error *err)
{
	int ret = -1;
	struct addrinfo *ai = NULL;
	sigset_t all, old;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	int port;

	if (listen_resolve(&ai, listen, err) < 0)
		goto out;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	port = ai->ai_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port)
	                                 : ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port);
	/* the HTTP thread inherits this mask: signals go to the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->daemon =
	    MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR,
	                     ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		sky_error_set(err, "could not serve metrics on \"%s\" (address in use?)", listen);
		goto out;
	}
	ret = 0;
out:
	if (ai)
		freeaddrinfo(ai);
	return ret;
}
