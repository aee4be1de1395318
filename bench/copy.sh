#!/usr/bin/env bash
# bench/copy.sh: initial table copy root -> branch. skyworker against the raw COPY pipe between
# the same two instances, londiste3 and native logical replication, measured in the same run.
#
# Two PostgreSQL 15 instances ("root" and "branch") with the same settings (COPY_PG_SETTINGS
# below) run for the whole benchmark. The root's database "app" is the source template:
# pgbench -i -s SCALE plus t1..t4 (PAR_ROWS rows each, the structure of pgbench_accounts); the
# branch's "app" is the target template: the same tables, empty, with their primary keys
# (pgbench -I dtp). Every measurement gets its own fresh pair of databases cloned from those
# templates (CREATE DATABASE ... TEMPLATE), and a CHECKPOINT on both instances before the clock
# starts; the databases are dropped after it.
#
#   raw_pk     psql -c "copy pgbench_accounts to stdout" | psql -c "copy ... from stdin" into
#              the empty table with its primary key
#   raw_nopk   the same with the primary key dropped before and added after the load (timed)
#   skyworker  a root -> branch cascade from a topology file (skyreconcile), pgqd and a worker on
#              each node; then pgbench_accounts is added to the file and the clock starts at the
#              reconcile. copied: the table is catching-up (its copy committed); ok: handed over
#   londiste   create-root / create-branch, add-table on the root, the branch worker running;
#              the clock starts at add-table on the branch (which makes the worker copy it).
#              copied: merge_state past in-copy; ok: merge_state ok
#   native     a publication on the root; the clock starts at CREATE SUBSCRIPTION (copy_data);
#              copied: srsubstate f/s/r; ok: srsubstate r
#   parallel   skyworker, t1..t4 added at once with settings.parallel_copies 1 and then 2; and
#              the raw pipe (key rebuilt) over t1..t4, 1 and then 2 pipes at a time ("raw
#              parallel_copies=N"): the speed-up this machine allows running copies side by side
#   skyworker_alt (with --skyworker-alt PATH) the same as skyworker, and the parallel test, with
#              another worker binary: a change to the worker measured against the tree's
#
# Runs interleave the systems (each run starts with the next one). The report gives medians,
# ratios against the raw pipe, and the CPU time of the root's and the branch's server processes
# and of the client (the psqls, or the worker with its copy children) during each measurement.
#
# States are polled every 20 ms (bench/copy_watch.sh, one autocommit psql session). Each copy is
# checked at the end: md5 of the table on both sides in primary-key order.
#
# Not a test, not run by CI. Build first (cmake -S . -B build && cmake --build build), then run
# as root (servers run as the postgres OS user through runuser) or as an ordinary user. It uses
# tests/lib/harness.sh for the instances (ports in 59000-59999, reserved like the tests'), and
# stops everything it started when it ends. Results: docs/performance-copy.md.

set -euo pipefail

# The whole script is one block, read by bash before it runs: editing it during a run is safe.
{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(dirname "$BENCH_HOME")

RUNS=3
SCALE=10
PAR_ROWS=250000
SYSTEMS="raw_pk raw_nopk skyworker londiste native"
PARALLEL="1 2"
TIMEOUT=600
OUT=
KEEP=
PG_EXTRA=
BUILD_DIR=${SKY_BUILD_DIR:-$SRC_DIR/build}
SKYWORKER_ALT=

usage() {
	cat <<EOF
usage: $0 [options]
  --runs N              measurements per system, the median is reported (default: $RUNS)
  --scale N             pgbench scale of the source (default: $SCALE, 100,000 rows per unit)
  --systems "A B"       of: raw_pk raw_nopk skyworker skyworker_alt londiste native
                        (default: $SYSTEMS)
  --parallel "N M"      parallel_copies values for the four-table test, "" to skip
                        (default: "$PARALLEL")
  --par-rows N          rows in each of t1..t4 (default: $PAR_ROWS)
  --build-dir DIR       where skyworker and skyreconcile are built (default: build/)
  --skyworker-alt PATH  another skyworker binary, measured as system skyworker_alt (added to
                        --systems when not there): a worker change against the tree's worker
  --pg-extra "SETTINGS" more postgresql.conf lines for both instances, after the benchmark's
                        (e.g. "log_min_duration_statement = 0" to see where a copy's time goes)
  --timeout S           give up on one copy after S seconds (default: $TIMEOUT)
  --out FILE            also write the raw results (TSV) to FILE
  --keep                keep the work directory (logs) at the end
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--systems) SYSTEMS=$2; shift ;;
	--parallel) PARALLEL=$2; shift ;;
	--par-rows) PAR_ROWS=$2; shift ;;
	--build-dir) BUILD_DIR=$2; shift ;;
	--skyworker-alt) SKYWORKER_ALT=$2; shift ;;
	--pg-extra) PG_EXTRA=$2; shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--out) OUT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || {
	echo "no build directory: build first (cmake -S . -B build && cmake --build build)" >&2
	exit 1
}
if [ -n "$SKYWORKER_ALT" ]; then
	SKYWORKER_ALT=$(cd "$(dirname "$SKYWORKER_ALT")" && pwd)/$(basename "$SKYWORKER_ALT")
	[ -x "$SKYWORKER_ALT" ] || { echo "not executable: $SKYWORKER_ALT" >&2; exit 1; }
	case " $SYSTEMS " in *" skyworker_alt "*) ;; *) SYSTEMS="$SYSTEMS skyworker_alt" ;; esac
fi
case " $SYSTEMS " in
*" skyworker_alt "*) [ -n "$SKYWORKER_ALT" ] || {
	echo "system skyworker_alt needs --skyworker-alt PATH" >&2
	exit 2
} ;;
esac
for f in "$BUILD_DIR/worker/skyworker" "$BUILD_DIR/reconciler/skyreconcile"; do
	[ -x "$f" ] || { echo "$f is not built (cmake --build $BUILD_DIR)" >&2; exit 1; }
done
for t in pgbench psql pgqd londiste; do
	command -v $t >/dev/null || { echo "$t not found" >&2; exit 1; }
done
if [ -n "$PARALLEL" ] && [ $((PAR_ROWS)) -gt $((SCALE * 100000)) ]; then
	echo "--par-rows must not exceed the rows of pgbench_accounts ($((SCALE * 100000)))" >&2
	exit 2
fi

# ---------------------------------------------------------------------------------------------
# the harness: instances, ports, workers, cleanup (docs/testing.md)

SKY_TEST_NAME=copybench
SKY_PORT_MIN=59000
SKY_PORT_MAX=59999
SKY_BUILD_DIR=$BUILD_DIR
SKY_TEST_TIMEOUT=$((RUNS * 1500 + 1800))
[ -z "$KEEP" ] || SKY_KEEP_TMP=1
# shellcheck source=tests/lib/harness.sh
source "$SRC_DIR/tests/lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
COPY_WORKER_BIN=$BUILD_DIR/worker/skyworker
# the worker binary of the system being measured (skyworker or skyworker_alt)
sky_worker_bin() { echo "$COPY_WORKER_BIN"; }

# The one settings block of both instances, whatever system runs on them (after the harness's
# test settings, which it overrides where they differ: fsync, full_page_writes, wal_level).
COPY_PG_SETTINGS="shared_buffers = 256MB
fsync = on
full_page_writes = on
synchronous_commit = off
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
max_worker_processes = 16
max_logical_replication_workers = 4
max_wal_size = 8GB
checkpoint_timeout = 30min
max_connections = 50"

RESULTS=$SKY_TMP/results.tsv
printf 'test\tsystem\trun\tcopied_s\tok_s\tstart_s\tinner_s\trows\tequal\tcpu_root_s\tcpu_branch_s\tcpu_client_s\tload\tnote\n' \
	>"$RESULTS"
HZ=$(getconf CLK_TCK)
declare -A COPY_INST=()

# copy_instance_new NAME: a harness instance with the benchmark's settings
copy_instance_new() {
	sky_pg_new "$1"
	printf '\n# bench/copy.sh (overrides the test settings above)\n%s\n%s\n' "$COPY_PG_SETTINGS" \
		"$PG_EXTRA" >>"$SKY_TMP/$1/data/postgresql.conf"
	sky_pg_stop "$1"
	sky_pg_start "$1"
}

# copy_db_new NODE INSTANCE: database NODE on INSTANCE, cloned from INSTANCE's "app"; usable as a
# harness node named NODE (sky_psql NODE, sky_worker_start NODE ...: sky_dsn's dbname=app is
# overridden by the dbname=NODE that follows it, the last one wins in libpq)
copy_db_new() {
	local node=$1 inst=$2
	SKY_PORT[$node]=${SKY_PORT[$inst]}
	SKY_EXTRA[$node]="dbname=$node"
	COPY_INST[$node]=$inst
	mkdir -p "$SKY_TMP/$node"
	sky_psql_db "$inst" postgres -c "create database $node template app"
}

copy_db_drop() {
	local node=$1
	sky_psql_db "${COPY_INST[$node]}" postgres -c "drop database if exists $node with (force)"
	unset "SKY_PORT[$node]" "SKY_EXTRA[$node]" "COPY_INST[$node]"
}

# copy_dsn NODE: a plain DSN of database NODE (for topology files, londiste, subscriptions)
copy_dsn() { echo "host=127.0.0.1 port=${SKY_PORT[$1]} dbname=$1 user=postgres"; }

# copy_bg_stop NAME: stop a background command started with sky_bg
copy_bg_stop() {
	local pid=${SKY_BG_PID[$1]:-}
	[ -n "$pid" ] || return 0
	_sky_stop_pid "$pid" "$1" 15
	unset "SKY_BG_PID[$1]"
}

copy_pgqd_start() {
	local node=$1 ini=$SKY_TMP/$1/pgqd.ini
	cat >"$ini" <<EOF
[pgqd]
logfile = $SKY_TMP/log/$node.pgqd.log
pidfile = $SKY_TMP/$node/pgqd.pid
base_connstr = host=127.0.0.1 port=${SKY_PORT[$node]} user=postgres
initial_database = $node
database_list = $node
EOF
	sky_bg "pgqd_$node" "$(command -v pgqd)" -q "$ini"
}

copy_checkpoint() {
	sky_psql_db root postgres -c checkpoint
	sky_psql_db branch postgres -c checkpoint
}

# copy_pg_cpu INSTANCE: CPU clock ticks used so far by an instance (the postmaster, whose reaped
# children are in its cutime/cstime, and its live children)
copy_pg_cpu() {
	local pm
	pm=$(head -n 1 "$SKY_TMP/$1/data/postmaster.pid")
	# shellcheck disable=SC2046
	copy_proc_cpu "$pm" $(pgrep -P "$pm")
}

# copy_proc_cpu PID...: CPU clock ticks of live processes, with their reaped children's
copy_proc_cpu() {
	local pid total=0 stat rest
	local -a f
	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}

# copy_self_cpu: CPU ticks of this shell's reaped children (the psqls of the raw pipe)
copy_self_cpu() {
	local stat rest
	local -a f
	stat=$(cat "/proc/$$/stat")
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	echo $((f[13] + f[14]))
}

# copy_clock_start CLIENT / copy_clock_stop: wall clock and CPU between the two, of both
# instances and of the client. CLIENT: "self" (this shell's reaped children: the psqls of the raw
# pipe), "none" (not measured: the client is inside the servers, or not ours to follow), or the
# pids of live processes (a worker, with its reaped copy children). copy_clock_stop sets
# CPU_ROOT, CPU_BRANCH and CPU_CLIENT (seconds, "-" when not measured).
copy_client_cpu() {
	case $1 in
	self) copy_self_cpu ;;
	none) echo 0 ;;
	*) copy_proc_cpu "$@" ;;
	esac
}

copy_clock_start() {
	CLIENT=("$@")
	read -r LOAD _ </proc/loadavg
	C0_ROOT=$(copy_pg_cpu root)
	C0_BRANCH=$(copy_pg_cpu branch)
	C0_CLIENT=$(copy_client_cpu "${CLIENT[@]}")
	T0=$(sky_now_ms)
}

copy_clock_stop() {
	local c
	c=$(copy_client_cpu "${CLIENT[@]}")
	CPU_ROOT=$(awk -v t=$(($(copy_pg_cpu root) - C0_ROOT)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	CPU_BRANCH=$(awk -v t=$(($(copy_pg_cpu branch) - C0_BRANCH)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	CPU_CLIENT=$(awk -v t=$((c - C0_CLIENT)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
	[ "${CLIENT[0]}" != none ] || CPU_CLIENT=-
}

ms_to_s() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.3f", (b - a) / 1000 }'; }

# copy_watch_start NAME NODE FINAL SQL: bench/copy_watch.sh in the background (as sky_bg NAME)
copy_watch_start() {
	local name=$1 node=$2 final=$3 sql=$4
	sky_bg "$name" "$BENCH_HOME/copy_watch.sh" "$(copy_dsn "$node")" "$TIMEOUT" "$final" "$sql"
	sleep 0.3 # let it connect and see the state before the clock starts
}

copy_watch_wait() {
	local rc=0
	sky_bg_wait "$1" || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$SKY_TMP/log/$1.out" >&2
		sky_fail "watch $1: the copy did not finish (states above)"
	fi
}

# watch_first NAME REGEX: the first time (ms) the state matched REGEX ("" if never)
watch_first() {
	awk -F'|' -v re="$2" '$2 ~ re { print $1; exit }' "$SKY_TMP/log/$1.out"
}

# copy_equal WHAT TABLE NODE NODE: "yes" when TABLE has the same md5 on both nodes
copy_equal() {
	local a b
	a=$(sky_table_md5 "$3" "$2")
	b=$(sky_table_md5 "$4" "$2")
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		echo yes
	else
		sky_log "$1: $3 and $4 differ in $2 (md5 $a / $b)" >&2
		echo NO
	fi
}

# result TEST SYSTEM RUN COPIED OK START INNER ROWS EQUAL [NOTE]
result() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" \
		"$6" "$7" "$8" "$9" "$CPU_ROOT" "$CPU_BRANCH" "$CPU_CLIENT" "$LOAD" "${10:-}" >>"$RESULTS"
	sky_log "$2 run $3: copied ${4}s, ok ${5}s (copy started after ${6}s, inside ${7}s)," \
		"CPU s root $CPU_ROOT branch $CPU_BRANCH clients $CPU_CLIENT, load $LOAD, equal: $9 ${10:-}"
}

# ---------------------------------------------------------------------------------------------
# the systems

# raw: psql COPY TO STDOUT | psql COPY FROM STDIN over TCP, as the workers connect
measure_raw() {
	local sys=$1 run=$2 r=${1}${2}_r b=${1}${2}_b t1 eq
	copy_db_new "$r" root
	copy_db_new "$b" branch
	copy_checkpoint
	copy_clock_start self
	if [ "$sys" = raw_nopk ]; then
		sky_psql "$b" -c "alter table pgbench_accounts drop constraint pgbench_accounts_pkey"
	fi
	"$SKY_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(copy_dsn "$r")" \
		-c "copy pgbench_accounts to stdout" |
		"$SKY_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(copy_dsn "$b")" \
			-c "copy pgbench_accounts from stdin"
	if [ "$sys" = raw_nopk ]; then
		sky_psql "$b" -c "alter table pgbench_accounts add primary key (aid)"
	fi
	t1=$(sky_now_ms)
	copy_clock_stop
	eq=$(copy_equal "$sys" public.pgbench_accounts "$r" "$b")
	result single "$sys" "$run" "$(ms_to_s "$T0" "$t1")" "$(ms_to_s "$T0" "$t1")" 0 \
		"$(ms_to_s "$T0" "$t1")" "$(sky_table_count "$b" public.pgbench_accounts)" "$eq"
	copy_db_drop "$r"
	copy_db_drop "$b"
}

# copy_topology FILE ROOT BRANCH PARALLEL_COPIES TABLE...
copy_topology() {
	local file=$1 r=$2 b=$3 par=$4 t
	shift 4
	{
		echo "cascade: $SKY_CASCADE"
		echo "nodes:"
		echo "  $r:"
		echo "    role: root"
		echo "    dsn: \"$(copy_dsn "$r")\""
		echo "  $b:"
		echo "    role: branch"
		echo "    dsn: \"$(copy_dsn "$b")\""
		echo "    provider: $r"
		if [ $# -eq 0 ]; then
			echo "tables: []"
		else
			echo "tables:"
			for t in "$@"; do
				echo "  - $t"
			done
		fi
		echo "settings:"
		echo "  parallel_copies: $par"
	} >"$file"
}

# sky_cascade_new ROOT BRANCH PARALLEL_COPIES: fresh databases, a cascade with no tables from a
# topology file, pgqd and a worker on each node, the branch caught up
sky_cascade_new() {
	local r=$1 b=$2 par=$3
	copy_db_new "$r" root
	copy_db_new "$b" branch
	copy_topology "$SKY_TMP/$b/topology.yaml" "$r" "$b" "$par"
	sky_run "reconcile-$b-init" "$RECONCILE" -f "$SKY_TMP/$b/topology.yaml"
	sky_expect_rc 0 "cascade $r -> $b created"
	copy_pgqd_start "$r"
	copy_pgqd_start "$b"
	sky_worker_start "$r" --poll-interval 0.2
	sky_worker_start "$b" --poll-interval 0.2
	SKY_ROOT=$r
	sky_wait_caught_up "$b" 120
}

sky_cascade_drop() {
	local r=$1 b=$2
	sky_worker_stop "$b"
	sky_worker_stop "$r"
	copy_bg_stop "pgqd_$b"
	copy_bg_stop "pgqd_$r"
	copy_db_drop "$r"
	copy_db_drop "$b"
}

# the worker's own account of the copy: "... N rows in X s, catching up"
worker_copy_s() {
	sed -n "s/.*table \"$2\" copied from provider .*: [0-9]* rows in \([0-9.]*\) s.*/\1/p" \
		"$SKY_TMP/log/$1.worker.log" | tail -n 1
}

measure_sky() {
	local sys=$1 run=$2 r=${1}${2}_r b=${1}${2}_b w t_cp t_cu t_ok eq inner catinfo
	if [ "$sys" = skyworker_alt ]; then
		COPY_WORKER_BIN=$SKYWORKER_ALT
	else
		COPY_WORKER_BIN=$BUILD_DIR/worker/skyworker
	fi
	sky_cascade_new "$r" "$b" 1
	copy_topology "$SKY_TMP/$b/topology.yaml" "$r" "$b" 1 public.pgbench_accounts
	copy_checkpoint
	w=watch_$b
	copy_watch_start "$w" "$b" ok "select state from pgq_set.get_tables('$SKY_CASCADE')
		where table_name = 'public.pgbench_accounts'"
	copy_clock_start "${SKY_WORKER_PID[$b]}"
	sky_run "reconcile-$b-add" "$RECONCILE" -f "$SKY_TMP/$b/topology.yaml"
	sky_expect_rc 0 "pgbench_accounts added"
	copy_watch_wait "$w"
	copy_clock_stop
	t_cp=$(watch_first "$w" '^copying$')
	t_cu=$(watch_first "$w" '^(catching-up|ok)$')
	t_ok=$(watch_first "$w" '^ok$')
	inner=$(worker_copy_s "$b" public.pgbench_accounts)
	# the catalog's own record (copy_finished is set in the copy's transaction)
	catinfo=$(sky_psql "$b" -c "select concat_ws(' ', 'rows_copied', rows_copied, 'copy_finished-copy_started',
		round(extract(epoch from copy_finished - copy_started)::numeric, 3))
		from pgq_set.table_info where table_name = 'public.pgbench_accounts'")
	# what the copy left: all-visible pages (COPY FREEZE) and the indexes
	catinfo+=", $(sky_psql "$b" -c "select format('%s of %s pages all-visible, %s indexes',
		relallvisible, relpages, (select count(*) from pg_index where indrelid = c.oid))
		from pg_class c where oid = 'public.pgbench_accounts'::regclass")"
	eq=$(copy_equal "$sys" public.pgbench_accounts "$r" "$b")
	result single "$sys" "$run" "$(ms_to_s "$T0" "$t_cu")" "$(ms_to_s "$T0" "$t_ok")" \
		"$(ms_to_s "$T0" "$t_cp")" "${inner:--}" "$(sky_table_count "$b" public.pgbench_accounts)" \
		"$eq" "catalog: $catinfo; worker: copy ${inner:-?} s; copying->catching-up $(ms_to_s "$t_cp" "$t_cu") s"
	sky_cascade_drop "$r" "$b"
	COPY_WORKER_BIN=$BUILD_DIR/worker/skyworker
}

LONDISTE_QUEUE=lq

londiste_ini() {
	local node=$1 ini=$SKY_TMP/$1/londiste.ini
	cat >"$ini" <<EOF
[londiste]
job_name = londiste_$node
db = $(copy_dsn "$node")
queue_name = $LONDISTE_QUEUE
logfile = $SKY_TMP/log/$node.londiste.log
pidfile = $SKY_TMP/$node/londiste.pid
EOF
	echo "$ini"
}

londiste_run() {
	local out=$SKY_TMP/log/londiste-admin.log
	echo "--- londiste $*" >>"$out"
	londiste "$@" >>"$out" 2>&1 || {
		tail -n 20 "$out" >&2
		sky_fail "londiste $* failed"
	}
}

measure_londiste() {
	local sys=$1 run=$2 r=${1}${2}_r b=${1}${2}_b ri bi w t_cu t_ok eq
	copy_db_new "$r" root
	copy_db_new "$b" branch
	ri=$(londiste_ini "$r")
	bi=$(londiste_ini "$b")
	londiste_run "$ri" create-root "$r" "$(copy_dsn "$r")"
	londiste_run "$bi" create-branch "$b" "$(copy_dsn "$b")" --provider="$(copy_dsn "$r")"
	copy_pgqd_start "$r"
	copy_pgqd_start "$b"
	londiste_run "$ri" add-table public.pgbench_accounts
	# a worker on each node, as deployed (the root's keeps the cascade's watermark moving)
	sky_bg "londiste_$r" "$(command -v londiste)" -q "$ri" worker
	sky_bg "londiste_$b" "$(command -v londiste)" -q "$bi" worker
	# let the workers start and settle before the clock starts
	sky_wait_for 60 "londiste workers started" test -s "$SKY_TMP/$b/londiste.pid" -a \
		-s "$SKY_TMP/$r/londiste.pid"
	sleep 3
	copy_checkpoint
	w=watch_$b
	copy_watch_start "$w" "$b" ok "select case when local then coalesce(merge_state, 'added')
		else 'absent' end from londiste.get_table_list('$LONDISTE_QUEUE')
		where table_name = 'public.pgbench_accounts'"
	copy_clock_start none
	londiste_run "$bi" add-table public.pgbench_accounts
	copy_watch_wait "$w"
	copy_clock_stop
	t_cu=$(watch_first "$w" '^(catching-up|wanna-sync.*|do-sync.*|ok)$')
	t_ok=$(watch_first "$w" '^ok$')
	eq=$(copy_equal "$sys" public.pgbench_accounts "$r" "$b")
	result single "$sys" "$run" "$(ms_to_s "$T0" "$t_cu")" "$(ms_to_s "$T0" "$t_ok")" \
		"$(ms_to_s "$T0" "$(watch_first "$w" '^in-copy$')")" - \
		"$(sky_table_count "$b" public.pgbench_accounts)" "$eq" \
		"states: $(cut -d'|' -f2 "$SKY_TMP/log/$w.out" | paste -sd' ')"
	copy_bg_stop "londiste_$b"
	copy_bg_stop "londiste_$r"
	copy_bg_stop "pgqd_$b"
	copy_bg_stop "pgqd_$r"
	copy_db_drop "$r"
	copy_db_drop "$b"
}

measure_native() {
	local sys=$1 run=$2 r=${1}${2}_r b=${1}${2}_b w t_cu t_ok eq
	copy_db_new "$r" root
	copy_db_new "$b" branch
	sky_psql "$r" -c "create publication pub_$r for table pgbench_accounts"
	copy_checkpoint
	w=watch_$b
	copy_watch_start "$w" "$b" r "select srsubstate from pg_subscription_rel
		where srrelid = 'public.pgbench_accounts'::regclass"
	copy_clock_start none
	sky_psql "$b" -c "create subscription sub_$b connection '$(copy_dsn "$r")'
		publication pub_$r with (copy_data = true)"
	copy_watch_wait "$w"
	copy_clock_stop
	t_cu=$(watch_first "$w" '^[fsr]$')
	t_ok=$(watch_first "$w" '^r$')
	eq=$(copy_equal "$sys" public.pgbench_accounts "$r" "$b")
	result single "$sys" "$run" "$(ms_to_s "$T0" "$t_cu")" "$(ms_to_s "$T0" "$t_ok")" \
		"$(ms_to_s "$T0" "$(watch_first "$w" '^d$')")" - \
		"$(sky_table_count "$b" public.pgbench_accounts)" "$eq" \
		"states: $(cut -d'|' -f2 "$SKY_TMP/log/$w.out" | paste -sd' ')"
	sky_psql "$b" -c "drop subscription sub_$b"
	copy_db_drop "$r"
	copy_db_drop "$b"
}

PAR_TABLES=(public.t1 public.t2 public.t3 public.t4)

# measure_parallel WORKER N RUN: t1..t4 added at once with parallel_copies N, WORKER (skyworker or
# skyworker_alt) on the nodes
measure_parallel() {
	local worker=$1 par=$2 run=$3 r b w t_cu t_ok eq=yes t maxc tag=par
	[ "$worker" = skyworker ] || tag=paralt
	r=${tag}${par}_${run}_r
	b=${tag}${par}_${run}_b
	if [ "$worker" = skyworker_alt ]; then
		COPY_WORKER_BIN=$SKYWORKER_ALT
	else
		COPY_WORKER_BIN=$BUILD_DIR/worker/skyworker
	fi
	sky_cascade_new "$r" "$b" "$par"
	copy_topology "$SKY_TMP/$b/topology.yaml" "$r" "$b" "$par" "${PAR_TABLES[@]}"
	copy_checkpoint
	w=watch_$b
	copy_watch_start "$w" "$b" ok "select case
		when count(*) filter (where state = 'ok') = 4 then 'ok'
		when count(*) filter (where state in ('ok', 'catching-up')) = 4 then 'copied'
		else 'copying ' || count(*) filter (where state = 'copying') end
		from pgq_set.get_tables('$SKY_CASCADE')
		where table_name in ('public.t1', 'public.t2', 'public.t3', 'public.t4')"
	copy_clock_start "${SKY_WORKER_PID[$b]}"
	sky_run "reconcile-$b-add" "$RECONCILE" -f "$SKY_TMP/$b/topology.yaml"
	sky_expect_rc 0 "t1..t4 added"
	copy_watch_wait "$w"
	copy_clock_stop
	t_cu=$(watch_first "$w" '^(copied|ok)$')
	t_ok=$(watch_first "$w" '^ok$')
	maxc=$(awk -F'|' '$2 ~ /^copying / { split($2, a, " "); if (a[2] > m) m = a[2] } END { print m + 0 }' \
		"$SKY_TMP/log/$w.out")
	for t in "${PAR_TABLES[@]}"; do
		[ "$(copy_equal parallel "$t" "$r" "$b")" = yes ] || eq=NO
	done
	result parallel "$worker parallel_copies=$par" "$run" "$(ms_to_s "$T0" "$t_cu")" \
		"$(ms_to_s "$T0" "$t_ok")" "$(ms_to_s "$T0" "$(watch_first "$w" '^copying [1-9]')")" - \
		$((4 * PAR_ROWS)) "$eq" "at most $maxc copying at once"
	sky_cascade_drop "$r" "$b"
	COPY_WORKER_BIN=$BUILD_DIR/worker/skyworker
}

# raw_pipe_table ROOT BRANCH TABLE: TABLE over the raw pipe, its primary key dropped before the
# load and added after it (as raw_nopk)
raw_pipe_table() {
	local r=$1 b=$2 t=$3
	sky_psql "$b" -c "alter table $t drop constraint ${t#public.}_pkey"
	"$SKY_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(copy_dsn "$r")" -c "copy $t to stdout" |
		"$SKY_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$(copy_dsn "$b")" -c "copy $t from stdin"
	sky_psql "$b" -c "alter table $t add primary key (aid)"
}

# measure_parallel_raw N RUN: t1..t4 over the raw pipe (key rebuilt), N pipes at a time: what
# running copies side by side gains on this machine when nothing else costs anything
measure_parallel_raw() {
	local par=$1 run=$2 r=rawpar${1}_${2}_r b=rawpar${1}_${2}_b t1 eq=yes t p i
	local -a pids
	copy_db_new "$r" root
	copy_db_new "$b" branch
	copy_checkpoint
	copy_clock_start self
	for ((i = 0; i < ${#PAR_TABLES[@]}; i += par)); do
		pids=()
		for t in "${PAR_TABLES[@]:i:par}"; do
			raw_pipe_table "$r" "$b" "$t" &
			pids+=("$!")
		done
		for p in "${pids[@]}"; do
			wait "$p" || sky_fail "raw pipe ($par at a time) failed"
		done
	done
	t1=$(sky_now_ms)
	copy_clock_stop
	for t in "${PAR_TABLES[@]}"; do
		[ "$(copy_equal parallel "$t" "$r" "$b")" = yes ] || eq=NO
	done
	result parallel "raw parallel_copies=$par" "$run" "$(ms_to_s "$T0" "$t1")" \
		"$(ms_to_s "$T0" "$t1")" 0 - $((4 * PAR_ROWS)) "$eq" "$par pipes at a time"
	copy_db_drop "$r"
	copy_db_drop "$b"
}

measure() {
	case $1 in
	raw_pk | raw_nopk) measure_raw "$@" ;;
	skyworker | skyworker_alt) measure_sky "$@" ;;
	londiste) measure_londiste "$@" ;;
	native) measure_native "$@" ;;
	*) sky_fail "unknown system '$1'" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# the run

copy_instance_new root
copy_instance_new branch
sky_log "source: pgbench -i -s $SCALE and t1..t4 of $PAR_ROWS rows on root; empty tables on branch"
sky_pgbench root -i -s "$SCALE" -q >"$SKY_TMP/log/pgbench-init.log" 2>&1
sky_pgbench branch -i -s "$SCALE" -I dtp -q >>"$SKY_TMP/log/pgbench-init.log" 2>&1
for t in "${PAR_TABLES[@]}"; do
	sky_psql root -c "create table $t (like pgbench_accounts including all)"
	sky_psql root -c "insert into $t select * from pgbench_accounts where aid <= $PAR_ROWS"
	sky_psql branch -c "create table $t (like pgbench_accounts including all)"
done
sky_psql root -c "vacuum (freeze, analyze)"
sky_psql branch -c "vacuum (analyze)"
copy_checkpoint

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# Runs interleave the systems, each run starting with the next one, so that a change in the
# machine's load spreads over all of them.
read -r -a SYS_LIST <<<"$SYSTEMS"
read -r -a PAR_LIST <<<"$PARALLEL"
PAR_WORKERS=(raw skyworker)
[ -z "$SKYWORKER_ALT" ] || PAR_WORKERS+=(skyworker_alt)
for run in $(seq 1 "$RUNS"); do
	n=${#SYS_LIST[@]}
	for ((i = 0; i < n; i++)); do
		sys=${SYS_LIST[$(((i + run - 1) % n))]}
		sky_log "=== run $run: $sys"
		measure "$sys" "$run"
	done
	n=${#PAR_LIST[@]}
	for worker in "${PAR_WORKERS[@]}"; do
		for ((i = 0; i < n; i++)); do
			par=${PAR_LIST[$(((i + run - 1) % n))]}
			sky_log "=== run $run: four tables, $worker, parallel_copies $par"
			if [ "$worker" = raw ]; then
				measure_parallel_raw "$par" "$run"
			else
				measure_parallel "$worker" "$par" "$run"
			fi
		done
	done
done
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
[ -z "$OUT" ] || cp "$RESULTS" "$OUT"

# ---------------------------------------------------------------------------------------------
# the report: medians of the runs, ratios against the raw pipe and against skyworker

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
col() { awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s && $c != "-" { print $c }' "$RESULTS"; }
med() { col "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

{
	echo
	echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(free -m | awk '/^Mem:/ { print $2 }') MB memory"
	echo "load average at the start: $START_LOAD; at the end: $END_LOAD"
	sky_psql root -c 'select version()'
	echo "packages: $(dpkg-query -W -f='${Package} ${Version}; ' postgresql-15-pgq3 pgqd python3-londiste 2>/dev/null)"
	echo "skyworker: $BUILD_DIR/worker/skyworker${SKYWORKER_ALT:+; skyworker_alt: $SKYWORKER_ALT}"
	echo "runs: $RUNS; pgbench_accounts at scale $SCALE ($(sky_table_count root public.pgbench_accounts) rows); medians of the runs"
	echo
	base_nopk=$(med single raw_nopk 4)
	base_pk=$(med single raw_pk 4)
	echo "| system | seconds to copied | seconds to ok | / raw_nopk (copied) | / raw_pk (copied) | / raw_nopk (ok) | copy started after | copy itself | CPU s root | CPU s branch | CPU s clients | equal |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for sys in "${SYS_LIST[@]}"; do
		c=$(med single "$sys" 4)
		o=$(med single "$sys" 5)
		inside=$(awk -F'\t' -v s="$sys" '$1 == "single" && $2 == s && $4 != "-" && $6 != "-" {
			printf "%.3f\n", $4 - $6 }' "$RESULTS" | median)
		echo "| $sys | $c | $o | $(ratio "$c" "$base_nopk") | $(ratio "$c" "$base_pk") | $(ratio "$o" "$base_nopk") | $(med single "$sys" 6) | $inside | $(med single "$sys" 10) | $(med single "$sys" 11) | $(med single "$sys" 12) | $(col single "$sys" 9 | sort -u | paste -sd/) |"
	done
	echo
	echo "copied: the rows are committed on the branch (skyworker: catching-up; londiste: past in-copy;"
	echo "native: srsubstate f/s/r); ok: handed over to replication (ok / ok / r). copy started after:"
	echo "skyworker copying, londiste in-copy, native d. copy itself: copied - started."
	if [ ${#PAR_LIST[@]} -gt 0 ]; then
		echo
		echo "| four tables of $PAR_ROWS rows | seconds to all copied | seconds to all ok | CPU s root | CPU s branch | CPU s worker | equal |"
		echo "|---|---:|---:|---:|---:|---:|---|"
		for worker in "${PAR_WORKERS[@]}"; do
			for par in "${PAR_LIST[@]}"; do
				k="$worker parallel_copies=$par"
				echo "| $k | $(med parallel "$k" 4) | $(med parallel "$k" 5) | $(med parallel "$k" 10) | $(med parallel "$k" 11) | $(med parallel "$k" 12) | $(col parallel "$k" 9 | sort -u | paste -sd/) |"
			done
		done
		if [ ${#PAR_LIST[@]} -eq 2 ]; then
			a=${PAR_LIST[0]}
			b=${PAR_LIST[1]}
			echo
			for worker in "${PAR_WORKERS[@]}"; do
				echo "$worker: speed-up of parallel_copies=$b over $a: copied $(ratio "$(med parallel "$worker parallel_copies=$a" 4)" "$(med parallel "$worker parallel_copies=$b" 4)")x, ok $(ratio "$(med parallel "$worker parallel_copies=$a" 5)" "$(med parallel "$worker parallel_copies=$b" 5)")x"
			done
		fi
	fi
	echo
	echo "raw results (seconds from the start of the clock; start_s: when the copy started, inner_s: the copy as its system sees it):"
	cat "$RESULTS"
}
exit 0
}
