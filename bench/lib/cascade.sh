# shellcheck shell=bash
# shellcheck disable=SC2153  # BENCH_DIR, SKY_ROOT are set by the script that sources this file
# bench/lib/cascade.sh: a skycascade cascade built by skyreconcile from topology.yaml, for the
# topology benchmarks (switchover.sh, failover.sh): pgbench scale tables on every node, pgqd and
# skyworker per node, the write probe (bench/probe.c), the reconciler's step log.
#
# Sourced after common.sh and pg.sh. Nodes are instances of pg.sh; their database is $BENCH_DB.

CASCADE=app
CASCADE_TABLES=(public.pgbench_accounts public.pgbench_branches public.pgbench_history
	public.pgbench_tellers public.probe)
declare -A CASCADE_WORKER=() CASCADE_PGQD=()

# Durability on (issue 14: the switchover is measured with fsync and synchronous_commit on)
BENCH_PG_EXTRA="synchronous_commit = on"
# pgqd as the integration harness runs it (docs/testing.md)
BENCH_TICKER_PERIOD=0.2

# cascade_bins: find skyreconcile and skyworker of this tree, build the probe
cascade_bins() {
	local d
	for d in "$SKY_ROOT"/build "$SKY_ROOT"/build*; do
		if [ -x "$d/reconciler/skyreconcile" ] && [ -x "$d/worker/skyworker" ]; then
			SKYRECONCILE=${SKYRECONCILE:-$d/reconciler/skyreconcile}
			SKYWORKER=${SKYWORKER:-$d/worker/skyworker}
			break
		fi
	done
	[ -x "${SKYRECONCILE:-}" ] && [ -x "${SKYWORKER:-}" ] ||
		bench_die "build skyreconcile and skyworker first (cmake -S . -B build && cmake --build build)"
	PROBE=$BENCH_DIR/probe
	cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$(pg_config --includedir)" \
		"$BENCH_HOME/probe.c" -lpq -o "$PROBE" || bench_die "could not build bench/probe.c"
}

# cascade_node_new NAME SCALE: an instance with the pgbench tables (data only when SCALE > 0,
# otherwise empty tables with their keys, filled by the initial copy) and the probe table
cascade_node_new() {
	local name=$1 scale=$2 steps=dtgvp
	bench_pg_new "$name"
	if [ "$scale" = 0 ]; then
		steps=dtp
		scale=1
	fi
	bench_run pgbench -i -I "$steps" -s "$scale" -q -h "$BENCH_DIR/sock" \
		-p "${BENCH_PORT[$name]}" -U postgres "$BENCH_DB" >>"$BENCH_DIR/pgbench-init.log" 2>&1 ||
		bench_die "pgbench -i failed on $name"
	bench_sql "$name" "alter table pgbench_history add column id bigserial primary key;
		create table public.probe (id bigserial primary key, node text not null,
			at timestamptz not null)" >/dev/null
}

# cascade_topology FILE "NAME ROLE [PROVIDER][|extra: value]"...: write topology.yaml
cascade_topology() {
	local file=$1 spec name role provider extra t
	shift
	{
		echo "cascade: $CASCADE"
		echo "nodes:"
		for spec in "$@"; do
			extra=
			[[ $spec == *"|"* ]] && extra=${spec#*|}
			read -r name role provider <<<"${spec%%|*}"
			echo "  $name:"
			echo "    role: $role"
			echo "    dsn: \"$(bench_dsn "$name")\""
			[ -z "$provider" ] || echo "    provider: $provider"
			[ -z "$extra" ] || echo "    $extra"
		done
		echo "tables:"
		for t in "${CASCADE_TABLES[@]}"; do
			echo "  - $t"
		done
	} >"$file"
}

# cascade_reconcile LOG [ARGS...]: skyreconcile -f $TOPO -v, stdout+stderr to LOG; its status
cascade_reconcile() {
	local log=$1 rc=0
	shift
	"$SKYRECONCILE" -f "$TOPO" -v "$@" >"$log" 2>&1 || rc=$?
	return "$rc"
}

# cascade_start NAME...: pgqd and skyworker (default options) for each node
cascade_start() {
	local n
	for n in "$@"; do
		BENCH_PGQD_TICKER=$BENCH_TICKER_PERIOD bench_pgqd_start "$n"
		CASCADE_PGQD[$n]=$BENCH_LAST_PID
		cascade_worker_start "$n"
	done
}

cascade_worker_start() {
	"$SKYWORKER" "$(bench_dsn "$1")" >>"$BENCH_DIR/worker-$1.log" 2>&1 &
	CASCADE_WORKER[$1]=$!
	bench_track "$!"
}

cascade_worker_stop() {
	bench_kill "${CASCADE_WORKER[$1]}"
	unset "CASCADE_WORKER[$1]"
}

# cascade_stop NAME...: stop the worker and pgqd of each node
cascade_stop() {
	local n
	for n in "$@"; do
		[ -z "${CASCADE_WORKER[$n]:-}" ] || cascade_worker_stop "$n"
		[ -z "${CASCADE_PGQD[$n]:-}" ] || bench_kill "${CASCADE_PGQD[$n]}"
		unset "CASCADE_PGQD[$n]"
	done
}

# cascade_wait_ok TIMEOUT NAME...: every table of each node is ok
cascade_wait_ok() {
	local timeout=$1 n deadline
	shift
	deadline=$((SECONDS + timeout))
	for n in "$@"; do
		until [ "$(bench_sql "$n" "select count(*) filter (where state = 'ok') || '/' || count(*)
			from pgq_set.get_tables('$CASCADE')")" = "${#CASCADE_TABLES[@]}/${#CASCADE_TABLES[@]}" ]; do
			((SECONDS < deadline)) || bench_die "tables of $n not ok after ${timeout}s"
			sleep 0.2
		done
	done
}

# cascade_tick_now ROOT: a tick of ROOT made after this call (forced, pgqd makes it); prints its id
cascade_tick_now() {
	local root=$1 txid tick= deadline=$((SECONDS + 60))
	txid=$(bench_sql "$root" "select txid_current()")
	while [ -z "$tick" ]; do
		bench_sql "$root" "select pgq.force_tick('$CASCADE')" >/dev/null
		tick=$(bench_sql "$root" "select min(t.tick_id) from pgq.tick t
			join pgq.queue q on q.queue_id = t.tick_queue
			where q.queue_name = '$CASCADE' and txid_visible_in_snapshot($txid, t.tick_snapshot)")
		((SECONDS < deadline)) || bench_die "no new tick on $root after 60 s"
		[ -n "$tick" ] || sleep 0.02
	done
	echo "$tick"
}

# cascade_caught_up TICK NAME...: true when every node has completed TICK
cascade_caught_up() {
	local tick=$1 n t
	shift
	for n in "$@"; do
		t=$(bench_sql "$n" "select coalesce(last_tick, -1) from pgq_set.get_node('$CASCADE')") ||
			return 1
		((t >= tick)) || return 1
	done
}

# cascade_wait_caught_up ROOT TIMEOUT NAME...: a fresh tick of ROOT reached every node
cascade_wait_caught_up() {
	local root=$1 timeout=$2 tick deadline
	shift 2
	deadline=$((SECONDS + timeout))
	tick=$(cascade_tick_now "$root")
	until cascade_caught_up "$tick" "$@"; do
		((SECONDS < deadline)) || bench_die "$* did not reach tick $tick of $root in ${timeout}s"
		sleep 0.1
	done
}

# cascade_md5 NAME: one md5 over the replicated tables in key order
cascade_md5() {
	bench_sql "$1" "select md5(
		(select string_agg(t::text, ',' order by aid) from pgbench_accounts t) ||
		(select string_agg(t::text, ',' order by bid) from pgbench_branches t) ||
		(select coalesce(string_agg(t::text, ',' order by id), '') from pgbench_history t) ||
		(select string_agg(t::text, ',' order by tid) from pgbench_tellers t) ||
		(select coalesce(string_agg(t::text, ',' order by id), '') from public.probe t))"
}

# cascade_same NAME...: "yes" when the tables are md5-equal on every node, else "no"
cascade_same() {
	local first n m
	first=$(cascade_md5 "$1")
	for n in "${@:2}"; do
		m=$(cascade_md5 "$n")
		[ "$m" = "$first" ] || {
			echo no
			return
		}
	done
	echo yes
}

# cascade_probe_start OUT ROLECHECK NAME...: the write probe, first NAME taken for the root
cascade_probe_start() {
	local out=$1 check=$2 n args=()
	shift 2
	for n in "$@"; do
		args+=("$n=$(bench_dsn "$n")")
	done
	rm -f "$out.stop"
	"$PROBE" "$out" "$out.stop" "$check" "${args[@]}" &
	PROBE_PID=$!
	bench_track "$PROBE_PID"
}

cascade_probe_stop() {
	touch "$1.stop"
	wait "$PROBE_PID" 2>/dev/null || true
	bench_untrack "$PROBE_PID"
}

# cascade_probe_gap OUT: the longest time between two committed probe writes, "MS FROM_MS TO_MS"
cascade_probe_gap() {
	awk '$1 == "ok" { if (prev && $2 - prev > max) { max = $2 - prev; a = prev; b = $2 } prev = $2 }
		END { print max + 0, a + 0, b + 0 }' "$1"
}

# cascade_probe_first_ok OUT NODE [AFTER_MS]: time (ms) of the first committed write on NODE
cascade_probe_first_ok() {
	awk -v n="$2" -v t="${3:-0}" '$1 == "ok" && $3 == n && $2 >= t { print $2; exit }' "$1"
}

# cascade_step_ms LOG TEXT: epoch ms of the reconciler's first "step N done: TEXT" debug line
# (the log's stamps are UTC, milliseconds)
cascade_step_ms() {
	local line
	# stdout's "op ... " and stderr's debug lines can share a line: start at the timestamp
	line=$(grep -o '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:.]* skyreconcile.*' "$1" |
		grep -m1 "step [0-9]* done: $2") || return 1
	date -u -d "${line:0:23}" +%s%3N
}

# cascade_steps LOG T0_MS: every step of the log as "+MS node: step N done: what", from T0_MS
cascade_steps() {
	local line ms
	grep -o '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:.]* skyreconcile.*' "$1" |
		grep 'step [0-9]* done:' | while IFS= read -r line; do
		ms=$(date -u -d "${line:0:23}" +%s%3N)
		printf '+%d %s\n' "$((ms - $2))" "${line#*debug: }"
	done
}

# bench_ms: wall clock in ms since the epoch
bench_ms() {
	date +%s%3N
}
