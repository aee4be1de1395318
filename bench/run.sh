#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/run.sh: the one benchmark command of issue 13. Measures, in one run, skycascade
# (skyworker) and native logical replication (and londiste3's drain where it is installed) on
# the issue's protocol and writes the table into docs/performance.md as ratios against native
# measured in the same run:
#   - lag: the last transaction committed on the root -> everything visible on the branch
#   - source tps while replicating (capture cost)
#   - backlog drain, scale-10 protocol (consumer stopped while pgbench queues the backlog)
#   - add a 1,000,000-row table -> a change made on the root after its copy started is
#     visible on the branch, against the raw COPY | COPY pipe with the key rebuilt
#   - the worker's peak RSS over all of it
#   - drain of one 1,000,000-event batch of distinct keys (bench/drain.sh's single batch), to
#     a branch and to a leaf (the queue copy's cost)
#   - the same backlog drain to a leaf (no queue copy; it spans ticks), against native in the
#     same bench/drain.sh run
# Protocol: pgbench scale 10 on both instances, pgbench_history given a primary key so that
# every system replicates all four tables, `pgbench -c 4 -j 2`, fsync and synchronous_commit
# on, pgqd ticker_period 0.1 (dist/pgqd.ini), RUNS runs on fresh instances, medians.
#
# Not a test and not run by CI. Run as root (servers run as the postgres OS user) or postgres.

set -euo pipefail

# read whole before running: editing the file during a run cannot change the run
{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKY_ROOT=$(dirname "$BENCH_HOME")
. "$BENCH_HOME/lib/common.sh"
. "$BENCH_HOME/lib/pg.sh"
. "$BENCH_HOME/lib/sys_native.sh"
. "$BENCH_HOME/lib/sys_londiste.sh"
. "$BENCH_HOME/lib/sys_skyworker.sh"

RUNS=2
SCALE=10
CLIENTS=4
JOBS=2
LOAD_SECONDS=20
DRAIN_EVENTS=160000
BIG_ROWS=1000000
MEM_EVENTS=1000000
LEAF_DRAIN=1
IDLE_SECONDS=60
SYSTEMS="skyworker native"
DOC=$SKY_ROOT/docs/performance.md
WRITE_DOC=1
SKYWORKER=${SKYWORKER:-}
TIMEOUT=600

usage() {
	cat <<EOF
usage: $0 [options]
  --runs N            runs per system, medians reported (default $RUNS)
  --systems "A B"     of: skyworker native (default: "$SYSTEMS")
  --scale N           pgbench scale (default $SCALE)
  --seconds N         pgbench -T of the lag / tps phase (default $LOAD_SECONDS)
  --drain-events N    row events of the drain backlog (default $DRAIN_EVENTS)
  --big-rows N        rows of the table added for add -> live (default $BIG_ROWS)
  --mem-events N      events of the single-batch drain (bench/drain.sh), 0 = skip (default $MEM_EVENTS)
  --no-leaf-drain     skip the drain to a leaf (bench/drain.sh --protocol issue13, skyleaf + native)
  --idle N            seconds of the idle-cost measurement (skycascade, run 1), 0 = skip
                      (default $IDLE_SECONDS)
  --skyworker PATH    worker binary (default: build*/worker/skyworker of this tree)
  --doc FILE          the page the table goes into (default docs/performance.md)
  --no-doc            print the table only
  --no-londiste       leave londiste3 out even where it is installed
  --pgqd-ticker S     pgqd's ticker_period (default 0.1, as dist/pgqd.ini)
  --keep              keep the work directory
londiste3 (lag, tps, drain; not add -> live) is measured too when londiste is installed (python3-londiste,
postgresql-15-pgq-node, postgresql-15-londiste-sql).
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--systems) SYSTEMS=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--seconds) LOAD_SECONDS=$2; shift ;;
	--drain-events) DRAIN_EVENTS=$2; shift ;;
	--big-rows) BIG_ROWS=$2; shift ;;
	--mem-events) MEM_EVENTS=$2; shift ;;
	--no-leaf-drain) LEAF_DRAIN=0 ;;
	--idle) IDLE_SECONDS=$2; shift ;;
	--skyworker) SKYWORKER=$2; shift ;;
	--doc) DOC=$2; shift ;;
	--no-doc) WRITE_DOC=0 ;;
	--no-londiste) NO_LONDISTE=1 ;;
	--pgqd-ticker) PGQD_TICKER=$2; shift ;;
	--keep) BENCH_KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

if [ -z "$SKYWORKER" ]; then
	for f in "$SKY_ROOT"/build/worker/skyworker "$SKY_ROOT"/build*/worker/skyworker; do
		[ -x "$f" ] && { SKYWORKER=$f; break; }
	done
fi
[ -x "$SKYWORKER" ] || bench_die "no skyworker binary (cmake -S . -B build && cmake --build build)"
for t in pgbench psql pgqd; do
	command -v $t >/dev/null || bench_die "$t not found"
done
if [ -z "${NO_LONDISTE:-}" ] && command -v londiste >/dev/null; then
	case " $SYSTEMS " in *" londiste "*) ;; *) SYSTEMS+=" londiste" ;; esac
fi

# the issue's protocol: durability on; commit timestamps give the last commit's time
BENCH_PG_EXTRA="synchronous_commit = on
track_commit_timestamp = on"
BENCH_PGQD_TICKER=${PGQD_TICKER:-0.1}
BENCH_TABLES=(pgbench_accounts pgbench_tellers pgbench_branches pgbench_history)
export BENCH_PG_EXTRA BENCH_PGQD_TICKER

bench_start
RESULTS=$BENCH_DIR/results.tsv
printf 'measure\tsystem\trun\tvalue\textra\tloadavg\n' >"$RESULTS"
COMMIT=$(git -C "$SKY_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
T_START=$(date -u +%H:%M)

result() { # result MEASURE SYSTEM RUN VALUE [EXTRA]
	local load
	read -r load _ </proc/loadavg
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:--}" "$load" >>"$RESULTS"
	bench_log "$1 $2 run $3: $4 ${5:-}"
}

pgb() { # pgb NAME ARGS...: pgbench on an instance
	local n=$1
	shift
	pgbench -h "$BENCH_DIR/sock" -p "${BENCH_PORT[$n]}" -U postgres "$@" "$BENCH_DB"
}

# a fresh pair with identical data: pgbench -i -s SCALE, pgbench_history with a key
pair_new() {
	local n
	for n in src dst; do
		bench_pg_new $n
		bench_run pgb $n -i -s "$SCALE" -q >>"$BENCH_DIR/pgbench.log" 2>&1 ||
			bench_die "pgbench -i failed on $n"
		bench_sql $n "alter table pgbench_history
			add column hid bigserial primary key" >/dev/null
	done
}

# One autocommit psql session on NAME polled every 10 ms: poll_until NAME SQL prints the
# server's clock_timestamp() (epoch) of the first poll where SQL returned true.
poll_until() {
	local name=$1 sql=$2 line deadline=$((SECONDS + TIMEOUT))
	coproc POLL { bench_psql "$name" -q 2>&1; }
	local win=${POLL[1]} wout=${POLL[0]} wpid=$POLL_PID
	bench_track "$wpid"
	while :; do
		echo "select ($sql)::int, extract(epoch from clock_timestamp());" >&"$win"
		read -r -t 60 line <&"$wout" || bench_die "lost $name while polling"
		[ "${line%%|*}" = 1 ] && break
		[[ $line =~ ^0\| ]] || bench_die "polling $name failed: $line"
		[ "$SECONDS" -lt "$deadline" ] || bench_die "$name: no \"$sql\" after $TIMEOUT s"
		sleep 0.01
	done
	exec {win}>&-
	wait "$wpid" 2>/dev/null || true
	bench_untrack "$wpid"
	echo "${line#*|}"
}

sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# lag and tps: consumer running, pgbench -T; lag = last commit on the source (commit
# timestamp of the newest pgbench_history row) -> that many history rows on the target
measure_lag_tps() {
	local sys=$1 run=$2 tps n t_commit t_seen
	bench_sql src checkpoint >/dev/null
	bench_sql dst checkpoint >/dev/null
	bench_run pgb src -n -c "$CLIENTS" -j "$JOBS" -T "$LOAD_SECONDS" >"$BENCH_DIR/pgbench-tps.log" 2>&1 ||
		bench_die "$sys: pgbench failed"
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$BENCH_DIR/pgbench-tps.log")
	IFS='|' read -r n t_commit < <(bench_sql src "select count(*),
		extract(epoch from max(pg_xact_commit_timestamp(xmin))) from pgbench_history")
	t_seen=$(poll_until dst "(select count(*) from pgbench_history) >= $n")
	result tps "$sys" "$run" "$(printf '%.0f' "$tps")"
	result lag "$sys" "$run" "$(sub "$t_commit" "$t_seen")"
}

# drain: consumer stopped, DRAIN_EVENTS row events (4 per tpcb-like transaction) and a marker,
# consumer started, until the marker is visible
measure_drain() {
	local sys=$1 run=$2
	local txns per t0 t1 marker=drain-$sys-$run-$$ processed
	txns=$(((DRAIN_EVENTS + 3) / 4))
	per=$(((txns + CLIENTS - 1) / CLIENTS))
	case $sys in
	skyworker)
		RSS_BEFORE=$(bench_rss_peak "$SKY_PID")
		bench_kill "$SKY_PID"
		;;
	native) native_stop src dst ;;
	londiste) bench_kill "$LONDISTE_PID" ;;
	esac
	NATIVE_DISABLED_AT=$SECONDS
	bench_run pgb src -n -c "$CLIENTS" -j "$JOBS" -t "$per" >"$BENCH_DIR/pgbench-drain.log" 2>&1 ||
		bench_die "$sys: pgbench backlog failed"
	processed=$(sed -n 's|^number of transactions actually processed: \([0-9]*\)/.*|\1|p' \
		"$BENCH_DIR/pgbench-drain.log")
	bench_sql src "update pgbench_branches set filler = '$marker' where bid = 1" >/dev/null
	"${sys}_queued" src dst
	bench_sql src checkpoint >/dev/null
	bench_sql dst checkpoint >/dev/null
	t0=$(bench_now)
	"${sys}_start" src dst
	t1=$(poll_until dst "exists (select 1 from pgbench_branches where bid = 1 and filler = '$marker')")
	result drain "$sys" "$run" "$(awk -v e="$((processed * 4 + 1))" -v s="$(sub "$t0" "$t1")" \
		'BEGIN { printf "%.0f", e / s }')" "$((processed * 4 + 1)) events in $(sub "$t0" "$t1") s"
}

# add -> live: a BIG_ROWS-row table on the source (empty with its key on the target); the raw
# pipe into a key-less copy with the key added after; then the system's add, a change on the
# source once the copy runs, and the time until that change is visible
measure_live() {
	local sys=$1 run=$2
	local t0 t1 marker=-$run$$
	bench_sql src "create table public.big (id integer primary key, v integer not null,
		pad text not null);
		insert into public.big select i, 0, repeat('x', 80) from generate_series(1, $BIG_ROWS) i"
	bench_sql src "vacuum analyze public.big" >/dev/null
	bench_sql dst "create table public.big (id integer primary key, v integer not null,
		pad text not null); create table public.big_pipe (id integer, v integer, pad text)" >/dev/null
	bench_sql src checkpoint >/dev/null
	bench_sql dst checkpoint >/dev/null
	t0=$(bench_now)
	bench_psql src -c "copy public.big to stdout" |
		bench_psql dst -c "copy public.big_pipe from stdin" >/dev/null
	bench_sql dst "alter table public.big_pipe add primary key (id)" >/dev/null
	t1=$(bench_now)
	result pipe "$sys" "$run" "$(sub "$t0" "$t1")"
	bench_sql dst "drop table public.big_pipe" >/dev/null
	bench_sql dst checkpoint >/dev/null
	case $sys in
	skyworker)
		bench_sql src "select pgq_set.add_table('$SKY_CASCADE', 'public.big')" >/dev/null
		t0=$(bench_now)
		bench_sql dst "select pgq_set.add_table('$SKY_CASCADE', 'public.big')" >/dev/null
		poll_until dst "(select state from pgq_set.get_tables('$SKY_CASCADE')
			where table_name = 'public.big') <> 'pending'" >/dev/null
		;;
	native)
		bench_sql src "alter publication bench_pub add table public.big" >/dev/null
		t0=$(bench_now)
		bench_sql dst "alter subscription bench_sub refresh publication" >/dev/null
		poll_until dst "exists (select 1 from pg_subscription_rel
			where srrelid = 'public.big'::regclass and srsubstate <> 'i')" >/dev/null
		;;
	esac
	bench_sql src "update public.big set v = $marker where id = 1" >/dev/null
	t1=$(poll_until dst "exists (select 1 from public.big where id = 1 and v = $marker)")
	result live "$sys" "$run" "$(sub "$t0" "$t1")"
}

# What an idle cascade costs: after the load, IDLE_SECONDS without writes; ticks made on the
# root, transactions per second on each instance (pgqd's ticker rounds, the worker's polls, its
# heartbeat and the watermark), and how many tick rows the two queues hold
idle_stats() { # idle_stats NAME: ticks xacts
	bench_sql "$1" "select (select count(*) from pgq.tick) || ' ' || (select coalesce(max(tick_id), 0)
		from pgq.tick) || ' ' || (select xact_commit + xact_rollback from pg_stat_database
		where datname = current_database())" | tr -d '\n'
}
measure_idle() {
	local sys=$1 run=$2 a b c d rows1 max1 x1 rows2 max2 x2 rows3 x3 rows4 x4
	sleep 5 # the load's last batches, the copy's hand-over
	read -r rows1 max1 x1 <<<"$(idle_stats src)"
	read -r rows3 _ x3 <<<"$(idle_stats dst)"
	sleep "$IDLE_SECONDS"
	read -r rows2 max2 x2 <<<"$(idle_stats src)"
	read -r rows4 _ x4 <<<"$(idle_stats dst)"
	# minus the two statements of idle_stats itself
	a=$(awk -v t="$((max2 - max1))" -v s="$IDLE_SECONDS" 'BEGIN { printf "%.3f", t / s }')
	b=$(awk -v t="$((x2 - x1 - 1))" -v s="$IDLE_SECONDS" 'BEGIN { printf "%.1f", t / s }')
	c=$(awk -v t="$((x4 - x3 - 1))" -v s="$IDLE_SECONDS" 'BEGIN { printf "%.1f", t / s }')
	d="tick rows root $rows1 -> $rows2, branch $rows3 -> $rows4"
	result idle_ticks_per_s "$sys" "$run" "$a" "$d"
	result idle_xacts_per_s_root "$sys" "$run" "$b"
	result idle_xacts_per_s_branch "$sys" "$run" "$c"
}

one_run() {
	local sys=$1 run=$2 ok=no rss=-
	bench_log "$sys run $run: two instances, pgbench -i -s $SCALE"
	pair_new
	"${sys}_setup" src dst
	ROOT_PID=
	if [ "$sys" = skyworker ]; then
		# the root's worker, as deployed: it publishes the global watermark (an event
		# that, on an idle cascade, could keep the queue ticking: measure_idle)
		"$SKYWORKER" "$(bench_dsn src)" >>"$BENCH_DIR/skyworker-root.log" 2>&1 &
		ROOT_PID=$!
		bench_track "$ROOT_PID"
	fi
	"${sys}_start" src dst
	if [ "$sys" = native ]; then
		# the launcher starts the apply worker within wal_retrieve_retry_interval: measure
		# a subscription that streams, as skyworker's worker runs
		poll_until dst "exists (select 1 from pg_stat_subscription
			where subname = 'bench_sub' and pid is not null)" >/dev/null
	fi
	measure_lag_tps "$sys" "$run"
	measure_drain "$sys" "$run"
	# londiste3's copy (add-table without --expect-sync) is not measured here
	[ "$sys" = londiste ] || measure_live "$sys" "$run"
	sleep 1
	poll_until dst "(select count(*) from pgbench_history) = $(bench_sql src \
		"select count(*) from pgbench_history")" >/dev/null
	if [ "$sys" = skyworker ] && [ "$run" = 1 ] && [ "$IDLE_SECONDS" -gt 0 ]; then
		measure_idle "$sys" "$run"
	fi
	if [ "$sys" = skyworker ]; then
		rss=$(bench_rss_peak "$SKY_PID")
		[ "${RSS_BEFORE:-0}" -gt "$rss" ] && rss=$RSS_BEFORE
		result rss "$sys" "$run" "$rss"
	fi
	[ -n "$ROOT_PID" ] && bench_kill "$ROOT_PID"
	"${sys}_stop" src dst
	local a b big="select 1"
	# the added table too (not on londiste3's pair)
	[ "$sys" = londiste ] ||
		big="select md5(string_agg(t::text, ',' order by id)) from public.big t"
	a=$(bench_tables_md5 src)/$(bench_sql src "$big") &&
		b=$(bench_tables_md5 dst)/$(bench_sql dst "$big") && [ "${a%/*}" != "" ] &&
		[ "$a" = "$b" ] && ok=yes
	result equal "$sys" "$run" "$ok"
	BENCH_KEEP_TAG=$sys-$run
	bench_pg_drop src
	bench_pg_drop dst
	rm -f "$BENCH_DIR"/*.pid
}

# the systems' runs, interleaved so that the machine's load hits both alike
for run in $(seq 1 "$RUNS"); do
	for sys in $SYSTEMS; do
		one_run "$sys" "$run"
	done
done
# the single 1,000,000-event batch of distinct keys: bench/drain.sh's memory test on the
# protocol's scale (1,000,000 accounts, each updated once), skyworker to a branch and to a leaf
# (what the branch's queue copy costs), and native
DRAIN_TSV=$BENCH_DIR/drain.tsv
if [ "$MEM_EVENTS" -gt 0 ]; then
	bench_run "$BENCH_HOME/drain.sh" --runs 0 --systems "skyworker native" --scale "$SCALE" \
		--sync-commit on --mem-events "$MEM_EVENTS" --mem-systems "skyworker skyleaf native" \
		--skyworker "$SKYWORKER" \
		--out "$DRAIN_TSV" >"$BENCH_DIR/drain.out" || bench_die "bench/drain.sh failed"
fi
# the scale-10 backlog drained by a leaf (no queue copy; it takes waiting ticks as one batch),
# against native in the same drain.sh run
LEAF_TSV=$BENCH_DIR/drain-leaf.tsv
if [ "$LEAF_DRAIN" = 1 ]; then
	bench_run "$BENCH_HOME/drain.sh" --protocol issue13 --events "$DRAIN_EVENTS" --runs "$RUNS" \
		--systems "skyleaf native" --mem-events 0 --skyworker "$SKYWORKER" \
		--out "$LEAF_TSV" >"$BENCH_DIR/drain-leaf.out" || bench_die "bench/drain.sh (leaf) failed"
fi

# ------------------------------------------------------------------ report
med() { # med MEASURE SYSTEM
	# shellcheck disable=SC2046
	bench_median $(awk -F'\t' -v m="$1" -v s="$2" '$1 == m && $2 == s { print $4 }' "$RESULTS")
}
all() { awk -F'\t' -v m="$1" -v s="$2" '$1 == m && $2 == s { print $4 }' "$RESULTS" | paste -sd/; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "nan" || b == "nan") print "-"; else printf "%.2f", a / b }'; }
dmed() { # dmed TEST SYSTEM COLUMN [TSV] (drain.sh TSV, default the single batch's)
	local f=${4:-$DRAIN_TSV}
	[ -f "$f" ] || { echo nan; return; }
	# shellcheck disable=SC2046
	bench_median $(awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s { print $c }' "$f")
}
dall() { [ -f "$4" ] && awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s { print $c }' "$4" | paste -sd/; }

report() {
	local sl nl sp np slive nlive st nt sd nd sm nm slm ld lnd lcol=0
	sl=$(med lag skyworker); nl=$(med lag native)
	sp=$(med pipe skyworker); np=$(med pipe native)
	slive=$(med live skyworker); nlive=$(med live native)
	st=$(med tps skyworker); nt=$(med tps native)
	sd=$(med drain skyworker); nd=$(med drain native)
	sm=$(dmed mem skyworker 8); nm=$(dmed mem native 8); slm=$(dmed mem skyleaf 8)
	ld=$(dmed drain skyleaf 8 "$LEAF_TSV"); lnd=$(dmed drain native 8 "$LEAF_TSV")
	case " $SYSTEMS " in *" londiste "*) lcol=1 ;; esac
	L() { [ "$lcol" = 1 ] && printf ' %s |' "$1"; return 0; }
	echo "<!-- bench/run.sh: begin (generated; edit the text around it, not this block) -->"
	echo "## Result of \`bench/run.sh\` (issue 13; commit $COMMIT, $(date -u +%Y-%m-%d) $T_START – $(date -u +%H:%M) UTC, $RUNS runs, medians)"
	echo
	echo "| figure | skycascade | native logical |$(L 'londiste3') skycascade / native | target | per run (skycascade; native$([ "$lcol" = 1 ] && echo '; londiste3')) |"
	echo "|---|---:|---:|$(L '---:')---:|---|---|"
	echo "| lag: last commit on the root → all of it on the branch (s) | $sl | $nl |$(L "$(med lag londiste)") $(ratio "$sl" "$nl") | ≤ 0.3 s | $(all lag skyworker); $(all lag native)$([ "$lcol" = 1 ] && echo "; $(all lag londiste)") |"
	echo "| source tps while replicating (capture cost) | $st | $nt |$(L "$(med tps londiste)") $(ratio "$st" "$nt") | ≥ 0.95 | $(all tps skyworker); $(all tps native)$([ "$lcol" = 1 ] && echo "; $(all tps londiste)") |"
	echo "| backlog drain, scale $SCALE, $DRAIN_EVENTS events (events/s) | $sd | $nd |$(L "$(med drain londiste)") $(ratio "$sd" "$nd") | ≥ 1.5 | $(all drain skyworker); $(all drain native)$([ "$lcol" = 1 ] && echo "; $(all drain londiste)") |"
	if [ "$LEAF_DRAIN" = 1 ]; then
		echo "| backlog drain to a leaf (no queue copy), scale $SCALE, $DRAIN_EVENTS events (events/s, drain.sh; native measured again in that run) | $ld | $lnd |$(L '—') $(ratio "$ld" "$lnd") | | $(dall drain skyleaf 8 "$LEAF_TSV"); $(dall drain native 8 "$LEAF_TSV") |"
	fi
	if [ "$MEM_EVENTS" -gt 0 ]; then
		echo "| single batch, $MEM_EVENTS distinct-key events (events/s, drain.sh) | $sm | $nm |$(L '—') $(ratio "$sm" "$nm") | ≥ 1.2 | 1 run |"
		echo "| single batch to a leaf (no queue copy), same run | $slm | $nm |$(L '—') $(ratio "$slm" "$nm") | | 1 run |"
	fi
	echo "| add a $BIG_ROWS-row table → a later change visible (s) | $slive | $nlive |$(L '—') $(ratio "$slive" "$nlive") | | $(all live skyworker); $(all live native) |"
	echo "| raw \`COPY \\| COPY\` pipe, key rebuilt, same pair (s) | $sp | $np |$(L '—') | | $(all pipe skyworker); $(all pipe native) |"
	echo "| add → live / raw pipe | $(ratio "$slive" "$sp") | $(ratio "$nlive" "$np") |$(L '—') | ≤ 1.3 | |"
	echo "| worker peak RSS, whole run (MB) | $(awk -v k="$(med rss skyworker)" 'BEGIN { printf "%.1f", k / 1024 }') | n/a |$(L '—') | ≤ 32 | |"
	if [ "$MEM_EVENTS" -gt 0 ]; then
		echo "| single batch: worker peak RSS (MB) | $(awk -v k="$(dmed mem skyworker 9)" 'BEGIN { printf "%.1f", k / 1024 }') | n/a |$(L '—') | ≤ 32 | |"
	fi
	if [ -n "$(med idle_ticks_per_s skyworker | grep -v nan)" ]; then
		echo "| idle cascade, $IDLE_SECONDS s without writes: ticks/s on the root; transactions/s root, branch (pgqd + workers) | $(med idle_ticks_per_s skyworker); $(med idle_xacts_per_s_root skyworker), $(med idle_xacts_per_s_branch skyworker) | |$(L '') | bounded | $(awk -F'\t' '$1 == "idle_ticks_per_s" { print $5 }' "$RESULTS") |"
	fi
	echo "| tables md5-equal after the run | $(all equal skyworker) | $(all equal native) |$(L "$(all equal londiste)") | | |"
	echo
	echo "Load average during the run: $(awk -F'\t' 'NR > 1 { print $6 }' "$RESULTS" | sort -g | sed -n '1p;$p' | paste -sd' ' | sed 's/ / – /') ($(nproc) cores; the benchmark's own load included: anything else running makes the figures noisy); the work directory's file system ${BENCH_DISK_USED:-?}% full at the start."
	echo
	echo '```'
	cat "$RESULTS"
	[ -f "$DRAIN_TSV" ] && cat "$DRAIN_TSV"
	[ -f "$LEAF_TSV" ] && tail -n +2 "$LEAF_TSV"
	echo '```'
	echo "<!-- bench/run.sh: end -->"
}

report >"$BENCH_DIR/report.md"
cat "$BENCH_DIR/report.md"
if [ "$WRITE_DOC" = 1 ]; then
	# replace the generated block, or put it after the page's first heading
	python3 - "$DOC" "$BENCH_DIR/report.md" <<'EOF'
import sys
doc, rep = sys.argv[1], open(sys.argv[2]).read()
s = open(doc).read()
b, e = "<!-- bench/run.sh: begin", "<!-- bench/run.sh: end -->"
if b in s:
    i = s.index(b); j = s.index(e) + len(e) + 1
    s = s[:i] + rep + s[j:]
else:
    k = s.index("\n", s.index("# ")) + 1
    s = s[:k] + "\n" + rep + s[k:]
open(doc, "w").write(s)
EOF
	bench_log "table written into $DOC"
fi
exit
}
