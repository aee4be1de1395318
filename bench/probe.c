/*
 * bench/probe.c: the write probe of bench/switchover.sh and bench/failover.sh, as an
 * application would see a switchover or a failover.
 *
 *   probe OUT STOPFILE ROLECHECK NAME=DSN [NAME=DSN ...]
 *
 * Every ~10 ms it inserts one row into public.probe (a replicated table: id bigserial primary
 * key, node text, at timestamptz) on the node it takes for the root, the first NAME at start,
 * one autocommit statement on one connection. After a failed write it asks the other nodes,
 * in order, whether they are the root, and moves to the first that says so (a new connection:
 * a client re-connecting to the new root). ROLECHECK says how a node is asked:
 *   sql:QUERY   QUERY on that node returns 't' (skycascade: its catalog says root)
 *   file:PATH   PATH holds the node's name (the manual native switch writes it when done)
 * One line per attempt goes to OUT:
 *   ok  MS NODE ID        a committed write; MS is the wall clock in ms since
 *                         the epoch (compared with the reconciler's log and the script's clock)
 *   err MS NODE SQLSTATE  a failed write (or connection)
 *   to  MS NODE           the probe moved to NODE
 * It stops when STOPFILE exists. Statements time out after 5 s (a write blocked by a lock
 * counts as a gap until it fails or commits). Built by the benchmark scripts with cc -lpq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_NODES 8
#define PERIOD_MS 10

struct node {
	const char *name;
	const char *dsn;
	PGconn *conn;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A usable connection to n (made or re-made when needed), NULL when the node cannot be reached. */
static PGconn *node_conn(struct node *n, int fresh)
{
	PGresult *res;

	if (n->conn && !fresh && PQstatus(n->conn) == CONNECTION_OK)
		return n->conn;
	if (n->conn)
		PQfinish(n->conn);
	n->conn = PQconnectdb(n->dsn);
	if (PQstatus(n->conn) != CONNECTION_OK) {
		PQfinish(n->conn);
		n->conn = NULL;
		return NULL;
	}
	res = PQexec(n->conn, "set statement_timeout = '5s'; set application_name = 'probe'");
	PQclear(res);
	return n->conn;
}

static int says_root(struct node *n, const char *check)
{
	if (strncmp(check, "file:", 5) == 0) {
		char buf[64] = "";
		FILE *f = fopen(check + 5, "r");

		if (!f)
			return 0;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
		return strcmp(buf, n->name) == 0;
	}
	if (strncmp(check, "sql:", 4) == 0) {
		PGconn *c = node_conn(n, 0);
		PGresult *res;
		int yes;

		if (!c)
			return 0;
		res = PQexec(c, check + 4);
		yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		      strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		return yes;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct node nodes[MAX_NODES];
	int n_nodes = 0, cur = 0;
	FILE *out;
	const char *stop, *check;

	if (argc < 5 || argc - 4 > MAX_NODES) {
		fprintf(stderr, "usage: probe OUT STOPFILE ROLECHECK NAME=DSN [NAME=DSN ...]\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	stop = argv[2];
	check = argv[3];
	for (int i = 4; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "probe: expected NAME=DSN, got \"%s\"\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		nodes[n_nodes].name = argv[i];
		nodes[n_nodes].dsn = eq + 1;
		nodes[n_nodes].conn = NULL;
		n_nodes++;
	}
	while (access(stop, F_OK) != 0) {
		long long start = now_ms();
		struct node *n = &nodes[cur];
		PGconn *c = node_conn(n, 0);
		const char *params[1] = {n->name};
		PGresult *res = NULL;
		int ok = 0;

		if (c) {
			res = PQexecParams(c,
			                   "insert into public.probe (node, at)"
			                   " values ($1, clock_timestamp()) returning id",
			                   1, NULL, params, NULL, NULL, 0);
			ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
		}
		if (ok) {
			fprintf(out, "ok %lld %s %s\n", now_ms(), n->name, PQgetvalue(res, 0, 0));
		} else {
			const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

			fprintf(out, "err %lld %s %s\n", now_ms(), n->name,
			        st ? st : (c ? "-" : "connect"));
			for (int i = 0; i < n_nodes; i++) {
				if (i == cur || !says_root(&nodes[i], check))
					continue;
				cur = i;
				node_conn(&nodes[i], 1);
				fprintf(out, "to %lld %s\n", now_ms(), nodes[i].name);
				break;
			}
		}
		PQclear(res);
		{
			long long spent = now_ms() - start;

			if (spent < PERIOD_MS)
				sleep_ms((int)(PERIOD_MS - spent));
		}
	}
	for (int i = 0; i < n_nodes; i++)
		PQfinish(nodes[i].conn);
	fclose(out);
	return 0;
}
