/*
 * lock: the reconcile lock of a cascade on a majority of its live nodes (see lock.h).
 */
#include "lock.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky_log.h"
#include "sky_mem.h"
#include "sky_pg.h"
#include "sky_time.h"

struct reconcile_lock {
	const struct topology *topo;
	PGconn **conns; /* conns[i] for topo->nodes[i]; NULL for dead or unreachable nodes */
	bool *held;     /* held[i]: the advisory lock is held in conns[i] */
	size_t n_live;
};

static const char SQL_TRY_LOCK[] =
    "select pg_try_advisory_lock(hashtext('skyreconcile'), hashtext($1))";
static const char SQL_UNLOCK[] =
    "select pg_advisory_unlock(hashtext('skyreconcile'), hashtext($1))";

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		break; /* a signal: let the caller look at its stop flag */
}

/* True when function `signature` exists on conn (pgq_set may be missing or older). */
static bool has_function(PGconn *conn, const char *signature)
{
	const char *params[1] = {signature};
	PGresult *res = NULL;
	struct sky_error err;
	bool ret = false;

	sky_error_clear(&err);
	if (sky_pg_exec(&res, conn, &err, "select to_regprocedure($1) is not null", 1, params) == 0)
		ret = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ret;
}

/*
 * Who holds the lock, as a node where we did not get it says: "HOST pid N since T", or NULL.
 * Returns a new string (caller frees).
 */
static char *lock_holder_describe(const struct reconcile_lock *l)
{
	const char *params[1] = {l->topo->cascade};

	for (size_t i = 0; i < l->topo->n_nodes; i++) {
		PGresult *res = NULL;
		struct sky_error err;
		char *text = NULL;

		if (!l->conns[i] || l->held[i])
			continue;
		if (!has_function(l->conns[i], "pgq_set.get_reconciler(text)"))
			continue;
		sky_error_clear(&err);
		if (sky_pg_exec(&res, l->conns[i], &err,
		                "select host, pid, to_char(since, 'YYYY-MM-DD HH24:MI:SS TZ') "
		                "from pgq_set.get_reconciler($1)",
		                1, params) == 0 &&
		    PQntuples(res) > 0)
			text = sky_asprintf("%s pid %s since %s", PQgetvalue(res, 0, 0),
			                    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		PQclear(res);
		if (text)
			return text;
	}
	return NULL;
}

/* Release what is held, keep the sessions. */
static void lock_drop_held(struct reconcile_lock *l)
{
	const char *params[1] = {l->topo->cascade};

	for (size_t i = 0; i < l->topo->n_nodes; i++) {
		struct sky_error err;

		if (!l->held[i])
			continue;
		sky_error_clear(&err);
		if (sky_pg_exec(NULL, l->conns[i], &err, SQL_UNLOCK, 1, params) < 0) {
			/* a session that failed loses its lock when it is closed */
			PQfinish(l->conns[i]);
			l->conns[i] = NULL;
		}
		l->held[i] = false;
	}
}

/* One round: try every open session. Returns how many hold the lock now. */
static size_t lock_try_round(struct reconcile_lock *l)
{
	const char *params[1] = {l->topo->cascade};
	size_t got = 0;

	for (size_t i = 0; i < l->topo->n_nodes; i++) {
		PGresult *res = NULL;
		struct sky_error err;

		if (!l->conns[i])
			continue;
		if (!l->held[i]) {
			sky_error_clear(&err);
			if (sky_pg_exec(&res, l->conns[i], &err, SQL_TRY_LOCK, 1, params) < 0) {
				sky_debug("node \"%s\": could not try the reconcile lock: %s",
				          l->topo->nodes[i].name, err.message);
				PQfinish(l->conns[i]);
				l->conns[i] = NULL;
				continue;
			}
			l->held[i] = PQgetvalue(res, 0, 0)[0] == 't';
			PQclear(res);
		}
		if (l->held[i])
			got++;
	}
	return got;
}

/* Say who we are on every node where we hold the lock and pgq_set 4 is installed. */
static void lock_record_holder(struct reconcile_lock *l)
{
	char host[256];
	char pid[32];
	const char *params[3] = {l->topo->cascade, host, pid};

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	for (size_t i = 0; i < l->topo->n_nodes; i++) {
		struct sky_error err;

		if (!l->held[i] ||
		    !has_function(l->conns[i], "pgq_set.set_reconciler(text,text,integer)"))
			continue;
		sky_error_clear(&err);
		if (sky_pg_exec(NULL, l->conns[i], &err,
		                "select pgq_set.set_reconciler($1, $2, $3::integer)", 3,
		                params) < 0)
			sky_debug("node \"%s\": could not record the lock holder: %s",
			          l->topo->nodes[i].name, err.message);
	}
}

int lock_acquire(struct reconcile_lock **out, const struct topology *topo, int timeout_ms,
                 const volatile sig_atomic_t *stop, long long *waited_ms, struct sky_error *err)
{
	struct reconcile_lock *l = sky_calloc(1, sizeof(*l));
	size_t need, reachable = 0;
	long long start = sky_now_ms();
	long long deadline = start + timeout_ms;
	long long lost_at = -1; /* when the first round was lost to another holder */
	long long waited = -1;  /* set when the waiting ended (-1: at out) */
	bool said_waiting = false;
	char *holder = NULL;
	int ret = -1;

	l->topo = topo;
	l->conns = sky_calloc(topo->n_nodes + 1, sizeof(*l->conns));
	l->held = sky_calloc(topo->n_nodes + 1, sizeof(*l->held));
	for (size_t i = 0; i < topo->n_nodes; i++) {
		struct sky_error cerr;
		char what[128];

		if (topo->nodes[i].dead)
			continue;
		l->n_live++;
		snprintf(what, sizeof(what), "node \"%s\"", topo->nodes[i].name);
		sky_error_clear(&cerr);
		if (sky_pg_connect(&l->conns[i], topo->nodes[i].dsn, what, &cerr) < 0) {
			sky_debug("reconcile lock: %s unreachable", what);
			l->conns[i] = NULL;
			continue;
		}
		reachable++;
	}
	need = lock_majority(l->n_live);
	srand((unsigned)(getpid() ^ sky_now_ms()));
	for (;;) {
		size_t got;

		if (reachable < need) {
			sky_error_set(err,
			              "cannot lock cascade \"%s\": %zu of its %zu live nodes are "
			              "reachable, a majority (%zu) is needed",
			              topo->cascade, reachable, l->n_live, need);
			goto out;
		}
		got = lock_try_round(l);
		if (got >= need)
			break;
		if (lost_at < 0)
			lost_at = sky_now_ms();
		/* someone else holds some: give back what we got so that the other can finish */
		free(holder);
		holder = lock_holder_describe(l);
		lock_drop_held(l);
		reachable = 0;
		for (size_t i = 0; i < topo->n_nodes; i++)
			reachable += l->conns[i] != NULL;
		if (sky_now_ms() >= deadline || (stop && *stop)) {
			if (holder)
				sky_error_set(err, "cascade \"%s\" is being reconciled by %s",
				              topo->cascade, holder);
			else
				sky_error_set(
				    err,
				    "cascade \"%s\" is being reconciled by another skyreconcile",
				    topo->cascade);
			goto out;
		}
		/* the holder names itself right after it got the lock: give it a moment */
		if (!said_waiting && (holder || sky_now_ms() - start >= 1000)) {
			fprintf(stderr,
			        "skyreconcile: waiting: cascade \"%s\" is being reconciled by %s\n",
			        topo->cascade, holder ? holder : "another skyreconcile");
			said_waiting = true;
		}
		/* 100-400 ms, random: two that each got a part do not collide again in step */
		sleep_ms(100 + rand() % 300);
	}
	waited = lost_at < 0 ? 0 : sky_now_ms() - lost_at;
	lock_record_holder(l);
	sky_debug("reconcile lock of cascade \"%s\" held", topo->cascade);
	{
		/* test hook (tests/integration/24_lock.sh): hold the lock a while before going on
		 */
		const char *hold = getenv("SKY_RECONCILE_LOCK_HOLD_MS");

		if (hold && strtol(hold, NULL, 10) > 0) {
			long left = strtol(hold, NULL, 10);

			while (left > 0 && !(stop && *stop)) {
				sleep_ms(left < 100 ? left : 100);
				left -= 100;
			}
		}
	}
	*out = l;
	l = NULL;
	ret = 0;
out:
	if (waited < 0)
		waited = lost_at < 0 ? 0 : sky_now_ms() - lost_at;
	if (waited_ms)
		*waited_ms = waited;
	free(holder);
	lock_release(l);
	return ret;
}

void lock_release(struct reconcile_lock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->topo->n_nodes; i++)
		if (l->conns[i])
			PQfinish(l->conns[i]);
	free(l->conns);
	free(l->held);
	free(l);
}
