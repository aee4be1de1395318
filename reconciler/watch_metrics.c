/*
 * watch_metrics: the watch loop's registry and its Prometheus text (see watch_metrics.h).
 * Locking: reg.lock guards every field of reg.
 */
#include "watch_metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sky_prom.h"

/* results an operation can have in skyreconcile_operations_total */
enum op_result { OP_DONE = 0, OP_FAILED, OP_SKIPPED, OP_RESULT_N };

static const char *const op_result_names[OP_RESULT_N] = {
    [OP_DONE] = "done",
    [OP_FAILED] = "failed",
    [OP_SKIPPED] = "skipped",
};

static const char *const outcome_names[WATCH_OUTCOME_N] = {
    [WATCH_OUTCOME_NO_CHANGES] = "no_changes", [WATCH_OUTCOME_APPLIED] = "applied",
    [WATCH_OUTCOME_FAILED] = "failed",         [WATCH_OUTCOME_INVALID] = "invalid",
    [WATCH_OUTCOME_STOPPED] = "stopped",
};

static const char *const pull_names[WATCH_PULL_N] = {
    [WATCH_PULL_UP_TO_DATE] = "up_to_date", [WATCH_PULL_FORWARDED] = "forwarded",
    [WATCH_PULL_AHEAD] = "ahead",           [WATCH_PULL_DIVERGED] = "diverged",
    [WATCH_PULL_FAILED] = "failed",
};

static struct {
	pthread_mutex_t lock;
	unsigned long long reconciles[WATCH_OUTCOME_N];
	double reconcile_seconds;
	double last_reconcile_time; /* 0: none yet */
	double last_success_time;   /* 0: none yet */
	unsigned long long consecutive_failures;
	char *cascade;
	char *applied_id;    /* NULL: nothing applied yet */
	double applied_time; /* when applied_id was first reconciled successfully */
	unsigned long long ops[PLAN_OP_KIND_COUNT][OP_RESULT_N];
	unsigned long long drift_repairs;
	unsigned long long failovers_auto;
	unsigned long long failovers_manual;
	unsigned long long auto_pending; /* automatic failovers announced, not yet applied */
	unsigned long long lock_waits;
	double lock_wait_seconds;
	bool pulling; /* watch_metrics_pull was called: render the pull metrics */
	unsigned long long pulls[WATCH_PULL_N];
	bool pull_diverged;
	unsigned long long pull_failures; /* in a row */
	double pull_success_time;         /* 0: none yet */
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

const char *watch_outcome_name(enum watch_outcome outcome)
{
	if ((int)outcome < 0 || outcome >= WATCH_OUTCOME_N)
		return "unknown";
	return outcome_names[outcome];
}

void watch_metrics_reconcile(enum watch_outcome outcome, double seconds, double now,
                             const char *revision)
{
	bool ok = outcome == WATCH_OUTCOME_NO_CHANGES || outcome == WATCH_OUTCOME_APPLIED;

	if ((int)outcome < 0 || outcome >= WATCH_OUTCOME_N)
		return;
	pthread_mutex_lock(&reg.lock);
	reg.reconciles[outcome]++;
	reg.reconcile_seconds += seconds;
	reg.last_reconcile_time = now;
	if (ok) {
		reg.last_success_time = now;
		reg.consecutive_failures = 0;
		if (revision && revision[0] &&
		    (!reg.applied_id || strcmp(reg.applied_id, revision) != 0)) {
			free(reg.applied_id);
			reg.applied_id = sky_strdup(revision);
			reg.applied_time = now;
		}
	} else {
		reg.consecutive_failures++;
	}
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_set_cascade(const char *cascade)
{
	pthread_mutex_lock(&reg.lock);
	if (!reg.cascade || !cascade || strcmp(reg.cascade, cascade) != 0) {
		free(reg.cascade);
		reg.cascade = cascade ? sky_strdup(cascade) : NULL;
	}
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_apply(const struct plan *plan, const struct apply_result *result, bool drift)
{
	bool any_done = false;

	pthread_mutex_lock(&reg.lock);
	for (size_t i = 0; i < plan->n_ops && i < result->n_ops; i++) {
		enum plan_op_kind kind = plan->ops[i].kind;
		enum op_result r;

		if ((int)kind < 0 || kind >= PLAN_OP_KIND_COUNT)
			continue;
		switch (result->steps[i]) {
		case PLAN_STEP_DONE:
			r = OP_DONE;
			break;
		case PLAN_STEP_FAILED:
			r = OP_FAILED;
			break;
		case PLAN_STEP_SKIPPED:
			r = OP_SKIPPED;
			break;
		default:
			continue; /* not run: nothing happened to it */
		}
		reg.ops[kind][r]++;
		if (r != OP_DONE)
			continue;
		any_done = true;
		if (kind == PLAN_OP_FAILOVER) {
			if (reg.auto_pending > 0)
				reg.auto_pending--;
			else
				reg.failovers_manual++;
		}
	}
	if (drift && any_done)
		reg.drift_repairs++;
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_failover(bool automatic)
{
	pthread_mutex_lock(&reg.lock);
	if (automatic) {
		reg.failovers_auto++;
		reg.auto_pending++;
	} else {
		reg.failovers_manual++;
	}
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_lock_wait(double seconds)
{
	pthread_mutex_lock(&reg.lock);
	reg.lock_waits++;
	reg.lock_wait_seconds += seconds;
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_pull(enum watch_pull_result result, double now)
{
	if ((int)result < 0 || result >= WATCH_PULL_N)
		return;
	pthread_mutex_lock(&reg.lock);
	reg.pulling = true;
	reg.pulls[result]++;
	if (result == WATCH_PULL_FAILED) {
		reg.pull_failures++;
	} else {
		reg.pull_failures = 0;
		reg.pull_success_time = now;
		reg.pull_diverged = result == WATCH_PULL_AHEAD || result == WATCH_PULL_DIVERGED;
	}
	pthread_mutex_unlock(&reg.lock);
}

void watch_metrics_reset(void)
{
	pthread_mutex_lock(&reg.lock);
	free(reg.cascade);
	free(reg.applied_id);
	memset((char *)&reg + sizeof(reg.lock), 0, sizeof(reg) - sizeof(reg.lock));
	pthread_mutex_unlock(&reg.lock);
}

static void counter(struct sky_buf *b, const char *name, const char *help, double v)
{
	sky_prom_header(b, name, "counter", help);
	sky_prom_sample(b, name, v);
}

static void gauge(struct sky_buf *b, const char *name, const char *help, double v)
{
	sky_prom_header(b, name, "gauge", help);
	sky_prom_sample(b, name, v);
}

void watch_metrics_render(struct sky_buf *b, double now)
{
	unsigned long long total = 0;
	bool any_op = false;

	pthread_mutex_lock(&reg.lock);
	gauge(b, "skyreconcile_up", "1 while skyreconcile watch runs.", 1);
	if (reg.cascade) {
		sky_prom_header(b, "skyreconcile_watch_info", "gauge",
		                "The cascade of the last valid revision (always 1).");
		sky_buf_adds(b, "skyreconcile_watch_info{cascade=\"");
		sky_prom_label_escape(b, reg.cascade);
		sky_buf_adds(b, "\"} 1\n");
	}

	sky_prom_header(
	    b, "skyreconcile_reconciles_total", "counter",
	    "Reconciles of the watch loop, by outcome (no_changes, applied: the cascade "
	    "matches the revision; failed, invalid, stopped: it may not).");
	for (int k = 0; k < WATCH_OUTCOME_N; k++) {
		sky_buf_addf(b, "skyreconcile_reconciles_total{outcome=\"%s\"} %llu\n",
		             outcome_names[k], reg.reconciles[k]);
		total += reg.reconciles[k];
	}
	sky_prom_header(b, "skyreconcile_reconcile_duration_seconds", "summary",
	                "Time the reconciles took (load, lock, catalogs, plan, apply, record).");
	sky_prom_sample(b, "skyreconcile_reconcile_duration_seconds_sum", reg.reconcile_seconds);
	sky_buf_addf(b, "skyreconcile_reconcile_duration_seconds_count %llu\n", total);
	if (reg.last_reconcile_time > 0)
		gauge(b, "skyreconcile_last_reconcile_timestamp_seconds",
		      "When the last reconcile ended (Unix time).", reg.last_reconcile_time);
	if (reg.last_success_time > 0)
		gauge(b, "skyreconcile_last_success_timestamp_seconds",
		      "When a reconcile last left the cascade matching its revision (Unix time).",
		      reg.last_success_time);
	gauge(b, "skyreconcile_consecutive_failures",
	      "Reconciles that did not succeed since the last one that did.",
	      (double)reg.consecutive_failures);

	if (reg.applied_id) {
		sky_prom_header(b, "skyreconcile_applied_revision_info", "gauge",
		                "The revision the cascade was last brought to (always 1).");
		sky_buf_adds(b, "skyreconcile_applied_revision_info{revision=\"");
		sky_prom_label_escape(b, reg.applied_id);
		sky_buf_adds(b, "\"} 1\n");
		gauge(b, "skyreconcile_applied_revision_timestamp_seconds",
		      "When that revision was first applied or found applied (Unix time).",
		      reg.applied_time);
	}

	sky_prom_header(b, "skyreconcile_operations_total", "counter",
	                "Plan operations run by the watch loop, by kind and result (done, failed, "
	                "skipped after a failure).");
	for (int k = 0; k < PLAN_OP_KIND_COUNT; k++) {
		for (int r = 0; r < OP_RESULT_N; r++) {
			if (!reg.ops[k][r])
				continue;
			sky_buf_addf(
			    b, "skyreconcile_operations_total{kind=\"%s\",result=\"%s\"} %llu\n",
			    plan_op_kind_name((enum plan_op_kind)k), op_result_names[r],
			    reg.ops[k][r]);
			any_op = true;
		}
	}
	if (!any_op) /* one series, so the family is never empty */
		sky_buf_adds(b,
		             "skyreconcile_operations_total{kind=\"install\",result=\"done\"} 0\n");
	counter(b, "skyreconcile_drift_repairs_total",
	        "Reconciles that applied changes at a revision already applied: the catalogs had "
	        "drifted from it.",
	        (double)reg.drift_repairs);

	sky_prom_header(
	    b, "skyreconcile_failovers_total", "counter",
	    "Failovers carried out, by mode (automatic: by the failover policy; manual: "
	    "written into the file).");
	sky_buf_addf(b, "skyreconcile_failovers_total{mode=\"automatic\"} %llu\n",
	             reg.failovers_auto);
	sky_buf_addf(b, "skyreconcile_failovers_total{mode=\"manual\"} %llu\n",
	             reg.failovers_manual);

	counter(b, "skyreconcile_lock_waits_total",
	        "Reconciles that had to wait for another skyreconcile's lock.",
	        (double)reg.lock_waits);
	counter(b, "skyreconcile_lock_wait_seconds_total",
	        "Seconds spent waiting for another skyreconcile's lock.", reg.lock_wait_seconds);
	if (reg.pulling) {
		sky_prom_header(
		    b, "skyreconcile_pulls_total", "counter",
		    "Fetches of watch --pull, by result (up_to_date, forwarded: the local "
		    "branch is the remote's; ahead, diverged: it has commits the remote "
		    "lacks and is left alone; failed).");
		for (int k = 0; k < WATCH_PULL_N; k++)
			sky_buf_addf(b, "skyreconcile_pulls_total{result=\"%s\"} %llu\n",
			             pull_names[k], reg.pulls[k]);
		gauge(b, "skyreconcile_pull_diverged",
		      "1 while the local branch has commits the remote lacks (ahead or diverged): "
		      "the remote's commits are not followed.",
		      reg.pull_diverged ? 1 : 0);
		gauge(b, "skyreconcile_pull_consecutive_failures",
		      "Fetches of watch --pull that failed since the last one that worked.",
		      (double)reg.pull_failures);
		if (reg.pull_success_time > 0)
			gauge(b, "skyreconcile_last_pull_success_timestamp_seconds",
			      "When a fetch of watch --pull last worked (Unix time).",
			      reg.pull_success_time);
	}
	pthread_mutex_unlock(&reg.lock);
	(void)now;
}
