#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/failover.sh: failover time (issue 14, "Reliability"): the root dies, topology.yaml says
# so, skyreconcile applies it; from the apply's start until the new root takes writes and until
# every live node is re-pointed and replicating from it.
#
# Each run builds a fresh 4-node cascade with skyreconcile (root db1, branches db2 and db4, leaf
# db3 under db2; pgbench scale tables with pgbench_history keyed, the probe table; fsync and
# synchronous_commit on, pgqd ticker_period 0.2), runs pgbench -c 4 -j 2 and the write probe on
# db1, then stops db1 with pg_ctl -m immediate, writes the file (db1 dead: true, db2 root, db4
# under db2) and runs skyreconcile -v. Measured from the apply's start:
#   writable     the probe's first committed write on db2 (it moves there once db2 says root)
#   re-pointed   db4's catalog names db2 as its provider and db3 and db4 have completed a tick
#                db2 made after the apply (polled every 20 ms)
# and the apply's own wall time and steps (the reconciler's -v log). Lag runs stop db2's worker
# for LAG seconds before the kill (started again right after it), so that db2 first catches up
# from db4, the most advanced survivor. After each run db2, db3, db4 are md5-compared.
#
# Not a test and not run by CI. Run as root (servers run as postgres) or as postgres.
# See docs/performance.md.

set -euo pipefail
{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKY_ROOT=$(dirname "$BENCH_HOME")
. "$BENCH_HOME/lib/common.sh"
. "$BENCH_HOME/lib/pg.sh"
. "$BENCH_HOME/lib/cascade.sh"

RUNS=5
LAG_RUNS=3
LAG=3
SCALE=10
CLIENTS=4
WARMUP=3
OUT=

usage() {
	cat <<EOF
usage: $0 [options]
  --runs N        failovers with every survivor current (default $RUNS)
  --lag-runs N    failovers where db2 lags db4 (default $LAG_RUNS)
  --lag S         seconds db2's worker is stopped before the kill in lag runs (default $LAG)
  --scale N       pgbench scale (default $SCALE)
  --clients N     pgbench clients on the root, -j 2 (default $CLIENTS)
  --warmup S      seconds of load before the kill (default $WARMUP)
  --out FILE      also write the raw results (TSV) to FILE
  --keep          keep the work directory
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--lag-runs) LAG_RUNS=$2; shift ;;
	--lag) LAG=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--clients) CLIENTS=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--out) OUT=$2; shift ;;
	--keep) BENCH_KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
bench_start pgbench psql pgqd cc pg_config
cascade_bins

RESULTS=$BENCH_DIR/results.tsv
printf '%s\n' "kind	run	rc	apply_ms	promoted_ms	writable_ms	repointed_ms	tick_db2_before	tick_db4_before	kill_ms	same	loadavg" >"$RESULTS"
ROOTCHECK="sql:select node_role = 'root' from pgq_set.get_node('$CASCADE')"
NODES=(db1 db2 db3 db4)
TOPO=$BENCH_DIR/topology.yaml

node_tick() {
	bench_sql "$1" "select last_tick from pgq_set.get_node('$CASCADE')"
}

# one_run KIND RUN: a fresh cascade, load, kill, failover, measurements
one_run() {
	local kind=$1 run=$2 n la tkill t0 t1 rc=0 tick tdone= first_ok promo prov t2 t4 same log
	log=$BENCH_DIR/reconcile-$kind-$run.log
	cascade_node_new db1 "$SCALE"
	for n in db2 db3 db4; do
		cascade_node_new "$n" 0
	done
	cascade_topology "$TOPO" "db1 root" "db2 branch db1" "db4 branch db1" "db3 leaf db2"
	cascade_reconcile "$BENCH_DIR/reconcile-create-$kind-$run.log" ||
		bench_die "create failed: $(tail -n 5 "$BENCH_DIR/reconcile-create-$kind-$run.log")"
	cascade_start "${NODES[@]}"
	cascade_wait_ok 600 db2 db3 db4
	cascade_wait_caught_up db1 120 db2 db3 db4

	la=$(cut -d' ' -f1 /proc/loadavg)
	pgbench -n -c "$CLIENTS" -j 2 -T 600 -h "$BENCH_DIR/sock" -p "${BENCH_PORT[db1]}" \
		-U postgres "$BENCH_DB" >"$BENCH_DIR/pgbench-$kind-$run.log" 2>&1 &
	LOAD_PID=$!
	bench_track "$LOAD_PID"
	cascade_probe_start "$BENCH_DIR/probe-$kind-$run" "$ROOTCHECK" db1 db2
	sleep "$WARMUP"
	if [ "$kind" = lag ]; then
		cascade_worker_stop db2
		sleep "$LAG"
	fi
	tkill=$(bench_ms)
	bench_as_pg "$PG_BIN/pg_ctl" -D "$BENCH_DIR/db1" -m immediate -w stop >/dev/null
	[ "$kind" != lag ] || cascade_worker_start db2
	bench_kill "$LOAD_PID"
	t2=$(node_tick db2)
	t4=$(node_tick db4)
	cascade_topology "$TOPO" "db1 root|dead: true" "db2 root" "db4 branch db2" "db3 leaf db2"

	t0=$(bench_ms)
	cascade_reconcile "$log" || rc=$?
	t1=$(bench_ms)
	[ "$rc" = 0 ] || bench_die "the failover failed: $(tail -n 5 "$log")"
	# replicating from the new root: a tick db2 makes from now on reaches db3 and db4
	tick=$(cascade_tick_now db2)
	for _ in $(seq 1 6000); do
		prov=$(bench_sql db4 "select provider_node from pgq_set.get_node('$CASCADE')")
		if [ "$prov" = db2 ] && cascade_caught_up "$tick" db3 db4; then
			tdone=$(bench_ms)
			break
		fi
		sleep 0.02
	done
	[ -n "$tdone" ] || bench_die "db3/db4 did not reach tick $tick of db2"
	for _ in $(seq 1 300); do
		[ -n "$(cascade_probe_first_ok "$BENCH_DIR/probe-$kind-$run" db2)" ] && break
		sleep 0.1
	done
	cascade_probe_stop "$BENCH_DIR/probe-$kind-$run"
	first_ok=$(cascade_probe_first_ok "$BENCH_DIR/probe-$kind-$run" db2 "$t0")
	promo=$(cascade_step_ms "$log" "promoted to root" || echo "$t0")
	cascade_steps "$log" "$t0" >"$BENCH_DIR/steps-$kind-$run"
	cascade_wait_caught_up db2 120 db3 db4
	same=$(cascade_same db2 db3 db4)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$run" "$rc" "$((t1 - t0))" \
		"$((promo - t0))" "$((${first_ok:-$t0} - t0))" "$((tdone - t0))" "$t2" "$t4" "$((tkill - t0))" "$same" \
		"$la" >>"$RESULTS"
	bench_log "$kind run $run: apply $((t1 - t0)) ms, promoted +$((promo - t0)), writable +$((${first_ok:-$t0} - t0)), re-pointed +$((tdone - t0)) ms (ticks before: db2 $t2, db4 $t4), equal: $same"
	cascade_stop "${NODES[@]}"
	# --keep: every run's instances under their own name (db1-current-1, ...)
	for n in "${NODES[@]}"; do
		BENCH_KEEP_TAG=$kind-$run bench_pg_drop "$n"
	done
}

for run in $(seq 1 "$RUNS"); do
	one_run current "$run"
done
for run in $(seq 1 "$LAG_RUNS"); do
	one_run lag "$run"
done

# ---------------------------------------------------------------- report
col() {
	awk -F'\t' -v s="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == s { print $k }' "$RESULTS"
}
cell() {
	local v
	mapfile -t v < <(col "$1" "$2")
	printf '%s (%s)' "$(bench_median "${v[@]}")" \
		"$(printf '%s\n' "${v[@]}" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a " – " b }')"
}
echo
echo "| runs | n | apply (ms) | promoted (ms) | writable, probe (ms) | all re-pointed and replicating (ms) | survivors equal |"
echo "|---|---:|---:|---:|---:|---:|---|"
for k in current lag; do
	n=$(col $k run | wc -l)
	[ "$n" -gt 0 ] || continue
	eq=$(col $k same | sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')
	echo "| $k | $n | $(cell $k apply_ms) | $(cell $k promoted_ms) | $(cell $k writable_ms) | $(cell $k repointed_ms) | $eq of $n |"
done
for k in current lag; do
	ls "$BENCH_DIR"/steps-$k-* >/dev/null 2>&1 || continue
	echo
	echo "$k: steps (ms since the apply started; median over runs; from skyreconcile -v):"
	cat "$BENCH_DIR"/steps-$k-* | awk '{ sub(/^\+/, "", $1); ms = $1; $1 = ""; sub(/^ /, ""); k = $0
		if (!(k in n)) order[++m] = k; v[k, ++n[k]] = ms }
		END { for (i = 1; i <= m; i++) { k = order[i]; c = n[k]
			for (a = 1; a <= c; a++) w[a] = v[k, a]
			for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (w[b] < w[a]) { t = w[a]; w[a] = w[b]; w[b] = t }
			med = (c % 2) ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
			printf "  %6d  %s  (runs: %d)\n", med, k, c } }'
done
echo
echo '```'
cat "$RESULTS"
echo '```'
[ -z "$OUT" ] || cp "$RESULTS" "$OUT"
}
exit
