#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/drain.sh: backlog drain root -> branch, skyworker against londiste3 and native logical
# replication measured in the same run on identically configured, fresh PostgreSQL instances.
#
# For each system and run: two fresh instances (source, target), pgbench -i -s 1 on both, the
# system's replication set up for pgbench_accounts/tellers/branches and its consumer stopped;
# pgbench tpcb-like on the source queues the backlog (3 row events per transaction on those
# tables), one last update writes a marker row; then the consumer is started and the drain time
# is from its start until the marker is visible on the target (polled every 50 ms through one
# autocommit psql session). Target tables are compared with the source (md5) after every drain.
# The memory test queues one batch of 1,000,000 events (ticker paused) and records the worker's
# peak RSS while it applies it.
#
# Not a test and not run by CI. Run as root (servers are started as the postgres OS user) or as
# postgres. See docs/performance.md.

set -euo pipefail

# The whole script is one block, read by bash before it runs: editing the file during a run
# cannot change the run.
{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKY_ROOT=$(dirname "$BENCH_HOME")
. "$BENCH_HOME/lib/common.sh"
. "$BENCH_HOME/lib/pg.sh"
. "$BENCH_HOME/lib/sys_native.sh"
. "$BENCH_HOME/lib/sys_londiste.sh"
. "$BENCH_HOME/lib/sys_skyworker.sh"

# the caller's libpq environment must not redirect our connections
SYSTEMS="skyworker londiste native"
RUNS=5
EVENTS=160000
CLIENTS=4
MEM_EVENTS=1000000
MEM_SYSTEMS="skyworker londiste native"
SCALE=1
HISTORY=0
SYNC_COMMIT=off
TIMEOUT=1800
OUT=
PERF_DIR=
SKYWORKER=${SKYWORKER:-}

usage() {
	cat <<EOF
usage: $0 [options]
  --systems "A B"       systems to measure, of: skyworker londiste native skyleaf
                        (skyleaf: skyworker applying to a leaf, no queue copy)
                        (default: $SYSTEMS)
  --runs N              drains per system, the median is reported (default: $RUNS)
  --events N            row events in the backlog (default: $EVENTS)
  --clients N           pgbench clients generating the backlog (default: $CLIENTS)
  --scale N             pgbench scale of both instances (default: $SCALE)
  --history             give pgbench_history a primary key and replicate it too (4 row
                        events per transaction instead of 3)
  --sync-commit on|off  synchronous_commit of every instance (default: $SYNC_COMMIT)
  --protocol issue13    issue 13's protocol: --scale 10 --history --sync-commit on
                        --events 160000 --clients 4 (pgqd ticker_period 1, the default)
  --mem-events N        events in the single batch of the memory test, 0 = skip
                        (default: $MEM_EVENTS)
  --mem-systems "A B"   systems in the memory test (default: $MEM_SYSTEMS)
  --skyworker PATH      worker binary (default: build*/worker/skyworker of this tree)
  --worker-args "ARGS"  extra skyworker options (default: none)
  --timeout S           give up on a drain after S seconds (default: $TIMEOUT)
  --out FILE            also write the raw results (TSV) to FILE
  --perf DIR            profile every drain with perf (cpu-clock, whole machine) and write
                        the hottest symbols of the source, target and worker to DIR
                        (perturbs the timing a little: use for a separate run)
  --keep                keep the work directory (logs, data directories with their server
                        logs) for inspection; BENCH_PG_EXTRA="setting = value" adds settings
                        to every instance (e.g. log_min_duration_statement = 0)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--systems) SYSTEMS=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--events) EVENTS=$2; shift ;;
	--clients) CLIENTS=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--history) HISTORY=1 ;;
	--sync-commit) SYNC_COMMIT=$2; shift ;;
	--protocol)
		[ "$2" = issue13 ] || { usage >&2; exit 2; }
		SCALE=10 HISTORY=1 SYNC_COMMIT=on EVENTS=160000 CLIENTS=4
		shift
		;;
	--mem-events) MEM_EVENTS=$2; shift ;;
	--mem-systems) MEM_SYSTEMS=$2; shift ;;
	--skyworker) SKYWORKER=$2; shift ;;
	--worker-args) SKYWORKER_ARGS=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--out) OUT=$2; shift ;;
	--perf) PERF_DIR=$2; shift ;;
	--keep) BENCH_KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

if [ -z "$SKYWORKER" ]; then
	for f in "$SKY_ROOT"/build/worker/skyworker "$SKY_ROOT"/build*/worker/skyworker; do
		if [ -x "$f" ]; then
			SKYWORKER=$f
			break
		fi
	done
fi
[ "$MEM_EVENTS" -gt 0 ] || MEM_SYSTEMS=
case " $SYSTEMS $MEM_SYSTEMS " in
*" skyworker "* | *" skyleaf "*) [ -x "$SKYWORKER" ] ||
	bench_die "no skyworker binary: build it (cmake -S . -B build && cmake --build build)" \
		"or pass --skyworker PATH, or leave skyworker out of --systems/--mem-systems" ;;
esac
if [ -n "$PERF_DIR" ]; then
	command -v perf >/dev/null || bench_die "perf not found (apt-get install linux-perf)"
	mkdir -p "$PERF_DIR"
	PERF_DIR=$(cd "$PERF_DIR" && pwd)
fi
for t in pgbench psql pgqd; do
	command -v $t >/dev/null || bench_die "$t not found"
done
case " $SYSTEMS $MEM_SYSTEMS " in
*" londiste "*) command -v londiste >/dev/null ||
	bench_die "londiste not found (apt-get install python3-londiste postgresql-15-pgq-node" \
		"postgresql-15-londiste-sql), or leave londiste out of --systems/--mem-systems" ;;
esac

BENCH_TABLES=(pgbench_accounts pgbench_tellers pgbench_branches)
EV_PER_TX=3
if [ "$HISTORY" = 1 ]; then
	BENCH_TABLES+=(pgbench_history)
	EV_PER_TX=4
fi
BENCH_PG_SETTINGS=${BENCH_PG_SETTINGS/synchronous_commit = off/synchronous_commit = $SYNC_COMMIT}

bench_start

RESULTS=$BENCH_DIR/results.tsv
printf '%s\t' test system run events queued batches seconds events_per_s peak_rss_kb correct \
	cpu_src_s cpu_dst_s cpu_worker_s loadavg >"$RESULTS"
echo cpu_us_per_event >>"$RESULTS"
HZ=$(getconf CLK_TCK)

# bench_pair_new: fresh source and target with identical pgbench data
bench_pair_new() {
	local n
	for n in src dst; do
		bench_pg_new $n
		bench_run pgbench -i -s "$SCALE" -q -h "$BENCH_DIR/sock" -p "${BENCH_PORT[$n]}" \
			-U postgres "$BENCH_DB" >>"$BENCH_DIR/pgbench.log" 2>&1 ||
			bench_die "pgbench -i failed on $n"
		if [ "$HISTORY" = 1 ]; then
			bench_sql $n "alter table pgbench_history
				add column hid bigint generated by default as identity primary key" >/dev/null
		fi
	done
}

# load_backlog: EVENTS row events on the replicated tables, tpcb-like, as the application would
load_backlog() {
	local txns per_client
	txns=$(((EVENTS + EV_PER_TX - 1) / EV_PER_TX))
	per_client=$(((txns + CLIENTS - 1) / CLIENTS))
	bench_run pgbench -n -c "$CLIENTS" -j 2 -t "$per_client" -h "$BENCH_DIR/sock" \
		-p "${BENCH_PORT[src]}" -U postgres "$BENCH_DB" >"$BENCH_DIR/pgbench-load.log" 2>&1 ||
		bench_die "pgbench load failed"
	cat "$BENCH_DIR/pgbench-load.log" >>"$BENCH_DIR/pgbench.log"
	txns=$(sed -n 's|^number of transactions actually processed: \([0-9]*\)/.*|\1|p' \
		"$BENCH_DIR/pgbench-load.log")
	[ -n "$txns" ] || bench_die "pgbench load: no transaction count"
	LOAD_EVENTS=$((EV_PER_TX * txns))
}

# load_bulk: MEM_EVENTS single-row updates in 100,000-row transactions
# MEM_EVENTS updates of pgbench_accounts in statements of 100,000 rows, each row once while the
# scale has rows enough (--scale 10 for 1,000,000 distinct keys), then again from the first
load_bulk() {
	local left=$MEM_EVENTS n off=0 rows=$((SCALE * 100000))
	while [ "$left" -gt 0 ]; do
		n=$((left < 100000 ? left : 100000))
		[ "$((off + n))" -le "$rows" ] || off=0
		bench_run bench_sql src "update pgbench_accounts set abalance = abalance + 1
			where aid > $off and aid <= $((off + n))" >/dev/null
		off=$((off + n))
		left=$((left - n))
	done
	LOAD_EVENTS=$MEM_EVENTS
}

# perf_report NAME PERF_PID: stop perf, write the hottest symbols per side to $PERF_DIR
perf_report() {
	local name=$1 side pids pm
	bench_kill "$2"
	for side in source target worker; do
		case $side in
		source | target)
			pm=$(head -n 1 "$BENCH_DIR/$([ $side = source ] && echo src || echo dst)/postmaster.pid")
			pids=$(echo "$pm" $(pgrep -P "$pm") | tr ' ' ,)
			;;
		worker) pids=${SYS_PID:-} ;;
		esac
		[ -n "$pids" ] || continue
		perf report -i "$BENCH_DIR/perf.data" --stdio --no-children --percentage relative --pid="$pids" \
			--sort dso,sym --percent-limit 0.5 2>/dev/null | grep -v '^$' | head -70 \
			>"$PERF_DIR/perf-$name-$side.txt" || true
	done
	rm -f "$BENCH_DIR/perf.data"
}

# drain_one TEST SYSTEM RUN: one measured drain; appends a line to $RESULTS
drain_one() {
	local test=$1 sys=$2 run=$3 marker events queued queue consumer batches t0 t1 secs rate rss=0
	local ok=no cpu_src cpu_dst cpu_wrk=0 cpu_ev load n
	marker="drain-$test-$sys-$run-$$"
	bench_log "$test/$sys run $run: setting up"
	bench_pair_new
	"${sys}_setup" src dst
	queued=
	if [ "$sys" != native ]; then
		read -r queue consumer < <("${sys}_consumer")
		queued=$(bench_pgq_events src "$queue")
	fi

	if [ "$test" = mem ]; then
		"${sys}_memtest_prepare" src
		bench_log "$test/$sys run $run: queueing $MEM_EVENTS events in one batch"
		load_bulk
	else
		bench_log "$test/$sys run $run: queueing the backlog (pgbench, consumer stopped)"
		load_backlog
	fi
	bench_sql src "update pgbench_branches set filler = '$marker' where bid = 1" >/dev/null
	[ "$test" = mem ] && "${sys}_memtest_release" src
	events=$((LOAD_EVENTS + 1))	# + the marker
	"${sys}_queued" src dst
	batches=
	if [ "$sys" != native ]; then
		queued=$(($(bench_pgq_events src "$queue") - queued))
		batches=$(bench_pgq_batches src "$queue" "$consumer")
	fi
	bench_sql src checkpoint
	bench_sql dst checkpoint

	# Poll the target every 50 ms through one psql session in autocommit mode: a snapshot held
	# across the drain (a DO loop, a long transaction) would keep the updated rows' old versions
	# alive and make every system's apply slower and slower.
	coproc WATCH { bench_psql dst -q 2>&1; }
	local win=${WATCH[1]} wout=${WATCH[0]} wpid=$WATCH_PID line deadline
	bench_track "$wpid"
	bench_log "$test/$sys run $run: draining $events events ($queued queued, ${batches:-?} batches)"
	deadline=$((SECONDS + TIMEOUT))
	local perf_pid=
	if [ -n "$PERF_DIR" ]; then
		perf record -a -e cpu-clock -F 999 -o "$BENCH_DIR/perf.data" >"$BENCH_DIR/perf.log" 2>&1 &
		perf_pid=$!
		bench_track "$perf_pid"
		sleep 1
	fi
	read -r load _ </proc/loadavg
	cpu_src=$(bench_pg_cpu_ticks src)
	cpu_dst=$(bench_pg_cpu_ticks dst)
	t0=$(bench_now)
	SYS_PID=
	"${sys}_start" src dst
	while :; do
		echo "select exists (select 1 from pgbench_branches where bid = 1
			and filler = '$marker')::int, extract(epoch from clock_timestamp());" >&"$win"
		read -r -t 30 line <&"$wout" || bench_die "$sys: lost the target while polling"
		if [ "${line%%|*}" = 1 ]; then
			t1=${line#*|}
			break
		fi
		[[ $line =~ ^0\| ]] || bench_die "$sys: polling the target failed: $line"
		[ -n "$SYS_PID" ] && rss=$(bench_rss_peak "$SYS_PID") &&
			cpu_wrk=$(bench_cpu_ticks "$SYS_PID")
		[ "$SECONDS" -lt "$deadline" ] || bench_die "$sys: drain did not finish in $TIMEOUT s"
		sleep 0.05
	done
	if [ -n "$SYS_PID" ]; then
		rss=$(bench_rss_peak "$SYS_PID")
		cpu_wrk=$(bench_cpu_ticks "$SYS_PID")
	fi
	cpu_src=$(($(bench_pg_cpu_ticks src) - cpu_src))
	cpu_dst=$(($(bench_pg_cpu_ticks dst) - cpu_dst))
	[ -n "$perf_pid" ] && perf_report "$test-$sys-$run" "$perf_pid"
	exec {win}>&-
	wait "$wpid" 2>/dev/null || true
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	rate=$(awk -v e="$events" -v s="$secs" 'BEGIN { printf "%.0f", e / s }')
	"${sys}_stop" src dst
	[ "$(bench_tables_md5 src)" = "$(bench_tables_md5 dst)" ] && ok=yes
	cpu_src=$(awk -v t="$cpu_src" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	cpu_dst=$(awk -v t="$cpu_dst" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	cpu_wrk=$(awk -v t="$cpu_wrk" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	bench_log "$test/$sys run $run: $events events in $secs s = $rate events/s," \
		"peak RSS ${rss:-0} kB, CPU s: source $cpu_src target $cpu_dst worker $cpu_wrk," \
		"load $load, target equal to source: $ok"
	cpu_ev=$(awk -v a="$cpu_src" -v b="$cpu_dst" -v c="$cpu_wrk" -v e="$events" \
		'BEGIN { printf "%.1f", (a + b + c) * 1e6 / e }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$sys" \
		"$run" "$events" "${queued:--}" "${batches:--}" "$secs" "$rate" "${rss:-0}" "$ok" \
		"$cpu_src" "$cpu_dst" "$cpu_wrk" "$load" "$cpu_ev" >>"$RESULTS"
	BENCH_KEEP_TAG=$test-$sys-$run
	for n in src dst; do
		bench_pg_drop $n
	done
	rm -f "$BENCH_DIR"/*.pid
}

# Runs interleave the systems (run 1 of each, then run 2 of each...) so that a change in the
# machine's load hits every system alike.
for run in $(seq 1 "$RUNS"); do
	for sys in $SYSTEMS; do
		drain_one drain "$sys" "$run"
	done
done
if [ "$MEM_EVENTS" -gt 0 ]; then
	for sys in $MEM_SYSTEMS; do
		drain_one mem "$sys" 1
	done
fi

[ -n "$OUT" ] && cp "$RESULTS" "$OUT"

# Report: medians per system and the ratios against skyworker
median_of() { # median_of TEST SYSTEM COLUMN
	# shellcheck disable=SC2046
	bench_median $(awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s {print $c}' "$RESULTS")
}
report() {
	local sys rate base
	echo
	echo "machine: $(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MB memory;" \
		"$(psql --version | head -1);" \
		"$(dpkg-query -W -f='${Package} ${Version}, ' postgresql-15-pgq3 pgqd python3-londiste \
			2>/dev/null)$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "runs: $RUNS, backlog $EVENTS row events (pgbench -s $SCALE -c $CLIENTS, tables:" \
		"${BENCH_TABLES[*]}, synchronous_commit $SYNC_COMMIT); medians of the runs"
	echo
	echo "| system | events | seconds | events/s | skyworker / system | peak RSS (MB) |" \
		"CPU s: source | target | worker | CPU µs / event | correct |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	base=
	case " $SYSTEMS " in *" skyworker "*) base=$(median_of drain skyworker 8) ;; esac
	for sys in $SYSTEMS; do
		rate=$(median_of drain "$sys" 8)
		printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n' "$sys" \
			"$(median_of drain "$sys" 4)" "$(median_of drain "$sys" 7)" "$rate" \
			"$([ -n "$base" ] && awk -v a="$base" -v b="$rate" 'BEGIN { printf "%.2f", a / b }' || echo -)" \
			"$(if [ "$sys" = native ]; then echo n/a; else
				awk -v k="$(median_of drain "$sys" 9)" 'BEGIN { printf "%.1f", k / 1024 }'; fi)" \
			"$(median_of drain "$sys" 11)" "$(median_of drain "$sys" 12)" \
			"$(if [ "$sys" = native ]; then echo "(in servers)"; else median_of drain "$sys" 13; fi)" \
			"$(median_of drain "$sys" 15)" \
			"$(awk -F'\t' -v s="$sys" '$1 == "drain" && $2 == s {print $10}' "$RESULTS" |
				sort -u | paste -sd/)"
	done
	if [ -n "$MEM_SYSTEMS" ]; then
		echo
		echo "| single batch (bulk updates) | events | batches | seconds | events/s |" \
			"skyworker / system | peak RSS (MB) | CPU s: source | target | worker |" \
			"CPU µs / event | correct |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
		awk -F'\t' '$1 == "mem" && $2 == "skyworker" { base = $8 }
			$1 == "mem" { row[++n] = $0 }
			END { for (i = 1; i <= n; i++) { split(row[i], f, "\t")
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					f[2], f[4], f[6] == "-" ? "n/a" : f[6], f[7], f[8],
					base ? sprintf("%.2f", base / f[8]) : "-",
					f[2] == "native" ? "n/a" : sprintf("%.1f", f[9] / 1024),
					f[11], f[12], f[2] == "native" ? "(in servers)" : f[13], f[15],
					f[10] } }' \
			"$RESULTS"
	fi
	echo
	echo "raw results:"
	cat "$RESULTS"
}
report
exit
}
