#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/switchover.sh: switchover under load (issue 14, "Reliability"): how long writes are
# blocked and how long the whole switchover takes, and that nothing is lost.
#
# A 3-node cascade built by skyreconcile (root db1, branch db2, leaf db3 under db2), pgbench
# scale tables replicated (pgbench_history with a bigserial primary key) plus the probe table,
# fsync and synchronous_commit on, pgqd ticker_period 0.2. For each run: pgbench -c 4 -j 2 on
# the root and the write probe (bench/probe.c, one insert every ~10 ms on the node it takes for
# the root, moving to the other node once that one's catalog says root); after a warm-up
# topology.yaml is edited (root -> the other of db1/db2) and skyreconcile -v applies it.
# Measured: the reconciler's step log (writers locked ... promoted to root), the probe's
# longest gap between two committed writes, the apply's wall time; after catch-up every table is
# md5-compared on the three nodes and the probe rows counted. Runs alternate db1 -> db2 and back.
#
# The peer: native logical replication has no switchover. As a reference, the same load and
# probe on two instances with a publication/subscription, switched by hand the way an operator
# would (stop writes, wait for the subscriber, drop the subscription, subscribe the other way,
# move the sequences, open the new primary).
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

RUNS=6
NATIVE_RUNS=4
SCALE=10
CLIENTS=4
WARMUP=3
OUT=

usage() {
	cat <<EOF
usage: $0 [options]
  --runs N          switchovers (alternating db1 -> db2, db2 -> db1; default $RUNS)
  --native-runs N   manual switches of native logical replication, 0 = skip (default $NATIVE_RUNS)
  --scale N         pgbench scale (default $SCALE)
  --clients N       pgbench clients on the root, -j 2 (default $CLIENTS)
  --warmup S        seconds of load before each switch (default $WARMUP)
  --out FILE        also write the raw results (TSV) to FILE
  --keep            keep the work directory (logs, data directories)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--native-runs) NATIVE_RUNS=$2; shift ;;
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
printf '%s\n' "system	run	from	to	rc	total_ms	lock_to_promote_ms	probe_gap_ms	first_err_ms	first_ok_new_ms	pgbench_tps	same	probe_rows	loadavg" >"$RESULTS"
ROOTCHECK="sql:select node_role = 'root' from pgq_set.get_node('$CASCADE')"

# load_start NODE: pgbench tpcb-like on NODE until killed (its clients end when writes are refused)
load_start() {
	pgbench -n -c "$CLIENTS" -j 2 -T 600 -h "$BENCH_DIR/sock" -p "${BENCH_PORT[$1]}" \
		-U postgres "$BENCH_DB" >"$BENCH_DIR/pgbench-$2.log" 2>&1 &
	LOAD_PID=$!
	bench_track "$LOAD_PID"
}

load_stop() {
	bench_kill "$LOAD_PID"
}

# load_tps RUN: transactions committed per second by the run's pgbench before the switch
load_tps() {
	awk '/^tps = / { print $3; exit }' "$BENCH_DIR/pgbench-$1.log"
}

loadavg() {
	cut -d' ' -f1 /proc/loadavg
}

# ---------------------------------------------------------------- skycascade
bench_log "skycascade: 3 nodes, pgbench scale $SCALE on db1, copied to db2 and db3"
cascade_node_new db1 "$SCALE"
cascade_node_new db2 0
cascade_node_new db3 0
TOPO=$BENCH_DIR/topology.yaml
cascade_topology "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2"
cascade_reconcile "$BENCH_DIR/reconcile-create.log" || bench_die "create failed: $(tail -n 5 "$BENCH_DIR/reconcile-create.log")"
cascade_start db1 db2 db3
cascade_wait_ok 600 db2 db3
bench_log "cascade in sync"

ROOT=db1
OTHER=db2
PROBE_ROWS=0
for run in $(seq 1 "$RUNS"); do
	la=$(loadavg)
	load_start "$ROOT" "sky-$run"
	cascade_probe_start "$BENCH_DIR/probe-sky-$run" "$ROOTCHECK" "$ROOT" "$OTHER"
	sleep "$WARMUP"
	cascade_topology "$TOPO" "$OTHER root" "$ROOT branch $OTHER" "db3 leaf db2"
	t0=$(bench_ms)
	rc=0
	cascade_reconcile "$BENCH_DIR/reconcile-sky-$run.log" || rc=$?
	t1=$(bench_ms)
	for _ in $(seq 1 300); do
		[ -n "$(cascade_probe_first_ok "$BENCH_DIR/probe-sky-$run" "$OTHER")" ] && break
		sleep 0.1
	done
	sleep 0.5
	cascade_probe_stop "$BENCH_DIR/probe-sky-$run"
	load_stop
	p=$BENCH_DIR/probe-sky-$run
	read -r gap _ _ < <(cascade_probe_gap "$p")
	first_err=$(awk '$1 == "err" { print $2; exit }' "$p")
	first_ok=$(cascade_probe_first_ok "$p" "$OTHER")
	lock=$(cascade_step_ms "$BENCH_DIR/reconcile-sky-$run.log" "writers locked" || echo 0)
	promo=$(cascade_step_ms "$BENCH_DIR/reconcile-sky-$run.log" "promoted to root" || echo 0)
	cascade_steps "$BENCH_DIR/reconcile-sky-$run.log" "$t0" >"$BENCH_DIR/steps-sky-$run"
	cascade_wait_caught_up "$OTHER" 300 "$ROOT" db3
	same=$(cascade_same db1 db2 db3)
	PROBE_ROWS=$((PROBE_ROWS + $(grep -c '^ok ' "$p")))
	rows=$(bench_sql "$OTHER" "select count(*) from public.probe")
	[ "$rows" = "$PROBE_ROWS" ] || same="no (probe rows $rows, committed $PROBE_ROWS)"
	printf 'skycascade\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$ROOT" \
		"$OTHER" "$rc" "$((t1 - t0))" "$((promo - lock))" "$gap" "$((${first_err:-$t0} - t0))" \
		"$((${first_ok:-$t0} - t0))" "$(load_tps "sky-$run")" "$same" "$rows" "$la" >>"$RESULTS"
	bench_log "skycascade run $run $ROOT -> $OTHER: apply ${rc}, $((t1 - t0)) ms, locked -> promoted $((promo - lock)) ms, probe gap $gap ms, equal: $same"
	[ "$rc" = 0 ] || bench_die "the switchover failed: $(tail -n 5 "$BENCH_DIR/reconcile-sky-$run.log")"
	t=$ROOT
	ROOT=$OTHER
	OTHER=$t
done
cascade_stop db1 db2 db3
for n in db1 db2 db3; do
	bench_pg_drop "$n"
done

# ---------------------------------------------------------------- native, switched by hand
# nat_rw NODE SQL: SQL in a session that may write (the database default is read-only)
nat_rw() {
	bench_psql "$1" -q -c "set default_transaction_read_only = off" -c "$2" >/dev/null
}

# nat_wait_marker NODE MARK: until branch 1's filler is MARK on NODE (applied from its publisher)
nat_wait_marker() {
	local deadline=$((SECONDS + 120))
	until [ "$(bench_sql "$1" "select filler = '$2' from pgbench_branches where bid = 1")" = t ]; do
		((SECONDS < deadline)) || bench_die "$1 did not apply the marker $2 in 120 s"
		sleep 0.01
	done
}

# nat_switch FROM TO RUN: the manual switch; the probe moves when $ROLEFILE names TO
nat_switch() {
	local from=$1 to=$2 run=$3 mark
	# 1. stop writes on FROM: new sessions read-only, application sessions ended
	bench_sql "$from" "alter database $BENCH_DB set default_transaction_read_only = on" >/dev/null
	bench_sql "$from" "select count(pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and backend_type = 'client backend'
		and pid <> pg_backend_pid()" >/dev/null
	# 2. wait for the subscriber: a marker written after the stop (in commit order, the last)
	mark="switch-$run"
	nat_rw "$from" "update pgbench_branches set filler = '$mark' where bid = 1"
	nat_wait_marker "$to" "$mark"
	# 3. TO stops subscribing; 4. its sequences past the keys (native replication has none)
	nat_rw "$to" "drop subscription sub_$to"
	nat_rw "$to" "select setval('pgbench_history_id_seq', coalesce(max(id), 1)) from pgbench_history;
		select setval('probe_id_seq', coalesce(max(id), 1)) from public.probe"
	# 5. FROM subscribes to TO (its slot on TO starts now: no write on TO before this)
	nat_rw "$from" "create subscription sub_$from connection '$(bench_dsn "$to")' publication pub
		with (copy_data = false)"
	# 6. TO takes writes: open to the application
	nat_rw "$to" "alter database $BENCH_DB reset default_transaction_read_only"
	echo "$to" >"$ROLEFILE"
}

if [ "$NATIVE_RUNS" -gt 0 ]; then
	bench_log "native: 2 instances, pgbench scale $SCALE on both, publication/subscription"
	cascade_node_new nat1 "$SCALE"
	cascade_node_new nat2 "$SCALE"
	for n in nat1 nat2; do
		bench_sql "$n" "create publication pub for table pgbench_accounts, pgbench_branches,
			pgbench_history, pgbench_tellers, public.probe" >/dev/null
	done
	bench_sql nat2 "alter database $BENCH_DB set default_transaction_read_only = on" >/dev/null
	nat_rw nat2 "create subscription sub_nat2 connection '$(bench_dsn nat1)' publication pub
		with (copy_data = false)"
	ROLEFILE=$BENCH_DIR/native-root
	echo nat1 >"$ROLEFILE"
	ROOT=nat1
	OTHER=nat2
	PROBE_ROWS=0
	sleep 2
	for run in $(seq 1 "$NATIVE_RUNS"); do
		la=$(loadavg)
		load_start "$ROOT" "nat-$run"
		cascade_probe_start "$BENCH_DIR/probe-nat-$run" "file:$ROLEFILE" "$ROOT" "$OTHER"
		sleep "$WARMUP"
		t0=$(bench_ms)
		nat_switch "$ROOT" "$OTHER" "$run"
		t1=$(bench_ms)
		for _ in $(seq 1 300); do
			[ -n "$(cascade_probe_first_ok "$BENCH_DIR/probe-nat-$run" "$OTHER")" ] && break
			sleep 0.1
		done
		sleep 0.5
		cascade_probe_stop "$BENCH_DIR/probe-nat-$run"
		load_stop
		p=$BENCH_DIR/probe-nat-$run
		read -r gap _ _ < <(cascade_probe_gap "$p")
		first_err=$(awk '$1 == "err" { print $2; exit }' "$p")
		first_ok=$(cascade_probe_first_ok "$p" "$OTHER")
		# caught up: a marker on the new primary visible on the old one
		bench_sql "$OTHER" "update pgbench_branches set filler = 'after-$run' where bid = 1" >/dev/null
		nat_wait_marker "$ROOT" "after-$run"
		same=$(cascade_same nat1 nat2)
		PROBE_ROWS=$((PROBE_ROWS + $(grep -c '^ok ' "$p")))
		rows=$(bench_sql "$OTHER" "select count(*) from public.probe")
		[ "$rows" = "$PROBE_ROWS" ] || same="no (probe rows $rows, committed $PROBE_ROWS)"
		printf 'native-manual\t%s\t%s\t%s\t0\t%s\t-\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$ROOT" \
			"$OTHER" "$((t1 - t0))" "$gap" "$((${first_err:-$t0} - t0))" \
			"$((${first_ok:-$t0} - t0))" "$(load_tps "nat-$run")" "$same" "$rows" "$la" >>"$RESULTS"
		bench_log "native run $run $ROOT -> $OTHER: $((t1 - t0)) ms, probe gap $gap ms, equal: $same"
		t=$ROOT
		ROOT=$OTHER
		OTHER=$t
	done
fi

# ---------------------------------------------------------------- report
col() { # col SYSTEM NAME: the values of one column for one system
	awk -F'\t' -v s="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 == s { print $k }' "$RESULTS"
}
range() {
	printf '%s\n' "$@" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { print a " – " b }'
}
echo
echo "| system | runs | write gap, probe (ms) | locked → promoted, log (ms) | apply / switch total (ms) | tables equal |"
echo "|---|---:|---:|---:|---:|---|"
for s in skycascade native-manual; do
	mapfile -t g < <(col $s probe_gap_ms)
	[ ${#g[@]} -gt 0 ] || continue
	mapfile -t l < <(col $s lock_to_promote_ms)
	mapfile -t t < <(col $s total_ms)
	eq=$(col $s same | sort | uniq -c | awk '{ printf "%s%s %d/", sep, $2, $1; sep = ", " }')
	if [ "$s" = skycascade ]; then
		lm="$(bench_median "${l[@]}") ($(range "${l[@]}"))"
	else
		lm=—
	fi
	echo "| $s | ${#g[@]} | $(bench_median "${g[@]}") ($(range "${g[@]}")) | $lm | $(bench_median "${t[@]}") ($(range "${t[@]}")) | ${eq%/} of ${#g[@]} |"
done
echo
echo "skycascade steps (ms since the apply started; median over runs; from skyreconcile -v):"
cat "$BENCH_DIR"/steps-sky-* | awk '{ sub(/^\+/, "", $1); ms = $1; $1 = "";
	sub(/^ [a-z0-9_]+: /, ""); k = $0
	if (!(k in n)) order[++m] = k; v[k, ++n[k]] = ms }
	END { for (i = 1; i <= m; i++) { k = order[i]; c = n[k]
		for (a = 1; a <= c; a++) w[a] = v[k, a]
		for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (w[b] < w[a]) { t = w[a]; w[a] = w[b]; w[b] = t }
		med = (c % 2) ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
		printf "  %6d  %s  (runs: %d)\n", med, k, c } }'
echo
echo '```'
cat "$RESULTS"
echo '```'
[ -z "$OUT" ] || cp "$RESULTS" "$OUT"
}
exit
