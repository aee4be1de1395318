#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/failover_auto.sh: automatic failover time (issue 11, "Speed"): the root is killed and
# skyreconcile watch does the rest (detect, decide, commit, apply); from the kill until the new
# root takes writes and until every live node is re-pointed and replicating from it. Target:
# detect_after + 2 s on a 4-node cascade.
#
# Each run builds a fresh 4-node cascade (root db1, branches db2 and db4, leaf db3 under db2;
# the tables of bench/failover.sh; fsync and synchronous_commit on, pgqd ticker_period 0.2) from
# a git repository whose topology.yaml has failover: {mode: automatic, detect_after: D,
# witnesses: 2, candidates: {db2: 10}}, with `skyreconcile watch --repo` running; pgbench -c 4
# -j 2 and the write probe on db1; then db1 is stopped with pg_ctl -m immediate. Measured from
# the kill (epoch ms):
#   noticed      the watcher's first "does not answer" line
#   committed    the failover commit is in the repository (polled every 20 ms; after the
#                witnesses, anti-flap, decision, edit and commit)
#   writable     the probe's first committed write on db2 (it moves there once db2 says root)
#   re-pointed   db4's catalog names db2 as its provider and db3 and db4 have completed a tick
#                db2 made after the commit (polled every 20 ms)
# After each run db2, db3, db4 are md5-compared.
#
# Not a test and not run by CI. Run as root (servers run as postgres) or as postgres.
# See docs/performance.md, "Automatic failover".

set -euo pipefail
{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKY_ROOT=$(dirname "$BENCH_HOME")
. "$BENCH_HOME/lib/common.sh"
. "$BENCH_HOME/lib/pg.sh"
. "$BENCH_HOME/lib/cascade.sh"

RUNS=5
DETECT=2
SCALE=10
CLIENTS=4
WARMUP=3
OUT=

usage() {
	cat <<EOF
usage: $0 [options]
  --runs N        automatic failovers, each on a fresh cascade (default $RUNS)
  --detect S      failover.detect_after in seconds (default $DETECT)
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
	--detect) DETECT=$2; shift ;;
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
bench_start pgbench psql pgqd cc pg_config git
cascade_bins

RESULTS=$BENCH_DIR/results.tsv
printf '%s\n' "run	noticed_ms	committed_ms	writable_ms	repointed_ms	same	loadavg" >"$RESULTS"
ROOTCHECK="sql:select node_role = 'root' from pgq_set.get_node('$CASCADE')"
NODES=(db1 db2 db3 db4)
REPO=$BENCH_DIR/repo
TOPO=$REPO/topology.yaml

# log_ms LOG TEXT AFTER_MS: epoch ms of the first line of the watcher's LOG holding TEXT and
# stamped at AFTER_MS or later (a loaded machine can make a probe miss its 1 s before the kill)
log_ms() {
	local line ms
	while IFS= read -r line; do
		ms=$(date -u -d "${line:0:23}" +%s%3N)
		if ((ms >= $3)); then
			echo "$ms"
			return 0
		fi
	done < <(grep -o '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:.]* skyreconcile.*' "$1" | grep -F -- "$2")
	return 1
}

# one_run RUN: a fresh cascade under watch, load, kill, measurements
one_run() {
	local run=$1 n la tkill tnotice tcommit tick tdone='' first_ok same log watch_pid
	log=$BENCH_DIR/watch-$run.log
	cascade_node_new db1 "$SCALE"
	for n in db2 db3 db4; do
		cascade_node_new "$n" 0
	done
	rm -rf "$REPO"
	mkdir -p "$REPO"
	git -C "$REPO" init -q -b main
	cascade_topology "$TOPO" "db1 root" "db2 branch db1" "db4 branch db1" "db3 leaf db2"
	printf 'failover:\n  mode: automatic\n  detect_after: %s\n  witnesses: 2\n  candidates: {db2: 10}\n' \
		"$DETECT" >>"$TOPO"
	git -C "$REPO" add topology.yaml
	git -C "$REPO" -c user.name=bench -c user.email=bench@localhost commit -q -m "cascade"
	"$SKYRECONCILE" watch --repo "$REPO" --interval 30 -v >"$log" 2>&1 &
	watch_pid=$!
	bench_track "$watch_pid"
	for _ in $(seq 1 600); do
		[ "$(bench_sql db3 "select count(*) from pgq_set.get_node('$CASCADE')" 2>/dev/null)" = 1 ] && break
		sleep 0.1
	done
	cascade_start "${NODES[@]}"
	cascade_wait_ok 600 db2 db3 db4
	cascade_wait_caught_up db1 120 db2 db3 db4

	la=$(cut -d' ' -f1 /proc/loadavg)
	pgbench -n -c "$CLIENTS" -j 2 -T 600 -h "$BENCH_DIR/sock" -p "${BENCH_PORT[db1]}" \
		-U postgres "$BENCH_DB" >"$BENCH_DIR/pgbench-$run.log" 2>&1 &
	LOAD_PID=$!
	bench_track "$LOAD_PID"
	cascade_probe_start "$BENCH_DIR/probe-$run" "$ROOTCHECK" db1 db2
	sleep "$WARMUP"
	tkill=$(bench_ms)
	bench_as_pg "$PG_BIN/pg_ctl" -D "$BENCH_DIR/db1" -m immediate -w stop >/dev/null
	bench_kill "$LOAD_PID"
	tcommit=
	for _ in $(seq 1 3000); do
		if [ "$(git -C "$REPO" log --format=%H --grep='^Skycascade-Failover: automatic$' | wc -l)" -ge 1 ]; then
			tcommit=$(bench_ms)
			break
		fi
		sleep 0.02
	done
	[ -n "$tcommit" ] || bench_die "no failover commit 60 s after the kill (watch log: $log)"
	tick=$(cascade_tick_now db2)
	for _ in $(seq 1 6000); do
		if [ "$(bench_sql db4 "select provider_node from pgq_set.get_node('$CASCADE')")" = db2 ] &&
			cascade_caught_up "$tick" db3 db4; then
			tdone=$(bench_ms)
			break
		fi
		sleep 0.02
	done
	[ -n "$tdone" ] || bench_die "db3/db4 did not reach tick $tick of db2 (watch log: $log)"
	for _ in $(seq 1 300); do
		[ -n "$(cascade_probe_first_ok "$BENCH_DIR/probe-$run" db2)" ] && break
		sleep 0.1
	done
	cascade_probe_stop "$BENCH_DIR/probe-$run"
	first_ok=$(cascade_probe_first_ok "$BENCH_DIR/probe-$run" db2 "$tkill")
	tnotice=$(log_ms "$log" 'root "db1" does not answer' "$tkill" || echo "$tkill")
	cascade_wait_caught_up db2 120 db3 db4
	same=$(cascade_same db2 db3 db4)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$((tnotice - tkill))" "$((tcommit - tkill))" \
		"$((${first_ok:-$tkill} - tkill))" "$((tdone - tkill))" "$same" "$la" >>"$RESULTS"
	bench_log "run $run: noticed +$((tnotice - tkill)), committed +$((tcommit - tkill)), writable +$((${first_ok:-$tkill} - tkill)), re-pointed +$((tdone - tkill)) ms, equal: $same"
	bench_kill "$watch_pid"
	cascade_stop "${NODES[@]}"
	for n in "${NODES[@]}"; do
		BENCH_KEEP_TAG=auto-$run bench_pg_drop "$n"
	done
}

for run in $(seq 1 "$RUNS"); do
	one_run "$run"
done

# ---------------------------------------------------------------- report
col() {
	awk -F'\t' -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { print $k }' "$RESULTS"
}
cell() {
	local v
	mapfile -t v < <(col "$1")
	printf '%s (%s)' "$(bench_median "${v[@]}")" \
		"$(printf '%s\n' "${v[@]}" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a " – " b }')"
}
echo
echo "detect_after $DETECT s; ms after the kill, median (range) of $RUNS runs"
echo
echo "| noticed | committed | writable (probe) | all re-pointed and replicating | survivors equal |"
echo "|---:|---:|---:|---:|---|"
eq=$(col same | sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')
echo "| $(cell noticed_ms) | $(cell committed_ms) | $(cell writable_ms) | $(cell repointed_ms) | $eq of $RUNS |"
echo
echo '```'
cat "$RESULTS"
echo '```'
[ -z "$OUT" ] || cp "$RESULTS" "$OUT"
}
exit
