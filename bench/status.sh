#!/usr/bin/env bash
# bench/status.sh: `skyreconcile status` and `skyreconcile --dry-run` against a 20-node
# cascade (issue 10: each in 1 s or less).
#
# One PostgreSQL 15 instance holds 20 databases n01..n20, each a node: a chain (n01 root, n02
# branch under n01, ... n19 branch under n18, n20 leaf under n19) with pgbench's three keyed
# tables, created by skyreconcile; one pgqd ticks the root (at least once a second, so that a
# copy down the chain is handed over without waiting for the default idle tick), a worker runs on every node
# (--poll-interval 0.5). Once every table is ok, each command runs RUNS times; the report gives
# min / median / max wall-clock milliseconds and status's exit code. status reads the nodes
# concurrently (libpq's asynchronous API); the reconcile reads them one after another
# (catalog.c), which is what the --dry-run figure shows.
#
# Not a test, not run by CI. Build first, then run as root (the server runs as the postgres OS
# user) or as an ordinary user. Uses tests/lib/harness.sh for the instance (ports 59000-59999)
# and stops everything it started when it ends. Results: docs/performance.md, "status".
#
#   bench/status.sh [RUNS]      (default 10)

set -euo pipefail

{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$BENCH_HOME")
RUNS=${1:-10}
N_NODES=20

SKY_TEST_NAME=statusbench
SKY_PORT_MIN=59000
SKY_PORT_MAX=59999
SKY_BUILD_DIR=${SKY_BUILD_DIR:-$SRC_DIR/build}
SKY_TEST_TIMEOUT=1800
# shellcheck source=tests/lib/harness.sh
source "$SRC_DIR/tests/lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"

sky_pg_new inst
sky_pg_conf inst 'max_connections = 200'
sky_pgbench inst -i -s 1 -I dtp -q >"$SKY_TMP/log/pgbench-init.out" 2>&1

NODES=()
for i in $(seq 1 "$N_NODES"); do
	node=$(printf 'n%02d' "$i")
	NODES+=("$node")
	SKY_PORT[$node]=${SKY_PORT[inst]}
	SKY_EXTRA[$node]="dbname=$node"
	mkdir -p "$SKY_TMP/$node"
	sky_psql_db inst postgres -c "create database $node template app" >/dev/null
done
sky_pgbench n01 -i -s 1 -I g -q >>"$SKY_TMP/log/pgbench-init.out" 2>&1 || true
sky_log "$N_NODES databases on one instance (port ${SKY_PORT[inst]})"

TOPO=$SKY_TMP/topology.yaml
{
	echo "cascade: app"
	echo "nodes:"
	for i in $(seq 1 "$N_NODES"); do
		node=${NODES[$((i - 1))]}
		echo "  $node:"
		if [ "$i" = 1 ]; then
			echo "    role: root"
		elif [ "$i" = "$N_NODES" ]; then
			echo "    role: leaf"
		else
			echo "    role: branch"
		fi
		echo "    dsn: \"host=127.0.0.1 port=${SKY_PORT[inst]} dbname=$node user=postgres\""
		[ "$i" = 1 ] || echo "    provider: ${NODES[$((i - 2))]}"
	done
	echo "tables: [public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers]"
} >"$TOPO"

sky_run create "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the 20-node chain"
cat >"$SKY_TMP/pgqd.ini" <<EOF
[pgqd]
logfile = $SKY_TMP/log/pgqd.log
pidfile = $SKY_TMP/pgqd.pid
base_connstr = host=127.0.0.1 port=${SKY_PORT[inst]} user=postgres
initial_database = n01
database_list = n01
ticker_period = 0.2
EOF
sky_psql n01 -c "select pgq.set_queue_config('app', 'ticker_idle_period', '1 second')" >/dev/null
sky_bg pgqd pgqd -q "$SKY_TMP/pgqd.ini"
for n in "${NODES[@]}"; do
	sky_worker_start "$n" --poll-interval 0.5
done
sky_wait_all_tables_ok 600 "${NODES[@]:1}"

ms_now() { date +%s%N; }
# measure NAME CMD...: RUNS timed runs; prints "NAME min median max" in ms and the last exit code
measure() {
	local name=$1 t0 rc times=()
	shift
	for _ in $(seq 1 "$RUNS"); do
		t0=$(ms_now)
		rc=0
		"$@" >"$SKY_TMP/log/$name.out" 2>"$SKY_TMP/log/$name.err" || rc=$?
		times+=($((($(ms_now) - t0) / 1000000)))
	done
	mapfile -t times < <(printf '%s\n' "${times[@]}" | sort -n)
	printf '%-22s min %5d ms  median %5d ms  max %5d ms  (exit %d, %d runs)\n' "$name" \
		"${times[0]}" "${times[$((RUNS / 2))]}" "${times[$((RUNS - 1))]}" "$rc" "$RUNS"
}

sky_log "results (wall clock, $N_NODES nodes, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
measure status "$RECONCILE" status -f "$TOPO"
measure status-json "$RECONCILE" status -f "$TOPO" --json
measure dry-run "$RECONCILE" -f "$TOPO" --dry-run
sky_log "status output of the last run:"
head -n 12 "$SKY_TMP/log/status.out"
echo "  ..."
tail -n 8 "$SKY_TMP/log/status.out"

}
