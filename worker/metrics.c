/*
 * metrics: the registry and its rendering as Prometheus text; common's sky_http serves it.
 * Locking: m->lock guards every field but http (set and cleared by the main thread only).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky_http.h"
#include "sky_mem.h"
#include "sky_prom.h"
#include "sky_time.h"

struct mtable {
	char *name;
	char *state;
	long long rows_copied;
};

struct sky_metrics {
	pthread_mutex_t lock;
	struct sky_http *http;

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
	sky_http_stop(m->http);
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
	double now;

	if (!m)
		return;
	now = sky_epoch_s();
	pthread_mutex_lock(&m->lock);
	m->batches++;
	m->events += events > 0 ? (unsigned long long)events : 0;
	m->apply_seconds += seconds > 0 ? seconds : 0;
	m->last_batch_time = now;
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

void sky_metrics_render(char **out, size_t *len, struct sky_metrics *m, double now)
{
	struct sky_buf b;
	size_t i, k;

	sky_buf_init(&b);
	pthread_mutex_lock(&m->lock);

	sky_prom_header(&b, "skyworker_up", "gauge", "1 while the worker process runs.");
	sky_prom_sample(&b, "skyworker_up", 1);

	sky_prom_header(&b, "skyworker_info", "gauge",
	                "The node this worker serves, as the last state read had it (always 1).");
	sky_buf_adds(&b, "skyworker_info{cascade=\"");
	sky_prom_label_escape(&b, m->cascade ? m->cascade : "");
	sky_buf_adds(&b, "\",node=\"");
	sky_prom_label_escape(&b, m->node ? m->node : "");
	sky_buf_adds(&b, "\",role=\"");
	sky_prom_label_escape(&b, m->role ? m->role : "");
	sky_buf_adds(&b, "\"} 1\n");

	sky_prom_header(&b, "skyworker_batches_total", "counter",
	                "Batches finished on the provider (applied, or found applied before).");
	sky_buf_addf(&b, "skyworker_batches_total %llu\n", m->batches);

	sky_prom_header(&b, "skyworker_events_total", "counter",
	                "Events applied from finished batches.");
	sky_buf_addf(&b, "skyworker_events_total %llu\n", m->events);

	sky_prom_header(
	    &b, "skyworker_apply_seconds_total", "counter",
	    "Seconds from a batch being offered to its finish, summed over finished batches.");
	sky_prom_sample(&b, "skyworker_apply_seconds_total", m->apply_seconds);

	if (m->last_batch_time > 0) {
		sky_prom_header(&b, "skyworker_last_batch_timestamp_seconds", "gauge",
		                "When the last batch was finished (Unix time).");
		sky_prom_sample(&b, "skyworker_last_batch_timestamp_seconds", m->last_batch_time);
	}
	if (m->last_tick_time > 0) {
		sky_prom_header(
		    &b, "skyworker_lag_seconds", "gauge",
		    "Now minus the time of the tick of the last finished batch (the provider's "
		    "clock).");
		sky_prom_sample(&b, "skyworker_lag_seconds", now - m->last_tick_time);
	}
	if (m->lag_ticks >= 0) {
		sky_prom_header(
		    &b, "skyworker_lag_ticks", "gauge",
		    "The provider's newest tick minus the last finished batch's tick, when that "
		    "batch was taken.");
		sky_buf_addf(&b, "skyworker_lag_ticks %lld\n", m->lag_ticks);
	}

	sky_prom_header(
	    &b, "skyworker_errors_total", "counter",
	    "Failures handled by the worker, by kind (retryable: backoff; permanent: recorded "
	    "and paused; lost_position: exit).");
	for (k = 0; k < SKY_METRICS_ERR_N; k++)
		sky_buf_addf(&b, "skyworker_errors_total{kind=\"%s\"} %llu\n", error_kinds[k],
		             m->errors[k]);

	sky_prom_header(&b, "skyworker_paused", "gauge", "1 while the node is paused.");
	sky_prom_sample(&b, "skyworker_paused", m->paused ? 1 : 0);

	if (m->n_tables > 0) {
		sky_prom_header(&b, "skyworker_table_state", "gauge",
		                "1 for the state each replicated table is in, 0 for the others.");
		for (i = 0; i < m->n_tables; i++) {
			for (k = 0; k < sizeof(table_states) / sizeof(table_states[0]); k++) {
				sky_buf_adds(&b, "skyworker_table_state{table=\"");
				sky_prom_label_escape(&b, m->tables[i].name);
				sky_buf_addf(&b, "\",state=\"%s\"} %d\n", table_states[k],
				             strcmp(m->tables[i].state, table_states[k]) == 0);
			}
		}
		sky_prom_header(&b, "skyworker_copy_rows", "gauge",
		                "Rows copied by the running (or last) initial copy of each table.");
		for (i = 0; i < m->n_tables; i++) {
			if (m->tables[i].rows_copied < 0)
				continue;
			sky_buf_adds(&b, "skyworker_copy_rows{table=\"");
			sky_prom_label_escape(&b, m->tables[i].name);
			sky_buf_addf(&b, "\"} %lld\n", m->tables[i].rows_copied);
		}
	}
	pthread_mutex_unlock(&m->lock);
	*len = b.len;
	*out = sky_buf_detach(&b);
}

static void render_cb(void *ctx, struct sky_buf *out, double now)
{
	char *text;
	size_t len;

	sky_metrics_render(&text, &len, ctx, now);
	sky_buf_add(out, text, len);
	free(text);
}

int sky_metrics_serve(struct sky_metrics *m, const char *listen, struct sky_error *err)
{
	return sky_http_start(&m->http, listen, "--metrics", render_cb, m, err);
}
