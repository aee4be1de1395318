# shellcheck shell=bash
# shellcheck disable=SC2153  # BENCH_DIR is set by the script that sources this file
# bench/lib/pg.sh: throw-away PostgreSQL 15 instances for the benchmarks.
#
# Sourced after common.sh. An instance has a NAME; its data directory is $BENCH_DIR/NAME, its
# socket directory $BENCH_DIR/sock, its port is picked from 59000-59999. Every instance gets the
# same settings (BENCH_PG_SETTINGS) so that the systems compared run on equal servers.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BENCH_DB=${BENCH_DB:-bench}
declare -A BENCH_PORT=()

# The one settings block used for every instance of every system (written into the report).
BENCH_PG_SETTINGS="shared_buffers = 256MB
fsync = on
synchronous_commit = off
wal_level = logical
max_wal_size = 8GB
checkpoint_timeout = 30min
max_wal_senders = 10
max_replication_slots = 10
max_worker_processes = 16
max_logical_replication_workers = 4
autovacuum = on"

# Ports are reserved the way tests/lib/harness.sh does it (an atomic mkdir of
# $SKY_LOCK_DIR/PORT holding our pid and data directory), so that a benchmark and integration
# tests running at the same time never pick the same port.
SKY_LOCK_DIR=${SKY_LOCK_DIR:-/tmp/skycascade-ports}

# bench_port_take DATADIR: reserve a free TCP port in 59000-59999, print it
bench_port_take() {
	local p lock
	mkdir -p "$SKY_LOCK_DIR" 2>/dev/null || true
	chmod 1777 "$SKY_LOCK_DIR" 2>/dev/null || true
	for p in $(seq "${BENCH_PORT_BASE:-59300}" 59999); do
		lock=$SKY_LOCK_DIR/$p
		mkdir "$lock" 2>/dev/null || continue
		echo "$$" >"$lock/pid"
		echo "$1" >"$lock/data"
		if ss -Htanx 2>/dev/null | grep -qE "(:|PGSQL\.)$p( |$)"; then
			rm -rf "$lock"
			continue
		fi
		echo "$p"
		return 0
	done
	return 1
}

# bench_port_release PORT: give back a port we reserved
bench_port_release() {
	local lock=$SKY_LOCK_DIR/$1
	[ "$(cat "$lock/pid" 2>/dev/null)" = "$$" ] && rm -rf "$lock"
	return 0
}

# bench_pg_new NAME: initdb + settings + start + create database $BENCH_DB
bench_pg_new() {
	local name=$1 dir=$BENCH_DIR/$1 port
	port=$(bench_port_take "$dir") || bench_die "no free port in 59000-59999"
	BENCH_PORT[$name]=$port
	mkdir -p "$BENCH_DIR/sock"
	chown postgres: "$BENCH_DIR" "$BENCH_DIR/sock" 2>/dev/null || true
	bench_as_pg "$PG_BIN/initdb" -D "$dir" -U postgres -A trust --no-sync >/dev/null ||
		bench_die "initdb $name failed"
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$BENCH_DIR/sock'"
		echo "$BENCH_PG_SETTINGS"
		# pgq_set.logutriga's C body (sql/capture) from the build measured first
		# (BENCH_CAPTURE_PATH: the whole path; one without \$libdir measures PgQ's body even
		# where the package installed pgq_set_capture.so)
		echo "dynamic_library_path = '${BENCH_CAPTURE_PATH:-$SKY_ROOT/build/sql/capture:\$libdir}'"
		echo "${BENCH_PG_EXTRA:-}"
	} | bench_as_pg tee -a "$dir/postgresql.conf" >/dev/null
	BENCH_PGDIRS+=("$dir")
	bench_as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w start >/dev/null ||
		bench_die "start $name failed (see $dir/server.log)"
	bench_psql "$name" postgres -qc "create database $BENCH_DB" >/dev/null
}

# bench_pg_stop NAME: fast shutdown of one instance
bench_pg_stop() {
	local dir=$BENCH_DIR/$1 keep=() d
	bench_as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
	for d in "${BENCH_PGDIRS[@]}"; do
		[ "$d" = "$dir" ] || keep+=("$d")
	done
	BENCH_PGDIRS=("${keep[@]}")
}

# bench_pg_drop NAME: stop and delete one instance (with BENCH_KEEP=1 keep it, renamed
# NAME-$BENCH_KEEP_TAG, for its server log)
bench_pg_drop() {
	bench_pg_stop "$1"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		mv "$BENCH_DIR/$1" "$BENCH_DIR/$1-${BENCH_KEEP_TAG:-$$}"
	else
		rm -rf "${BENCH_DIR:?}/$1"
	fi
	bench_port_release "${BENCH_PORT[$1]}"
	unset "BENCH_PORT[$1]"
}

# bench_dsn NAME [DB]: libpq connection string of an instance
bench_dsn() {
	echo "host=$BENCH_DIR/sock port=${BENCH_PORT[$1]} dbname=${2:-$BENCH_DB} user=postgres"
}

# bench_psql NAME [DB] [psql args...]: psql on an instance, unaligned, no psqlrc, stop on error
bench_psql() {
	local name=$1 db=$BENCH_DB
	shift
	if [ $# -gt 0 ] && [[ $1 != -* ]]; then
		db=$1
		shift
	fi
	PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -At \
		-h "$BENCH_DIR/sock" -p "${BENCH_PORT[$name]}" -U postgres \
		-d "$db" "$@"
}

# bench_sql NAME SQL: one query on $BENCH_DB, result on stdout
bench_sql() {
	bench_psql "$1" -qc "$2"
}

# bench_pgqd_start NAME: a pgqd for one instance (ticker every second as deployed, or every
# BENCH_PGQD_TICKER seconds);
# its pid goes to BENCH_LAST_PID (not printed: a command substitution would lose the tracking)
bench_pgqd_start() {
	local name=$1 cf=$BENCH_DIR/pgqd-$1.ini
	cat >"$cf" <<EOF
[pgqd]
logfile = $BENCH_DIR/pgqd-$name.log
pidfile = $BENCH_DIR/pgqd-$name.pid
base_connstr = host=$BENCH_DIR/sock port=${BENCH_PORT[$name]} user=postgres
initial_database = $BENCH_DB
database_list = $BENCH_DB
ticker_period = ${BENCH_PGQD_TICKER:-1}
check_period = 60
EOF
	pgqd -q "$cf" >/dev/null 2>&1 &
	BENCH_LAST_PID=$!
	bench_track "$BENCH_LAST_PID"
}

# bench_tables_md5 NAME: one md5 over the ordered contents of the replicated pgbench tables
# (BENCH_TABLES, each ordered by its key)
bench_tables_md5() {
	local t key sql=""
	for t in "${BENCH_TABLES[@]}"; do
		case $t in
		pgbench_accounts) key=aid ;;
		pgbench_tellers) key=tid ;;
		pgbench_branches) key=bid ;;
		pgbench_history) key=hid ;;
		esac
		sql+="${sql:+ || }coalesce((select string_agg(t::text, ',' order by $key) from $t t), '')"
	done
	bench_sql "$1" "select md5($sql)"
}

# bench_pgq_events SRC QUEUE: events in the queue's event tables (nothing rotates during a run)
bench_pgq_events() {
	local tbl
	tbl=$(bench_sql "$1" "select queue_data_pfx from pgq.queue where queue_name = '$2'")
	bench_sql "$1" "select count(*) from $tbl"
}

# bench_pgq_wait_queued SRC QUEUE: wait until a tick covers every event inserted so far
bench_pgq_wait_queued() {
	for _ in $(seq 1 600); do
		[ "$(bench_sql "$1" "select t.tick_event_seq >= pgq.seq_getval(q.queue_event_seq)
			from pgq.queue q join pgq.tick t on t.tick_queue = q.queue_id
			where q.queue_name = '$2' order by t.tick_id desc limit 1")" = t ] && return 0
		sleep 0.1
	done
	bench_die "no tick covers the events queued in \"$2\""
}

# bench_pgq_batches SRC QUEUE CONSUMER: how many of the ticks after CONSUMER's position close a
# batch that holds events
bench_pgq_batches() {
	bench_sql "$1" "select count(*) from (
		select t.tick_event_seq - lag(t.tick_event_seq) over (order by t.tick_id) as n
		  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
		 where q.queue_name = '$2' and t.tick_id >= (select last_tick
			from pgq.get_consumer_info('$2', '$3'))) b where n > 0"
}

# bench_pg_cpu_ticks NAME: CPU used so far by an instance: its postmaster, whose reaped children
# (backends, walsenders, workers that exited) are in its cutime/cstime, and its live children
bench_pg_cpu_ticks() {
	local pm
	pm=$(head -n 1 "$BENCH_DIR/$1/postmaster.pid")
	# shellcheck disable=SC2046
	bench_cpu_ticks "$pm" $(pgrep -P "$pm")
}
