/*
 * loop_session: the worker's two sessions. CONNECT opens and sets up the local one, PROVIDER
 * (re)connects to the provider the catalog names and declares its encoding on the local
 * session; the stall guard asks whether a silent provider still takes a connection. See
 * loop_internal.h.
 */
#include "loop_internal.h"

#include <stdio.h>

#include "pgscript.h"
#include "sky_log.h"
#include "sky_pg.h"
#include "sky_time.h"

/* ---------------------------------------------------------------- states */

enum wk_state wk_st_connect(struct wk *w)
{
	enum wk_state next = WK_READ_STATE;
	struct sky_error err;

	if (w->local && !wk_conn_usable(w->local))
		wk_drop_local(w);
	if (w->local)
		goto out;
	if (sky_pg_connect(&w->local, w->opt->dsn, "the local node", &err) < 0) {
		next = wk_fail(w, &err, false);
		goto out;
	}
	sky_pg_notices_to_log(w->local);
	/*
	 * replica: no deny or FK triggers while applying; values parsed with the settings the
	 * root's capture printed them with (the client encoding follows once the provider is
	 * known: st_provider); nested loops only: every join of the worker is a chunk of rows
	 * against a primary key, and the apply statements are prepared once per session, so a
	 * generic plan must never pick a hash join that scans a whole table; work_mem: the
	 * apply statements sort the held rows by key (up to 250,000 rows, apply_script.c), which a
	 * sort in memory does about a quarter faster than the default 4 MB's external sort
	 */
	if (sky_pg_command(w->local, &err,
	                   "set session_replication_role = replica; " SKY_PG_VALUE_SETTINGS
	                   "; set enable_hashjoin = off; set enable_mergejoin = off;"
	                   " set work_mem = '64MB'; set application_name = skyworker") < 0) {
		sky_error_prefix(&err, "could not set up the local session");
		next = wk_fail(w, &err, true);
		goto out;
	}
	/*
	 * Exactly-once rests on the apply commit being durable before the batch is finished on
	 * the provider, whatever the server's default: synchronous here, and `set local
	 * synchronous_commit = off` only for the commits that are safe to lose (the local tick,
	 * st_local_tick). See docs/worker.md, "Crash safety".
	 */
	if (sky_pg_command(w->local, &err, "set synchronous_commit = on") < 0) {
		sky_error_prefix(&err, "could not set up the local session");
		next = wk_fail(w, &err, true);
		goto out;
	}
	sky_apply_reset_session(w->apply);
	w->check_prev_tick = true;
out:
	return next;
}

/*
 * The events' values are bytes in the root's server encoding (PgQ's logutriga and our
 * row_urlencode urlencode the server's bytes) and COPY rows from the provider come in its
 * encoding: the local session declares the provider's encoding as its client encoding, so the
 * local server converts both into its own. That is right only if the provider's encoding is the
 * root's, so every queue-carrying node must have the root's encoding: a branch whose encoding
 * differs from its provider's is a permanent error (its queue copy would hold the root's bytes
 * under another encoding for the nodes below). Leaves may have any encoding that can hold the
 * data.
 */
static enum wk_state match_encoding(struct wk *w)
{
	enum wk_state next = WK_NEXT_BATCH;
	struct sky_error err;
	const char *penc = sky_pg_server_encoding(w->prov);
	const char *lenc = sky_pg_server_encoding(w->local);

	if (w->local_encoding && wk_streq(w->local_encoding, penc))
		goto out;
	if (wk_is_branch(w) && !wk_streq(penc, lenc)) {
		sky_error_set(
		    &err,
		    "node \"%s\" has server encoding %s but its provider \"%s\" has %s: a "
		    "branch must have its provider's encoding (its copy of the queue keeps "
		    "the root's bytes); only a leaf may differ",
		    w->node, lenc, w->provider, penc);
		next = wk_fail(w, &err, true);
		goto out;
	}
	if (sky_pg_set_client_encoding(w->local, penc, &err) < 0) {
		sky_error_prefix(&err, "could not set up the local session for provider \"%s\"",
		                 w->provider);
		next = wk_fail(w, &err, true);
		goto out;
	}
	wk_set_str(&w->local_encoding, penc);
out:
	return next;
}

/*
 * The stall guard's question (sky_pg_stall_guard): a provider call has had no answer for
 * PROVIDER_STALL_MS; does the provider's server still take a new connection (within
 * connect_timeout 2 s)? A busy server does, and the call goes on waiting; a stopped one
 * (SIGSTOP, a hung host) does not, and the call fails as on a lost connection, so this worker
 * records, as a witness, that it cannot reach its provider.
 */
static bool provider_answers(void *ctx)
{
	struct wk *w = ctx;
	PGconn *c = NULL;
	bool ok;

	if (!w->prov_location)
		return true;
	ok = sky_pg_connect_within(&c, w->prov_location, 2, "the provider", NULL) == 0;
	PQfinish(c);
	if (!ok)
		sky_warning("node \"%s\": provider \"%s\" does not answer a call nor take a new "
		            "connection: giving the call up",
		            w->node ? w->node : "?", w->prov_node ? w->prov_node : "?");
	return ok;
}

enum wk_state wk_st_provider(struct wk *w)
{
	enum wk_state next = WK_NEXT_BATCH;
	struct sky_error err;
	char what[128], c[256];

	/* a session with the next batch's cursor being opened (st_finish) is busy, not broken */
	if (w->prov &&
	    (!wk_streq(w->prov_node, w->provider) ||
	     !wk_streq(w->prov_location, w->provider_location) ||
	     !(w->opened ? PQstatus(w->prov) == CONNECTION_OK : wk_conn_usable(w->prov)))) {
		if (!wk_streq(w->prov_node, w->provider))
			sky_info("%s: provider changed from \"%s\" to \"%s\"",
			         wk_ctx(w, c, sizeof(c)), w->prov_node, w->provider);
		wk_drop_provider(w);
	}
	if (w->prov)
		goto out;
	if (w->prov_down && wk_streq(w->prov_down, w->provider)) {
		double left = w->prov_retry_at - sky_now_s();

		if (left > 0) {
			/* not yet: read the state again meanwhile */
			w->sleep_for = w->opt->poll_interval < left ? w->opt->poll_interval : left;
			next = WK_IDLE;
			goto out;
		}
	}
	snprintf(what, sizeof(what), "provider \"%s\"", w->provider);
	if (sky_pg_connect(&w->prov, w->provider_location, what, &err) < 0) {
		next = wk_provider_down(w, &err);
		goto out;
	}
	wk_set_str(&w->prov_down, NULL);
	sky_pg_notices_to_log(w->prov);
	/* tick times and events as text, unconverted: in the provider's own encoding */
	if (sky_pg_command(w->prov, &err,
	                   SKY_PG_VALUE_SETTINGS "; set application_name = skyworker") < 0 ||
	    sky_pg_set_client_encoding(w->prov, sky_pg_server_encoding(w->prov), &err) < 0) {
		sky_error_prefix(&err, "could not set up the session on %s", what);
		next = wk_fail(w, &err, false);
		goto out;
	}
	/*
	 * The provider's commits of this session are synchronous whatever its default: a finish
	 * lost in a crash of the provider (with a later one) would make it offer a batch the
	 * node has moved past; next_batch_info's commit makes the batch's ticks durable before
	 * anything is applied from them (pgqd's tick commits follow the server's default).
	 */
	if (sky_pg_command(w->prov, &err, "set synchronous_commit = on") < 0) {
		sky_error_prefix(&err, "could not set up the session on %s", what);
		next = wk_fail(w, &err, false);
		goto out;
	}
	wk_set_str(&w->prov_node, w->provider);
	wk_set_str(&w->prov_location, w->provider_location);
	sky_pg_stall_guard(w->prov, PROVIDER_STALL_MS, provider_answers, w);
out:
	if (next == WK_NEXT_BATCH)
		next = match_encoding(w);
	return next;
}
