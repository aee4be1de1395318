/*
 * autofail: the automated failover policy of skyreconcile watch (see autofail.h).
 */
#include "autofail.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actual.h"
#include "catalog.h"
#include "failover_history.h"
#include "gitwrite.h"
#include "lock.h"
#include "policy.h"
#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "topology_edit.h"
#include "watch_metrics.h"
#include "sky_time.h"

/* A probe must be answered within this; a connection attempt within AUTOFAIL_CONNECT_S. */
#define AUTOFAIL_ANSWER_MS 1000
#define AUTOFAIL_CONNECT_S 2
/* a decision that declined is made again after this (it locks and reads every node) */
#define AUTOFAIL_DECLARE_RETRY_MS 1000

static void session_close(PGconn **c)
{
	if (*c)
		PQfinish(*c);
	*c = NULL;
}

void autofail_init(struct autofail *af)
{
	memset(af, 0, sizeof(*af));
}

/*
 * A fence queued on a stalled root outlives the root's sessions (the root changed with the
 * failover commit): the session stays open until the server answers, so that the fence runs
 * in an orderly session and its outcome is logged (fence_check).
 */
static void fence_keep(struct autofail *af)
{
	if (!af->fence || !af->fence_queued)
		return;
	session_close(&af->fence_sent);
	free(af->fence_node);
	af->fence_sent = af->fence;
	af->fence_node = sky_strdup(af->root);
	af->fence = NULL;
	af->fence_queued = false;
}

static void fence_check(struct autofail *af)
{
	PGresult *res;

	if (!af->fence_sent)
		return;
	if (!PQconsumeInput(af->fence_sent)) {
		sky_info("failover: the session holding the fence of \"%s\" broke before it ran",
		         af->fence_node);
		goto done;
	}
	if (PQisBusy(af->fence_sent))
		return;
	while ((res = PQgetResult(af->fence_sent)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			sky_info("failover: \"%s\" answered again and ran its queued fence",
			         af->fence_node);
		else
			sky_warning("failover: the queued fence of \"%s\" failed: %s",
			            af->fence_node, PQresultErrorMessage(res));
		PQclear(res);
	}
done:
	session_close(&af->fence_sent);
	free(af->fence_node);
	af->fence_node = NULL;
}

static void autofail_reset(struct autofail *af)
{
	fence_keep(af);
	session_close(&af->probe);
	session_close(&af->fence);
	af->probe_pending = false;
	free(af->root);
	free(af->last_error);
	free(af->last_verdict);
	af->root = NULL;
	af->last_error = NULL;
	af->last_verdict = NULL;
	af->fence_queued = false;
	af->down_since = 0;
	af->next_declare = 0;
}

void autofail_release(struct autofail *af)
{
	autofail_reset(af);
	session_close(&af->fence_sent);
	free(af->fence_node);
	memset(af, 0, sizeof(*af));
}

static void set_error(struct autofail *af, const struct topology *topo, const char *msg)
{
	free(af->last_error);
	af->last_error = catalog_text_scrub(msg, topo);
}

/*
 * Wait up to timeout_ms for the answer to what was sent on c: 1 answered (results drained),
 * 0 not yet (still pending), -1 the session broke (err set).
 */
static int answer_wait(PGconn *c, int timeout_ms, struct sky_error *err)
{
	long long deadline = sky_now_ms() + timeout_ms;
	PGresult *res;
	int ret = 1;

	if (!PQconsumeInput(c))
		return sky_pg_error(err, c, NULL);
	while (PQisBusy(c)) {
		struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
		long long left = deadline - sky_now_ms();

		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return sky_error_set(err, "poll: %s", strerror(errno));
		if (!PQconsumeInput(c))
			return sky_pg_error(err, c, NULL);
	}
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    PQresultStatus(res) != PGRES_COMMAND_OK)
			ret = sky_pg_error(err, c, res);
		PQclear(res);
	}
	return ret;
}

/*
 * Is the root answering? The probe session answers `select 1` within AUTOFAIL_ANSWER_MS. A
 * probe still unanswered (a stalled server) stays pending: the next look only checks, for a
 * moment, whether its answer came, so that looking at a stalled root costs next to nothing. A
 * broken session is opened again (a refused connection fails at once; a stalled server holds
 * the attempt for the connect timeout). The fence session is kept open beside it while the
 * root answers.
 */
static bool probe_root(struct autofail *af, const struct topology *topo,
                       const struct topo_node *root)
{
	struct sky_error err;
	int rc;

	sky_error_clear(&err);
	af->last_probe = sky_now_ms();
	if (!af->probe) {
		af->probe_pending = false;
		if (sky_pg_connect_within(&af->probe, root->dsn, AUTOFAIL_CONNECT_S, "the root",
		                          &err) < 0) {
			set_error(af, topo, err.message);
			return false;
		}
	}
	if (!af->probe_pending) {
		if (!PQsendQuery(af->probe, "select 1")) {
			sky_pg_error(&err, af->probe, NULL);
			set_error(af, topo, err.message);
			session_close(&af->probe);
			return false;
		}
		af->probe_pending = true;
		rc = answer_wait(af->probe, AUTOFAIL_ANSWER_MS, &err);
	} else {
		rc = answer_wait(af->probe, AUTOFAIL_SUSPECT_PROBE_MS / 2, &err);
	}
	if (rc < 0) {
		set_error(af, topo, err.message);
		session_close(&af->probe);
		return false;
	}
	if (rc == 0) {
		if (!af->down_since)
			set_error(af, topo, "no answer within 1 s");
		return false;
	}
	af->probe_pending = false;
	if (af->fence && !af->fence_queued) {
		/* reading settles whether the idle session is still there */
		(void)PQconsumeInput(af->fence);
		if (PQstatus(af->fence) != CONNECTION_OK)
			session_close(&af->fence);
	}
	if (!af->fence && sky_pg_connect_within(&af->fence, root->dsn, AUTOFAIL_CONNECT_S,
	                                        "the root", &err) == 0) {
		PQsetnonblocking(af->fence, 1);
		af->fence_queued = false;
	}
	return true;
}

/*
 * The root is declared dead: send the fence on the idle session without waiting for it. A
 * killed root's session is gone (nothing happens); a stalled root's server reads it when it
 * resumes and fences itself before it serves the clients that waited (see docs/operations.md
 * for the window). The watch loop fences it again on every reconcile once the file marks it
 * dead.
 */
static void fence_queue(struct autofail *af, const char *cascade)
{
	const char *params[1] = {cascade};

	if (!af->fence || af->fence_queued)
		return;
	if (PQsendQueryParams(af->fence, "select pgq_set.fence($1)", 1, NULL, params, NULL, NULL,
	                      0) &&
	    PQflush(af->fence) >= 0) {
		af->fence_queued = true;
		sky_info("failover: fence of \"%s\" queued on its open session", af->root);
	}
}

/* Log a verdict once while it stays the same (the watch loop looks 4 times a second). */
static void verdict(struct autofail *af, const char *text)
{
	if (af->last_verdict && strcmp(af->last_verdict, text) == 0)
		return;
	free(af->last_verdict);
	af->last_verdict = sky_strdup(text);
	sky_warning("failover: %s", text);
}

/*
 * Record a declined failover (state "blocked"/"exhausted"; NULL clears) on every reachable
 * node of topo; conns[i] is used when open, else a session of its own. Best effort.
 */
static void record_all(PGconn **conns, const struct topology *topo, const char *state,
                       const char *dead, const char *reason, const char *evidence)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	for (size_t i = 0; i < topo->n_nodes; i++) {
		const char *params[6] = {topo->cascade, state, dead, reason, evidence, host};
		PGconn *c = conns ? conns[i] : NULL;
		PGconn *own = NULL;
		struct sky_error err;

		if (topo->nodes[i].dead || (dead && strcmp(topo->nodes[i].name, dead) == 0))
			continue;
		sky_error_clear(&err);
		if (!c && sky_pg_connect_within(&own, topo->nodes[i].dsn, AUTOFAIL_CONNECT_S,
		                                topo->nodes[i].name, &err) < 0)
			continue;
		if (sky_pg_exec(NULL, c ? c : own, &err,
		                "select pgq_set.record_failover($1, $2, $3, $4, $5, $6)"
		                " where to_regprocedure('pgq_set.record_failover(text, text, text,"
		                " text, text, text)') is not null",
		                6, params) < 0)
			sky_debug("node \"%s\": could not record the failover state: %s",
			          topo->nodes[i].name, err.message);
		if (own)
			PQfinish(own);
	}
}

/* The highest tick a witness saw `dead` offer (-1: none). */
static long long witnessed_tick(const struct actual_state *actual, const char *dead)
{
	long long t = -1;

	for (size_t i = 0; i < actual->n_nodes; i++) {
		const struct actual_witness *w = &actual->nodes[i].witness;

		if (actual->nodes[i].reachable && w->present && w->provider &&
		    strcmp(w->provider, dead) == 0 && w->provider_tick > t)
			t = w->provider_tick;
	}
	return t;
}

/* Every line of text, indented by two spaces. */
static void add_indented(struct sky_buf *b, const char *text)
{
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		sky_buf_addf(b, "  %.*s\n", (int)len, p);
		p = eol ? eol + 1 : NULL;
	}
}

/* The commit message: the evidence (docs/reconciler.md, "Automatic failover"). */
static char *commit_message(const struct autofail *af, const struct topology *topo,
                            const struct policy_decision *d, const char *views, size_t n_witnesses,
                            long long seen_tick, int n_before, double down_s)
{
	struct sky_buf b;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	sky_buf_init(&b);
	sky_buf_addf(&b, "failover: %s is dead, %s is the new root\n\n", d->dead, d->chosen);
	sky_buf_addf(&b,
	             "skyreconcile watch on %s declared the root \"%s\" dead: unreachable for "
	             "%.1f s (failover.detect_after %d s; last error: %s), and %zu worker%s "
	             "saw it dead (failover.witnesses %d).\n\n",
	             host, d->dead, down_s, topo->failover.detect_after,
	             af->last_error ? af->last_error : "none", n_witnesses,
	             n_witnesses == 1 ? "" : "s", topo->failover.witnesses);
	sky_buf_addf(&b, "Witnesses (each worker's view of its provider):\n");
	add_indented(&b, views);
	sky_buf_addf(&b, "\nSurvivors (completed tick, ticks behind the last tick any survivor "
	                 "saw, priority):\n");
	add_indented(&b, d->evidence);
	sky_buf_addf(&b, "\nChosen: %s\n", d->reason);
	sky_buf_addf(&b, "Lost: the ticks \"%s\" made after tick %lld", d->dead, d->last_tick);
	if (seen_tick > d->last_tick)
		sky_buf_addf(&b, ", at least %lld (a witness saw tick %lld offered)",
		             seen_tick - d->last_tick, seen_tick);
	sky_buf_addf(&b,
	             "; their events are counted exactly when \"%s\" rejoins (the "
	             "rejoin's lost-transactions file).\n",
	             d->dead);
	sky_buf_addf(&b, "Anti-flap: automatic failover %d of at most %d in %d s.\n\n",
	             n_before + 1, topo->failover.max_failovers, topo->failover.window);
	sky_buf_addf(&b, "%s\nSkycascade-Dead: %s\nSkycascade-Root: %s\n", FAILOVER_TRAILER,
	             d->dead, d->chosen);
	return sky_buf_detach(&b);
}

/*
 * The root has been unreachable for detect_after: under the reconcile lock, read the file and
 * the catalogs again, count the witnesses, check the budget, decide, fence, commit.
 */
static enum autofail_outcome declare(struct autofail *af, const struct topology *topo,
                                     const struct autofail_opts *opts,
                                     const volatile sig_atomic_t *stop)
{
	enum autofail_outcome outcome = AUTOFAIL_SUSPECT;
	struct reconcile_lock *lock = NULL;
	struct topology *cur = NULL;
	struct source_revision rev;
	struct actual_state *actual = NULL;
	struct policy_decision *d = NULL;
	PGconn **conns = NULL;
	struct sky_error err;
	struct sky_buf views;
	char *text = NULL, *label = NULL, *edited = NULL, *msg = NULL;
	size_t len = 0, n_witnesses;
	const struct topo_node *croot;
	struct topology *locked_topo = NULL;
	int n_before = 0;
	double down_s;
	char oid[41];

	memset(&rev, 0, sizeof(rev));
	sky_error_clear(&err);
	sky_buf_init(&views);
	if (!opts->source->repo) {
		verdict(af,
		        "automatic failover needs --repo (the decision is a commit): no failover");
		goto out;
	}
	/*
	 * The lock on a majority of the nodes but the root (a stalled root would hold each
	 * connection attempt): it always meets any majority of all live nodes that another
	 * skyreconcile holds.
	 */
	locked_topo = topology_clone(topo);
	for (size_t i = 0; i < locked_topo->n_nodes; i++)
		if (strcmp(locked_topo->nodes[i].name, af->root) == 0)
			locked_topo->nodes[i].dead = true;
	if (lock_acquire(&lock, locked_topo, opts->lock_timeout_ms, stop, NULL, &err) < 0) {
		sky_info("failover: %s", err.message);
		goto out;
	}
	/* what the holder before us may have committed */
	if (source_load_text(&cur, &rev, &text, &len, &label, opts->source, &err) < 0) {
		verdict(af, err.message);
		goto out;
	}
	croot = topology_root(cur);
	if (!cur->failover.automatic || !croot || strcmp(croot->name, af->root) != 0) {
		outcome = AUTOFAIL_MOVED;
		goto out;
	}
	conns = sky_calloc(cur->n_nodes + 1, sizeof(*conns));
	if (catalog_state_read_except(&actual, conns, cur, af->root, &err) < 0) {
		verdict(af, err.message);
		goto out;
	}
	if (probe_root(af, cur, croot)) {
		/* it answered meanwhile: not dead */
		sky_info("failover: root \"%s\" answers again: no failover", af->root);
		af->down_since = 0;
		outcome = AUTOFAIL_IDLE;
		goto out;
	}
	down_s = (double)(sky_now_ms() - af->down_since) / 1000.0;
	n_witnesses = policy_witnesses(&views, cur, actual, af->root);
	if (n_witnesses < (size_t)cur->failover.witnesses) {
		char *v = sky_asprintf("root \"%s\" does not answer but %zu of the %d witnesses "
		                       "needed see it dead: no failover",
		                       af->root, n_witnesses, cur->failover.witnesses);

		verdict(af, v);
		free(v);
		goto out;
	}
	if (failover_history_count(&n_before, opts->source, cur->failover.window, &err) < 0) {
		verdict(af, err.message);
		goto out;
	}
	if (n_before >= cur->failover.max_failovers) {
		char *v = sky_asprintf(
		    "root \"%s\" is dead but the anti-flap budget is spent (%d "
		    "automatic failovers in the last %d s, failover.max_failovers "
		    "%d): no failover, an operator must act",
		    af->root, n_before, cur->failover.window, cur->failover.max_failovers);

		record_all(conns, cur, "exhausted", af->root, v, views.data);
		verdict(af, v);
		free(v);
		goto out;
	}
	if (policy_decide(&d, cur, actual, af->root, &err) < 0) {
		verdict(af, err.message);
		goto out;
	}
	if (!d->chosen) {
		char *v = sky_asprintf("root \"%s\" is dead: %s", af->root, d->reason);

		record_all(conns, cur, "blocked", af->root, d->reason, d->evidence);
		verdict(af, v);
		free(v);
		goto out;
	}
	fence_queue(af, cur->cascade);
	if (topology_edit_failover(&edited, label, text, len, d, &err) < 0) {
		verdict(af, err.message);
		goto out;
	}
	msg = commit_message(af, cur, d, views.data, n_witnesses, witnessed_tick(actual, af->root),
	                     n_before, down_s);
	{
		struct gitwrite_req req = {
		    .repo_dir = opts->source->repo,
		    .ref = opts->source->ref,
		    .path = opts->source->path,
		    .expected_oid = rev.id,
		    .content = edited,
		    .content_len = strlen(edited),
		    .author_name = opts->author_name,
		    .author_email = opts->author_email,
		    .message = msg,
		    .push_remote = opts->push_remote,
		    .timeout_ms = opts->push_timeout_ms,
		};
		int rc = gitwrite_commit(&req, oid, &err);

		if (rc == GITWRITE_RACE) {
			sky_info("failover: the ref moved while deciding (another commit won): "
			         "reading it again");
			outcome = AUTOFAIL_MOVED;
			goto out;
		}
		if (rc != GITWRITE_OK) {
			verdict(af, err.message);
			goto out;
		}
	}
	/* METRICS: the one place an automatic failover is counted (watch --metrics) */
	watch_metrics_failover(true);
	sky_info("failover: \"%s\" declared dead after %.1f s, %zu witness%s; \"%s\" chosen "
	         "(%s); committed %.7s",
	         af->root, down_s, n_witnesses, n_witnesses == 1 ? "" : "es", d->chosen, d->reason,
	         oid);
	record_all(conns, cur, NULL, NULL, NULL, NULL);
	outcome = AUTOFAIL_COMMITTED;
out:
	if (conns && cur)
		catalog_conns_close(conns, cur->n_nodes);
	free(conns);
	actual_state_free(actual);
	policy_decision_free(d);
	lock_release(lock);
	topology_free(locked_topo);
	topology_free(cur);
	source_revision_release(&rev);
	sky_buf_release(&views);
	free(text);
	free(label);
	free(edited);
	free(msg);
	return outcome;
}

enum autofail_outcome autofail_check(struct autofail *af, const struct topology *topo,
                                     const struct autofail_opts *opts,
                                     const volatile sig_atomic_t *stop)
{
	const struct topo_node *root = topo ? topology_root(topo) : NULL;
	enum autofail_outcome outcome;
	long long now;

	fence_check(af);
	if (!topo || !topo->failover.automatic || !root) {
		autofail_reset(af);
		return AUTOFAIL_IDLE;
	}
	if (!af->root || strcmp(af->root, root->name) != 0) {
		/* a new root (a failover, or an operator's commit): what was declined is over */
		bool had = af->root != NULL;

		autofail_reset(af);
		af->root = sky_strdup(root->name);
		if (had)
			record_all(NULL, topo, NULL, NULL, NULL, NULL);
	}
	now = sky_now_ms();
	if (probe_root(af, topo, root)) {
		if (af->down_since) {
			sky_info("failover: root \"%s\" answers again after %.1f s: no failover",
			         af->root, (double)(now - af->down_since) / 1000.0);
			if (af->last_verdict)
				record_all(NULL, topo, NULL, NULL, NULL, NULL);
			free(af->last_verdict);
			af->last_verdict = NULL;
		}
		af->down_since = 0;
		return AUTOFAIL_IDLE;
	}
	if (!af->down_since) {
		af->down_since = now;
		sky_warning("failover: root \"%s\" does not answer (%s): it is declared dead after "
		            "%d s if failover.witnesses (%d) workers agree",
		            af->root, af->last_error ? af->last_error : "unknown",
		            topo->failover.detect_after, topo->failover.witnesses);
	}
	if (now - af->down_since < (long long)topo->failover.detect_after * 1000 ||
	    now < af->next_declare)
		return AUTOFAIL_SUSPECT;
	outcome = declare(af, topo, opts, stop);
	/* a declined decision (witnesses, budget, no candidate) is made again a second later */
	if (outcome == AUTOFAIL_SUSPECT)
		af->next_declare = sky_now_ms() + AUTOFAIL_DECLARE_RETRY_MS;
	return outcome;
}
