# shellcheck shell=bash
#
# skycascade integration test harness. A scenario sources this file and gets:
#
#   sky_pg_new NAME            initdb + start a throwaway PostgreSQL 15 on a free port, database "app",
#                              extension pgq; sky_port NAME / sky_dsn NAME / sky_psql NAME ARGS...
#   sky_dsn_extra NAME KV      append "key=value" conninfo (e.g. a password) to NAME's DSN
#   sky_pg_stop NAME / sky_pg_start NAME
#   sky_pgqd_start NAME...     one pgqd per node (ticks the root, maintenance everywhere)
#   sky_worker_start NODE [ARGS] / sky_worker_stop NODE / sky_worker_kill9 NODE
#   sky_bg NAME CMD... / sky_pgbench_bg NAME NODE ARGS / sky_bg_wait NAME   background commands
#   sky_wait_caught_up NODE... [TIMEOUT]     wait until NODEs applied everything the root has
#   sky_replicate NODE...      pgqd and a worker on each NODE, then all tables ok and caught up
#   sky_queue_rotation PERIOD NODE...        the queue's rotation_period on each NODE
#   sky_assert_rotated SINCE NODE...         each NODE's queue switched tables after SINCE
#   sky_table_md5 NODE TABLE / sky_assert_tables_equal TABLE NODE...
#   sky_topology_write FILE ROOT BRANCH LEAF TABLE...
#   sky_run OUTNAME CMD...     run a command, keep its stdout/stderr under the log dir, set SKY_RC
#   sky_topology_write_items FILE ROOT BRANCH LEAF ITEM...   items may be '{name: ..., create: true}'
#   sky_wait_for TIMEOUT WHAT CMD...         poll CMD every 0.1 s until it succeeds
#   sky_table_state / sky_table_progress NODE TABLE / sky_wait_tables_ok NODE TIMEOUT TABLE...
#   sky_watch_tables_bg NAME NODE TIMEOUT TABLES [COUNTED] / sky_watch_wait NAME / sky_watch_*
#                              sample get_tables every 20 ms in the server until TABLES are ok
#   sky_pids_connected NODE / sky_worker_pids NODE           who is connected to a node's server
#   sky_check / sky_ok / sky_fail / sky_assert_eq / sky_assert_contains / sky_assert_no_secret
#
# Everything lives in one temporary directory per test ($SKY_TMP). An EXIT trap stops every process
# the test started (by the pids it recorded, nothing else) and removes $SKY_TMP when the test passed;
# when it failed, it keeps $SKY_TMP, prints its path and the tail of the logs. See docs/testing.md.

set -Eeuo pipefail

SKY_SOURCE_DIR=${SKY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SKY_BUILD_DIR=${SKY_BUILD_DIR:-$SKY_SOURCE_DIR/build}
SKY_PGBIN=${SKY_PGBIN:-/usr/lib/postgresql/15/bin}
SKY_CASCADE=${SKY_CASCADE:-app}
SKY_ROOT=${SKY_ROOT:-db1}
# above Linux's default range of ephemeral ports (32768-60999): the port of a server the test stops
# and starts again is not taken meanwhile by the source port of some client's connection
SKY_PORT_MIN=${SKY_PORT_MIN:-61000}
SKY_PORT_MAX=${SKY_PORT_MAX:-63999}
SKY_LOCK_DIR=${SKY_LOCK_DIR:-/tmp/skycascade-ports}
SKY_TEST_TIMEOUT=${SKY_TEST_TIMEOUT:-840}
SKY_TEST_NAME=${SKY_TEST_NAME:-$(basename "$0" .sh)}
if [ -z "${SKY_WORKER_ARGS+x}" ]; then
	SKY_WORKER_ARGS=(-v --poll-interval 0.2)
fi

# libpq environment of the caller must not redirect our connections.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD \
	PGPASSFILE PGSSLMODE PGTZ PGDATESTYLE || true

declare -gA SKY_PORT=() SKY_EXTRA=() SKY_WORKER_PID=() SKY_PGQD_PID=() SKY_BG_PID=()
# workers released by sky_worker_release: no longer checked, still stopped by the EXIT trap
declare -ga SKY_RELEASED_PID=()
declare -ga SKY_NODES=()
SKY_TMP=""
SKY_WATCHDOG_PID=""
SKY_SERVER_USER=""
SKY_START_TIME=$SECONDS

# ---------------------------------------------------------------------------------------------
# messages and assertions

sky_log() { printf '[%s %4ds] %s\n' "$SKY_TEST_NAME" "$((SECONDS - SKY_START_TIME))" "$*"; }
sky_check() { sky_log "check: $*"; }
sky_ok() { sky_log "ok: $*"; }

# sky_fail MESSAGE...: print the message and end the test with status 1 (the EXIT trap cleans up).
sky_fail() {
	printf '[%s] FAIL: %s\n' "$SKY_TEST_NAME" "$*" >&2
	exit 1
}

# sky_assert_eq ACTUAL EXPECTED WHAT
sky_assert_eq() {
	if [ "$1" != "$2" ]; then
		sky_fail "$3: expected '$2', got '$1'"
	fi
	sky_ok "$3 = '$1'"
}

# sky_assert_contains FILE FIXED-STRING WHAT
sky_assert_contains() {
	if ! grep -qF -- "$2" "$1"; then
		printf '%s\n' "--- $1:" >&2
		cat "$1" >&2
		sky_fail "$3: '$2' not found in the output above"
	fi
	sky_ok "$3"
}

# sky_assert_no_secret SECRET: SECRET appears in no log and no captured command output of this test
# (the topology files that carry it on purpose are not logs; server data files are not searched).
sky_assert_no_secret() {
	local hits
	hits=$(grep -rlF -- "$1" "$SKY_TMP/log" || true)
	if [ -n "$hits" ]; then
		grep -rnF -- "$1" "$SKY_TMP/log" >&2 || true
		sky_fail "the secret '$1' was printed in: $hits"
	fi
	sky_ok "the secret does not appear in any output or log ($(find "$SKY_TMP/log" -type f | wc -l) files)"
}

# sky_run OUTNAME CMD...: run CMD, store stdout in $SKY_TMP/log/OUTNAME.out and stderr in
# OUTNAME.err, echo both, and set SKY_RC to its exit status (never fails by itself).
sky_run() {
	local name=$1
	shift
	SKY_OUT=$SKY_TMP/log/$name.out
	SKY_ERR=$SKY_TMP/log/$name.err
	SKY_RC=0
	"$@" >"$SKY_OUT" 2>"$SKY_ERR" </dev/null || SKY_RC=$?
	sed "s/^/  [$name stdout] /" "$SKY_OUT"
	sed "s/^/  [$name stderr] /" "$SKY_ERR"
	sky_log "$name exited with status $SKY_RC"
}

# sky_expect_rc RC WHAT: the last sky_run exited with RC.
sky_expect_rc() {
	if [ "$SKY_RC" != "$1" ]; then
		sky_fail "$2: expected exit status $1, got $SKY_RC (output above)"
	fi
	sky_ok "$2 (exit $1)"
}

# sky_need_bin PATH: fail clearly when a component is not built.
sky_need_bin() {
	[ -x "$1" ] || sky_fail "$1 is not built (SKY_BUILD_DIR=$SKY_BUILD_DIR${SKY_BIN_DIR:+, SKY_BIN_DIR=$SKY_BIN_DIR}); build the project first"
}

# The programs: from the build tree, or from $SKY_BIN_DIR when set (e.g. /usr/bin: the package).
sky_reconcile_bin() { echo "${SKY_BIN_DIR:-$SKY_BUILD_DIR/reconciler}/skyreconcile"; }
sky_worker_bin() { echo "${SKY_BIN_DIR:-$SKY_BUILD_DIR/worker}/skyworker"; }

# ---------------------------------------------------------------------------------------------
# process helpers: only pids this shell started are ever signalled

# _sky_own_pid PID: true when PID is running (not a zombie) and a child of this test's shell.
_sky_own_pid() {
	local stat rest state ppid
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	read -r state ppid _ <<<"$rest"
	[ "$ppid" = "$$" ] && [ "$state" != Z ]
}

# _sky_stop_pid PID WHAT [GRACE]: SIGTERM, wait up to GRACE seconds, then SIGKILL; reap it and
# leave its exit status in SKY_STOP_RC.
_sky_stop_pid() {
	local pid=$1 what=$2 grace=${3:-15} i
	SKY_STOP_RC=0
	if _sky_own_pid "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			_sky_own_pid "$pid" || break
			sleep 0.1
		done
		if _sky_own_pid "$pid"; then
			sky_log "$what (pid $pid) did not stop in ${grace}s, killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || SKY_STOP_RC=$?
}

_sky_as_server() {
	if [ -n "$SKY_SERVER_USER" ]; then
		(cd "$SKY_TMP" && runuser -u "$SKY_SERVER_USER" -- "$@")
	else
		(cd "$SKY_TMP" && "$@")
	fi
}

# ---------------------------------------------------------------------------------------------
# ports: random in [SKY_PORT_MIN, SKY_PORT_MAX], not in use by any socket, reserved by an atomic
# mkdir in $SKY_LOCK_DIR so parallel test runs never pick the same port

_sky_port_in_use() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# A lock whose owner died is taken over; what that run left behind (its server, pgqd and worker,
# each recognised by its pid file and command line) is stopped first.
_sky_port_reclaim() {
	local lock=$1 owner data stale dir pid pidfile
	owner=$(cat "$lock/pid" 2>/dev/null || true)
	[ -n "$owner" ] || return 1
	if kill -0 "$owner" 2>/dev/null; then
		return 1
	fi
	stale=$lock.stale.$$
	mv "$lock" "$stale" 2>/dev/null || return 1
	data=$(cat "$stale/data" 2>/dev/null || true)
	dir=${data%/data}
	if [ -n "$data" ] && [ -d "$dir" ]; then
		for pidfile in "$dir/pgqd.pid" "$dir/worker.pid"; do
			pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
			if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
				grep -qF -e "$dir/" -e "port=${lock##*/} "; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		done
		if [ -f "$data/postmaster.pid" ]; then
			sky_log "stopping a server left behind by a dead test run: $data" >&2
			if [ "$(id -u)" = 0 ]; then
				runuser -u "$(stat -c %U "$data")" -- "$SKY_PGBIN/pg_ctl" -D "$data" stop \
					-m immediate >/dev/null 2>&1 || true
			else
				"$SKY_PGBIN/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
			fi
		fi
	fi
	rm -rf "$stale"
}

_sky_port_pick() {
	local i port lock span=$((SKY_PORT_MAX - SKY_PORT_MIN + 1))
	mkdir -p "$SKY_LOCK_DIR" 2>/dev/null || true
	chmod 1777 "$SKY_LOCK_DIR" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		port=$((SKY_PORT_MIN + (RANDOM * 32768 + RANDOM) % span))
		lock=$SKY_LOCK_DIR/$port
		if ! mkdir "$lock" 2>/dev/null; then
			_sky_port_reclaim "$lock" || continue
			mkdir "$lock" 2>/dev/null || continue
		fi
		echo "$$" >"$lock/pid"
		if _sky_port_in_use "$port"; then
			rm -rf "$lock"
			continue
		fi
		echo "$port"
		return 0
	done
	sky_fail "no free port in $SKY_PORT_MIN-$SKY_PORT_MAX"
}

_sky_port_release() {
	local lock=$SKY_LOCK_DIR/$1
	if [ "$(cat "$lock/pid" 2>/dev/null)" = "$$" ]; then
		rm -rf "$lock"
	fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL instances

sky_port() {
	[ -n "${SKY_PORT[$1]:-}" ] || sky_fail "unknown node '$1'"
	echo "${SKY_PORT[$1]}"
}

sky_dsn() {
	local dsn
	dsn="host=127.0.0.1 port=$(sky_port "$1") dbname=app user=postgres"
	[ -z "${SKY_EXTRA[$1]:-}" ] || dsn="$dsn ${SKY_EXTRA[$1]}"
	echo "$dsn"
}

# sky_dsn_extra NAME "key=value ...": extra conninfo for NAME's DSN (trust auth ignores a password).
sky_dsn_extra() { SKY_EXTRA[$1]=$2; }

# sky_psql NAME [psql args]: unaligned, tuples only, stops on the first error.
sky_psql() {
	local name=$1
	shift
	"$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(sky_dsn "$name")" "$@"
}

# sky_psql_db NAME DB [psql args]
sky_psql_db() {
	local name=$1 db=$2
	shift 2
	"$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(sky_port "$name")" \
		-U postgres -d "$db" "$@"
}

# sky_pgbench NAME [pgbench args]
sky_pgbench() {
	local name=$1
	shift
	"$SKY_PGBIN/pgbench" -h 127.0.0.1 -p "$(sky_port "$name")" -U postgres "$@" app
}

sky_pg_start() {
	local name=$1 dir=$SKY_TMP/$1 attempt port
	for ((attempt = 0; attempt < 5; attempt++)); do
		if _sky_as_server "$SKY_PGBIN/pg_ctl" -D "$dir/data" -l "$SKY_TMP/log/$name.server.log" \
			-w -t 60 -s start >/dev/null 2>&1; then
			_sky_pgqd_restart "$name"
			return 0
		fi
		if ! grep -q 'could not bind\|Address already in use' "$SKY_TMP/log/$name.server.log"; then
			tail -n 20 "$SKY_TMP/log/$name.server.log" >&2 || true
			sky_fail "could not start PostgreSQL '$name' (log: $SKY_TMP/log/$name.server.log)"
		fi
		# Somebody outside our lock took the port between the check and the start: take another.
		_sky_port_release "${SKY_PORT[$name]}"
		port=$(_sky_port_pick)
		echo "$dir/data" >"$SKY_LOCK_DIR/$port/data"
		SKY_PORT[$name]=$port
		echo "port = $port" >>"$dir/data/postgresql.conf"
	done
	sky_fail "could not start PostgreSQL '$name': no port could be bound"
}

sky_pg_stop() {
	local mode=${2:-fast}
	_sky_as_server "$SKY_PGBIN/pg_ctl" -D "$SKY_TMP/$1/data" -w -t 60 -s stop -m "$mode" >/dev/null
}

# _sky_initdb_run NAME DIR: initdb into DIR, its output in NAME's initdb log.
_sky_initdb_run() {
	_sky_as_server "$SKY_PGBIN/initdb" -D "$2" -U postgres --auth=trust -E UTF8 --locale=C -N \
		>"$SKY_TMP/log/$1.initdb.log" 2>&1 && return 0
	cat "$SKY_TMP/log/$1.initdb.log" >&2
	return 1
}

# _sky_initdb NAME: NAME's data directory, $SKY_TMP/NAME/data, as initdb makes it. initdb runs once
# per PostgreSQL version and user into $SKY_INITDB_CACHE (default /tmp/skycascade-initdb; empty: no
# cache) and each node gets a copy, which takes a fraction of initdb's second. The cached directory
# appears whole (renamed into place after initdb succeeded) or not at all, so parallel tests can
# share it; it holds no data of any test and is never started.
_sky_initdb() {
	local name=$1 data=$SKY_TMP/$1/data cache=${SKY_INITDB_CACHE-/tmp/skycascade-initdb} key tmp=""
	if [ -n "$cache" ]; then
		key=$({
			"$SKY_PGBIN/initdb" --version
			declare -f _sky_initdb_run
			echo "$SKY_PGBIN $(id -u) $SKY_SERVER_USER"
		} | md5sum | cut -c1-16)
		if [ ! -f "$cache/$key/PG_VERSION" ]; then
			mkdir -p "$cache" 2>/dev/null || true
			chmod 1777 "$cache" 2>/dev/null || true
			tmp=$(mktemp -d "$cache/new.XXXXXX" 2>/dev/null) || tmp=""
		fi
	fi
	if [ -z "$cache" ] || { [ ! -f "$cache/$key/PG_VERSION" ] && [ -z "$tmp" ]; }; then
		_sky_initdb_run "$name" "$data" || sky_fail "initdb of '$name' failed"
		return 0
	fi
	if [ -n "$tmp" ]; then
		[ -z "$SKY_SERVER_USER" ] || chown "$SKY_SERVER_USER" "$tmp"
		_sky_initdb_run "$name" "$tmp/data" || {
			rm -rf "$tmp"
			sky_fail "initdb of '$name' failed"
		}
		# another test may have put its copy in place first: then that one stays
		mv -T "$tmp/data" "$cache/$key" 2>/dev/null || true
		rm -rf "$tmp"
	fi
	cp -a "$cache/$key" "$data" || sky_fail "could not copy $cache/$key (initdb's output) to $data"
	echo "a copy of $cache/$key" >>"$SKY_TMP/log/$name.initdb.log"
}

# sky_pg_new NAME: a fresh instance with database "app" and extension pgq, started.
sky_pg_new() {
	local name=$1 dir=$SKY_TMP/$1 port
	[[ $name =~ ^[a-z0-9_]+$ ]] || sky_fail "bad node name '$name'"
	[ -z "${SKY_PORT[$name]:-}" ] || sky_fail "node '$name' exists already"
	mkdir -p "$dir"
	[ -z "$SKY_SERVER_USER" ] || chown "$SKY_SERVER_USER" "$dir"
	port=$(_sky_port_pick)
	SKY_PORT[$name]=$port
	SKY_NODES+=("$name")
	echo "$dir/data" >"$SKY_LOCK_DIR/$port/data"
	_sky_initdb "$name"
	cat >>"$dir/data/postgresql.conf" <<EOF

# skycascade test settings
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 50
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 1GB
checkpoint_timeout = 30min
max_parallel_workers_per_gather = 0
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%a %d '
log_min_messages = warning
# pgq_set.logutriga's C body (sql/capture) from the build under test first (SKY_CAPTURE_PATH: the
# whole path; one without \$libdir hides a pgq_set_capture.so installed by the package)
dynamic_library_path = '${SKY_CAPTURE_PATH:-$SKY_BUILD_DIR/sql/capture:\$libdir}'
EOF
	sky_pg_start "$name"
	sky_psql_db "$name" postgres -c "create database app" >/dev/null
	sky_psql "$name" -c "create extension pgq" >/dev/null
	# A queue created here later ticks once its oldest event is $SKY_TICKER_MAX_LAG old (PgQ's
	# default: 3 s): a test waits less for the root's changes to be in a batch.
	sky_psql "$name" -c "alter table pgq.queue alter column queue_ticker_max_lag
		set default '${SKY_TICKER_MAX_LAG:-0.5 s}'" >/dev/null
	sky_log "node $name: PostgreSQL on 127.0.0.1:$port, database app with pgq ($dir)"
}

# sky_pg_conf NAME LINE...: append settings to NAME's postgresql.conf (after the test settings, so
# they win) and restart it. E.g. sky_pg_conf db3 'fsync = on' 'wal_writer_delay = 10s' for a server
# whose crash (sky_pg_stop NAME immediate) really loses the commits that were not flushed.
sky_pg_conf() {
	local name=$1 line
	shift
	[ -n "${SKY_PORT[$name]:-}" ] || sky_fail "unknown node '$name'"
	{
		echo "# sky_pg_conf"
		for line in "$@"; do
			echo "$line"
		done
	} >>"$SKY_TMP/$name/data/postgresql.conf"
	sky_pg_stop "$name"
	sky_pg_start "$name"
	sky_log "node $name: restarted with $*"
}

# ---------------------------------------------------------------------------------------------
# pgqd: one per node (a pgqd serves one server); ticker every 0.1 s as shipped (dist/pgqd.ini)

sky_pgqd_start() {
	local name ini
	for name in "$@"; do
		ini=$SKY_TMP/$name/pgqd.ini
		cat >"$ini" <<EOF
[pgqd]
logfile = $SKY_TMP/log/$name.pgqd.log
pidfile = $SKY_TMP/$name/pgqd.pid
base_connstr = host=127.0.0.1 port=$(sky_port "$name") user=postgres
initial_database = app
database_list = app
check_period = 2
retry_period = 2
maint_period = 2
ticker_period = 0.1
EOF
		pgqd -q "$ini" >>"$SKY_TMP/log/$name.pgqd.out" 2>&1 </dev/null &
		SKY_PGQD_PID[$name]=$!
		sky_log "pgqd for $name started (pid ${SKY_PGQD_PID[$name]})"
	done
}

# _sky_pgqd_restart NAME: NAME's server was started again; when the test runs a pgqd for it, start
# a new one: pgqd reconnects to a server it lost only 60 s later (libusual's default reconnect),
# and ticks nothing meanwhile.
_sky_pgqd_restart() {
	[ -n "${SKY_PGQD_PID[$1]:-}" ] || return 0
	sky_pgqd_stop "$1"
	sky_pgqd_start "$1"
}

sky_pgqd_stop() {
	local name
	for name in "$@"; do
		[ -n "${SKY_PGQD_PID[$name]:-}" ] || continue
		_sky_stop_pid "${SKY_PGQD_PID[$name]}" "pgqd for $name" 10
		unset "SKY_PGQD_PID[$name]"
	done
}

# ---------------------------------------------------------------------------------------------
# workers: $SKY_BUILD_DIR/worker/skyworker, log appended to $SKY_TMP/log/NODE.worker.log.
# Call these from the test's main shell (not from a $(...) or a pipeline): the pid is kept here.

# sky_worker_start NODE [ARGS...]: ARGS default to SKY_WORKER_ARGS (-v --poll-interval 0.2).
sky_worker_start() {
	local node=$1 bin log
	shift
	bin=$(sky_worker_bin)
	sky_need_bin "$bin"
	if [ -n "${SKY_WORKER_PID[$node]:-}" ] && _sky_own_pid "${SKY_WORKER_PID[$node]}"; then
		sky_fail "worker for $node is running already"
	fi
	log=$SKY_TMP/log/$node.worker.log
	if [ $# -eq 0 ]; then
		set -- "${SKY_WORKER_ARGS[@]}"
	fi
	printf -- '--- %s: skyworker %s <dsn of %s>\n' "$(date -u +%T.%N)" "$*" "$node" >>"$log"
	if [ "${SKY_WORKER_DSN_ENV:-0}" = 1 ]; then
		# as skyworker@.service runs it: the DSN in SKYWORKER_DSN, not on the command line
		SKYWORKER_DSN=$(sky_dsn "$node") "$bin" "$@" >>"$log" 2>&1 </dev/null &
	else
		"$bin" "$@" "$(sky_dsn "$node")" >>"$log" 2>&1 </dev/null &
	fi
	SKY_WORKER_PID[$node]=$!
	echo "$!" >"$SKY_TMP/$node/worker.pid"
	# Until it has exec'd the worker, the child is a copy of this shell with this shell's traps:
	# a SIGTERM sent to it then (a test stopping a worker it just started) would run the test's
	# own EXIT trap in it, which stops every server (seen in test 02). Wait for the exec.
	local want exe i pid=$!
	want=$(readlink -f "$bin")
	for ((i = 0; i < 500; i++)); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || break
		[ "$exe" != "$want" ] || break
		sleep 0.01
	done
}

# sky_worker_alive NODE
sky_worker_alive() { _sky_own_pid "${SKY_WORKER_PID[$1]:-}"; }

sky_worker_stop() {
	local node=$1 pid=${SKY_WORKER_PID[$1]:-}
	[ -n "$pid" ] || return 0
	_sky_stop_pid "$pid" "worker for $node" 20
	unset "SKY_WORKER_PID[$node]"
	printf -- '--- %s: stopped by the test (SIGTERM), exit status %s\n' "$(date -u +%T.%N)" \
		"$SKY_STOP_RC" >>"$SKY_TMP/log/$node.worker.log"
	sky_log "worker for $node stopped (exit status $SKY_STOP_RC)"
}

sky_worker_kill9() {
	local node=$1 pid=${SKY_WORKER_PID[$1]:-}
	if [ -z "$pid" ] || ! _sky_own_pid "$pid"; then
		_sky_worker_died "$node"
	fi
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "SKY_WORKER_PID[$node]"
	printf -- '--- %s: killed by the test (SIGKILL)\n' "$(date -u +%T.%N)" >>"$SKY_TMP/log/$node.worker.log"
}

_sky_worker_died() {
	local node=$1 pid=${SKY_WORKER_PID[$1]:-} rc=0
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || rc=$?
	tail -n 30 "$SKY_TMP/log/$node.worker.log" >&2 || true
	sky_fail "the worker of $node is not running (exit status $rc); its log ends above"
}

# sky_worker_release NODE: the worker of NODE may exit from now on (e.g. once its node is
# fenced): sky_check_workers no longer asks for it, but the EXIT trap still stops it if it runs.
sky_worker_release() {
	local pid=${SKY_WORKER_PID[$1]:-}
	[ -z "$pid" ] || SKY_RELEASED_PID+=("$pid")
	unset "SKY_WORKER_PID[$1]"
}

# sky_check_workers: every worker the test started and did not stop is still running.
sky_check_workers() {
	local node
	for node in "${!SKY_WORKER_PID[@]}"; do
		sky_worker_alive "$node" || _sky_worker_died "$node"
	done
}

# ---------------------------------------------------------------------------------------------
# background commands (pgbench and the like), output in $SKY_TMP/log/NAME.out

# sky_bg NAME CMD...: CMD is a program, not a shell function, so that its pid is the program's.
sky_bg() {
	local name=$1
	shift
	[ "$(type -t "$1")" = file ] || sky_fail "sky_bg $name: '$1' is not a program"
	"$@" >"$SKY_TMP/log/$name.out" 2>&1 </dev/null &
	SKY_BG_PID[$name]=$!
}

# sky_pgbench_bg NAME NODE [pgbench args]: pgbench on NODE in the background, as sky_bg NAME.
sky_pgbench_bg() {
	local name=$1 node=$2
	shift 2
	sky_bg "$name" "$SKY_PGBIN/pgbench" -h 127.0.0.1 -p "$(sky_port "$node")" -U postgres "$@" app
}

sky_bg_running() { _sky_own_pid "${SKY_BG_PID[$1]:-}"; }

# sky_pgbench_end NAME: end the background pgbench NAME, started with a -T longer than the
# scenario, once the scenario is over: it must still be running (the load lasted the whole
# scenario) and none of its clients may have failed (pgbench writes a failure to its output).
sky_pgbench_end() {
	local name=$1 out=$SKY_TMP/log/$1.out
	if ! sky_bg_running "$name"; then
		tail -n 5 "$out" >&2
		sky_fail "the load $name ended before the scenario did (its output ends above)"
	fi
	kill -TERM "${SKY_BG_PID[$name]}" 2>/dev/null || true
	sky_bg_wait "$name" || true
	if grep -qiE 'abort|error|fatal|fail' "$out"; then
		cat "$out" >&2
		sky_fail "the load $name failed (its output is above)"
	fi
	sky_ok "the load $name ran through the scenario without a failure"
}

# sky_bg_wait NAME: wait for it; returns its exit status.
sky_bg_wait() {
	local pid=${SKY_BG_PID[$1]:-} rc=0
	[ -n "$pid" ] || sky_fail "no background command '$1'"
	wait "$pid" || rc=$?
	unset "SKY_BG_PID[$1]"
	return "$rc"
}

# ---------------------------------------------------------------------------------------------
# replication state

# sky_node_tick NODE: pgq_set's completed tick of NODE ("" before the node is created).
sky_node_tick() {
	sky_psql "$1" -c "select last_tick from pgq_set.get_node('$SKY_CASCADE')"
}

# sky_assert_ticks_consistent NODE...: the cascade's queue on each NODE (nodes that carry one) is
# consistent: in tick id order neither the event sequence nor the time goes back, the tick
# sequence is at or above the last tick (the next tick gets a new id: a sequence put back by a
# crash made pgqd's ticks fail with a duplicate key on pgq.tick), and a tick id that several NODEs
# hold is the same tick on each, same time and event sequence (DESIGN invariant 2).
sky_assert_ticks_consistent() {
	local node bad out=$SKY_TMP/ticks.txt
	: >"$out"
	for node in "$@"; do
		bad=$(sky_psql "$node" -v q="$SKY_CASCADE" <<'SQL'
with t as (
	select t.tick_id, t.tick_time, t.tick_event_seq,
	       lag(t.tick_time) over w as prev_time, lag(t.tick_event_seq) over w as prev_seq
	  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = :'q' window w as (order by t.tick_id))
select coalesce(
	(select format('tick %s (%s, event seq %s) goes back from the one before (%s, event seq %s)',
		       tick_id, tick_time, tick_event_seq, prev_time, prev_seq)
	   from t where tick_time < prev_time or tick_event_seq < prev_seq order by tick_id limit 1),
	(select format('its tick sequence is at %s, below its last tick %s', s.v, s.m)
	   from pgq.queue q,
		lateral (select pgq.seq_getval(q.queue_tick_seq) as v,
				(select max(tick_id) from pgq.tick where tick_queue = q.queue_id) as m) s
	  where q.queue_name = :'q' and s.v < s.m),
	(select 'no queue' where not exists (select 1 from pgq.queue where queue_name = :'q')),
	'')
SQL
		)
		[ -z "$bad" ] || sky_fail "queue $SKY_CASCADE on $node: $bad"
		sky_psql "$node" -v q="$SKY_CASCADE" -v n="$node" <<'SQL' >>"$out"
select :'n', t.tick_id, t.tick_time, t.tick_event_seq
  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue where q.queue_name = :'q'
SQL
	done
	bad=$(awk -F'|' '{ k = $2; v = $3 "|" $4 }
		k in seen && seen[k] != v { print "tick " k ": " seen[k] " on " node[k] ", " v " on " $1; exit }
		!(k in seen) { seen[k] = v; node[k] = $1 }' "$out")
	[ -z "$bad" ] || sky_fail "tick ids that differ between nodes (time|event seq): $bad"
	sky_ok "queue $SKY_CASCADE consistent on $* ($(wc -l <"$out") ticks: in order, tick sequence past the last, one tick per id)"
}

# sky_tick_events NODE: every event of the cascade's queue on NODE with the tick that holds it (the
# first of NODE's ticks whose snapshot sees its transaction), "tick|ev_id|ev_time|ev_retry|ev_type|
# ev_data|ev_extra1..4" in tick and event order (times in UTC)
sky_tick_events() {
	sky_psql "$1" -v q="$SKY_CASCADE" <<'SQL'
set timezone = 'UTC';
set datestyle = 'ISO, YMD';
select format('select t.tick_id, e.ev_id, e.ev_time, e.ev_retry, e.ev_type, e.ev_data, e.ev_extra1,
		e.ev_extra2, e.ev_extra3, e.ev_extra4
	from %s e cross join lateral (select min(t.tick_id) as tick_id from pgq.tick t
		where t.tick_queue = %s and txid_visible_in_snapshot(e.ev_txid, t.tick_snapshot)) t
	where t.tick_id is not null order by 1, 2', pgq.quote_fqname(queue_data_pfx), queue_id)
  from pgq.queue where queue_name = :'q' \gexec
SQL
}

# sky_assert_queue_matches PROVIDER BRANCH: every tick of BRANCH's queue after the first tick both
# queues still hold (rotation deletes old ticks on each node on its own), up to the tick BRANCH
# completed, holds exactly PROVIDER's events of the tick of the same id, every field equal (DESIGN
# invariant 2; the queue copy, worker/queuecopy.c). No rotation may run meanwhile.
sky_assert_queue_matches() {
	local prov=$1 node=$2 first last n m
	first=0
	for n in "$prov" "$node"; do
		m=$(sky_psql "$n" -c "select min(t.tick_id) from pgq.tick t join pgq.queue q
			on q.queue_id = t.tick_queue where q.queue_name = '$SKY_CASCADE'")
		[ "$m" -le "$first" ] || first=$m
	done
	last=$(sky_node_tick "$node")
	sky_tick_events "$node" | awk -F'|' -v f="$first" '$1 > f' >"$SKY_TMP/queue-$node.txt"
	sky_tick_events "$prov" | awk -F'|' -v f="$first" -v l="$last" '$1 > f && $1 <= l' \
		>"$SKY_TMP/queue-$prov-for-$node.txt"
	if ! diff "$SKY_TMP/queue-$prov-for-$node.txt" "$SKY_TMP/queue-$node.txt" >"$SKY_TMP/queue-$node.diff"; then
		head -20 "$SKY_TMP/queue-$node.diff" >&2
		sky_fail "the queue on $node differs from $prov's for ticks ($first, $last]"
	fi
	[ -s "$SKY_TMP/queue-$node.txt" ] || sky_fail "no event in $node's ticks ($first, $last]"
	sky_ok "$node's ticks ($first, $last] hold $prov's events, every field: $(wc -l <"$SKY_TMP/queue-$node.txt") events"
}

# sky_root_tick_containing_now: the id of the first root tick whose snapshot holds every transaction
# committed before this call. A transaction marks "now" (its txid); pgq.force_tick makes pgqd tick at
# once instead of waiting for ticker_max_lag/idle_period. Prints the tick id.
sky_root_tick_containing_now() {
	local timeout=${1:-60} txid tick="" deadline
	deadline=$((SECONDS + timeout))
	txid=$(sky_psql "$SKY_ROOT" -c "select txid_current()")
	while :; do
		sky_psql "$SKY_ROOT" -c "select pgq.force_tick('$SKY_CASCADE')" >/dev/null
		tick=$(sky_psql "$SKY_ROOT" -c "select min(t.tick_id) from pgq.tick t
			join pgq.queue q on q.queue_id = t.tick_queue
			where q.queue_name = '$SKY_CASCADE' and txid_visible_in_snapshot($txid, t.tick_snapshot)")
		[ -z "$tick" ] || break
		if ((SECONDS >= deadline)); then
			sky_fail "no tick on the root $SKY_ROOT after ${timeout}s: is pgqd running? (log: $SKY_TMP/log/$SKY_ROOT.pgqd.log)"
		fi
		sleep 0.1
	done
	echo "$tick"
}

# sky_wait_caught_up NODE... [TIMEOUT]: wait until every NODE's completed tick is at least the root
# tick that contains everything committed on the root so far. Fails with the nodes' state on timeout
# or as soon as one of the test's workers died.
sky_wait_caught_up() {
	local timeout=180 nodes=() node target tick start=$SECONDS pending state
	for node in "$@"; do
		if [[ $node =~ ^[0-9]+$ ]]; then
			timeout=$node
		else
			nodes+=("$node")
		fi
	done
	target=$(sky_root_tick_containing_now "$timeout")
	sky_log "waiting for ${nodes[*]} to reach root tick $target (timeout ${timeout}s)"
	while :; do
		pending=()
		for node in "${nodes[@]}"; do
			tick=$(sky_node_tick "$node" 2>/dev/null || true)
			if [ -z "$tick" ] || ((tick < target)); then
				pending+=("$node")
			fi
		done
		[ ${#pending[@]} -gt 0 ] || break
		sky_check_workers
		if ((SECONDS - start >= timeout)); then
			for node in "${pending[@]}"; do
				state=$(sky_psql "$node" -c "select node_role, provider_node, last_tick, paused, worker_error from pgq_set.get_node('$SKY_CASCADE')" 2>&1 || true)
				printf '%s: %s\n' "$node" "$state" >&2
				tail -n 15 "$SKY_TMP/log/$node.worker.log" >&2 2>/dev/null || true
			done
			sky_fail "${pending[*]} did not reach root tick $target within ${timeout}s (state and worker log above: role|provider|last_tick|paused|error)"
		fi
		sleep 0.2
	done
	sky_ok "${nodes[*]} caught up with root tick $target in $((SECONDS - start))s"
}

# sky_table_md5 NODE TABLE: md5 of the table's rows in primary key order (all columns when it has no
# primary key). TABLE is an SQL name, e.g. public."Zoo Table".
sky_table_md5() {
	local sum
	sum=$(_sky_table_sum "$1" "$2")
	echo "${sum#* }"
}

sky_table_count() {
	sky_psql "$1" -v tbl="$2" <<'SQL'
select format('select count(*) from %s', :'tbl'::regclass)
\gexec
SQL
}

# _sky_table_sum NODE TABLE: "ROWS MD5" of TABLE on NODE from one scan, the md5 as sky_table_md5's.
_sky_table_sum() {
	sky_psql "$1" -v tbl="$2" <<'SQL'
select format('select count(*) || '' '' || md5(coalesce(string_agg(t::text, E''\n'' order by %s), '''')) from %s t',
	coalesce((select string_agg(format('t.%I', a.attname), ', '
				    order by array_position(i.indkey::int2[], a.attnum))
		    from pg_index i
		    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
		   where i.indrelid = :'tbl'::regclass and i.indisprimary),
		 't::text collate "C"'),
	:'tbl'::regclass)
\gexec
SQL
}

# sky_assert_tables_equal TABLE NODE...: TABLE has the same rows on every NODE. The nodes are read
# at the same time (each its own server), each with one scan for its row count and md5.
sky_assert_tables_equal() {
	local table=$1 node first="" n sum want="" bad=0 report="" dir rc i=0
	local -a pids=()
	shift
	dir=$(mktemp -d "$SKY_TMP/sum.XXXXXX")
	for node in "$@"; do
		sky_port "$node" >/dev/null
		(_sky_table_sum "$node" "$table" >"$dir/$node" 2>"$dir/$node.err") &
		pids+=("$!")
	done
	for node in "$@"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		i=$((i + 1))
		if [ "$rc" != 0 ] || [ ! -s "$dir/$node" ]; then
			cat "$dir/$node.err" >&2 || true
			sky_fail "could not read $table on $node"
		fi
	done
	for node in "$@"; do
		read -r n sum <"$dir/$node"
		report+="  $node: $n rows, md5 $sum"$'\n'
		if [ -z "$first" ]; then
			first=$node
			want="$n $sum"
		elif [ "$n $sum" != "$want" ]; then
			bad=1
		fi
	done
	rm -rf "$dir"
	if [ "$bad" = 1 ]; then
		printf '%s' "$report" >&2
		sky_fail "$table differs between nodes $*"
	fi
	sky_ok "$table equal on $* (${want% *} rows, md5 ${want#* })"
}

# sky_topology_write FILE ROOT BRANCH LEAF TABLE...: a root -> branch -> leaf topology (the shape of
# examples/three-node.yaml) with the nodes' DSNs. TABLEs are SQL names (public."My Table").
sky_topology_write() {
	local file=$1 root=$2 branch=$3 leaf=$4 t
	shift 4
	{
		echo "cascade: $SKY_CASCADE"
		echo "nodes:"
		echo "  $root:"
		echo "    role: root"
		echo "    dsn: \"$(sky_dsn "$root")\""
		echo "  $branch:"
		echo "    role: branch"
		echo "    dsn: \"$(sky_dsn "$branch")\""
		echo "    provider: $root"
		echo "  $leaf:"
		echo "    role: leaf"
		echo "    dsn: \"$(sky_dsn "$leaf")\""
		echo "    provider: $branch"
		echo "tables:"
		for t in "$@"; do
			echo "  - '${t//\'/\'\'}'"
		done
		echo "settings:"
		echo "  parallel_copies: 2"
	} >"$file"
}

# sky_topology_write_items FILE ROOT BRANCH LEAF ITEM...: sky_topology_write with more choices. An ITEM
# that starts with "{" is written as it is, a YAML flow mapping ('{name: public.t, create: true}',
# '{name: public.t, nodes: [db1, db2]}'); any other ITEM is a table's SQL name, as there.
# settings.parallel_copies is $SKY_TOPO_PARALLEL_COPIES (default 2); a node that is a key of the
# array SKY_TOPO_NODE_COPIES (SKY_TOPO_NODE_COPIES[db3]=1) gets its own "parallel_copies".
declare -gA SKY_TOPO_NODE_COPIES=()
sky_topology_write_items() {
	local file=$1 root=$2 branch=$3 leaf=$4 t n
	shift 4
	{
		echo "cascade: $SKY_CASCADE"
		echo "nodes:"
		for n in "$root" "$branch" "$leaf"; do
			echo "  $n:"
			case $n in
			"$root") echo "    role: root" ;;
			"$branch") echo "    role: branch" ;;
			*) echo "    role: leaf" ;;
			esac
			echo "    dsn: \"$(sky_dsn "$n")\""
			case $n in
			"$branch") echo "    provider: $root" ;;
			"$leaf") echo "    provider: $branch" ;;
			esac
			if [ -n "${SKY_TOPO_NODE_COPIES[$n]:-}" ]; then
				echo "    parallel_copies: ${SKY_TOPO_NODE_COPIES[$n]}"
			fi
		done
		if [ $# -eq 0 ]; then
			echo "tables: []"
		else
			echo "tables:"
		fi
		for t in "$@"; do
			if [ "${t:0:1}" = "{" ]; then
				echo "  - $t"
			else
				echo "  - '${t//\'/\'\'}'"
			fi
		done
		echo "settings:"
		echo "  parallel_copies: ${SKY_TOPO_PARALLEL_COPIES:-2}"
	} >"$file"
}

# sky_topology_write_nodes FILE NODESPEC... -- TABLE...: any tree. NODESPEC is "NAME ROLE [PROVIDER]"
# followed by optional extra node keys after a "|", separated by ";" ("db3 leaf db2|paused: true;
# renamed_from: old3"). TABLEs are SQL names or YAML flow mappings, as for sky_topology_write_items.
sky_topology_write_nodes() {
	local file=$1 spec name role provider extra kv t
	shift
	{
		echo "cascade: $SKY_CASCADE"
		echo "nodes:"
		while [ $# -gt 0 ] && [ "$1" != "--" ]; do
			spec=${1%%|*}
			extra=""
			[[ $1 == *"|"* ]] && extra=${1#*|}
			read -r name role provider <<<"$spec"
			echo "  $name:"
			echo "    role: $role"
			echo "    dsn: \"$(sky_dsn "$name")\""
			[ -z "$provider" ] || echo "    provider: $provider"
			if [ -n "$extra" ]; then
				IFS=';' read -ra kv <<<"$extra"
				for t in "${kv[@]}"; do
					echo "    ${t# }"
				done
			fi
			shift
		done
		[ "${1:-}" != "--" ] || shift
		if [ $# -eq 0 ]; then
			echo "tables: []"
		else
			echo "tables:"
		fi
		for t in "$@"; do
			if [ "${t:0:1}" = "{" ]; then
				echo "  - $t"
			else
				echo "  - '${t//\'/\'\'}'"
			fi
		done
		# more top-level keys, as YAML (e.g. "sequences: [public.ticket_no]")
		[ -z "${SKY_TOPO_EXTRA:-}" ] || printf '%s\n' "$SKY_TOPO_EXTRA"
	} >"$file"
}

# The counter workload of the topology-change scenarios. sky_counter_nodes NODE...: a fresh
# instance per NODE with tables public.acct (10,000 rows on the first NODE, the root), public.counter
# and public.log (bigserial key) on each, and $SKY_TMP/load.sql, a pgbench script whose every
# transaction updates one account, increments the counter and adds one log row: counter = log rows
# proves that nothing was lost or applied twice (sky_counter_check).
SKY_COUNTER_TABLES=(public.acct public.counter public.log public.ticket)
sky_counter_nodes() {
	local n
	for n in "$@"; do
		sky_pg_new "$n"
		sky_psql "$n" <<'SQL'
create table public.acct (id int primary key, balance bigint not null);
create table public.counter (id int primary key, n bigint not null);
create table public.log (id bigserial primary key, acct int not null);
-- a sequence no column owns: it follows the root only when listed under sequences:
create sequence public.ticket_no;
create table public.ticket (id bigint primary key default nextval('public.ticket_no'), acct int not null);
SQL
	done
	sky_psql "$1" <<'SQL'
insert into public.acct select g, 0 from generate_series(1, 10000) g;
insert into public.counter values (1, 0);
SQL
	cat >"$SKY_TMP/load.sql" <<'SQL'
\set k random(1, 10000)
begin;
update public.acct set balance = balance + 1 where id = :k;
update public.counter set n = n + 1 where id = 1;
insert into public.log (acct) values (:k);
insert into public.ticket (acct) values (:k);
end;
SQL
}

# sky_counter_check NODE...: on every NODE the counter equals the number of log rows.
sky_counter_check() {
	local n
	for n in "$@"; do
		sky_assert_eq "$(sky_psql "$n" -c "select (select n from public.counter) = (select count(*) from public.log)
			and (select n from public.counter) = (select count(*) from public.ticket)")" \
			t "counter equals the log and ticket rows on $n (nothing lost or doubled)"
	done
}

# sky_counter_old_root OLD SURV_LOG N_SURV: after a failover, the old root OLD (started again)
# holds every log row the survivors hold (SURV_LOG: `\copy (select id, acct from public.log)`
# from the new root) and its counter equals its own log rows; the transactions it holds beyond
# them are the loss (logged; in SKY_OLD_ROOT_N: OLD's counter).
sky_counter_old_root() {
	local old=$1 file=$2 n_surv=$3 present
	SKY_OLD_ROOT_N=$(sky_psql "$old" -c "select n from public.counter")
	present=$(sky_psql "$old" <<SQL
create temp table surv (id bigint, acct int);
\copy surv from '$file'
select count(*) from surv s join public.log l using (id, acct);
SQL
)
	sky_assert_eq "$present" "$n_surv" "every row the survivors hold is on $old"
	sky_assert_eq "$(sky_psql "$old" -c "select count(*) from public.log")" "$SKY_OLD_ROOT_N" \
		"counter equals log rows on $old"
	((SKY_OLD_ROOT_N >= n_surv)) || sky_fail "$old holds fewer transactions than the survivors"
	sky_log "lost in the failover: $((SKY_OLD_ROOT_N - n_surv)) transactions ($old $SKY_OLD_ROOT_N, survivors $n_surv)"
}

# sky_assert_write_refused NODE SQL: NODE (fenced) refuses the application write SQL.
sky_assert_write_refused() {
	if sky_psql "$1" -c "$2" >/dev/null 2>&1; then
		sky_fail "fenced $1 accepted an application write"
	fi
	sky_ok "fenced $1 refuses application writes"
}

# ---------------------------------------------------------------------------------------------
# waiting for a condition

# sky_wait_for TIMEOUT WHAT CMD...: run CMD (a program or shell function) every 0.1 s until it
# succeeds; fail with WHAT after TIMEOUT seconds, or as soon as one of the test's workers died.
sky_wait_for() {
	local timeout=$1 what=$2 start=$SECONDS
	shift 2
	until "$@"; do
		sky_check_workers
		if ((SECONDS - start >= timeout)); then
			sky_fail "timed out after ${timeout}s waiting for: $what"
		fi
		sleep 0.1
	done
	sky_ok "$what (after $((SECONDS - start))s)"
}

# sky_now_ms: wall clock in milliseconds (the same clock as the servers' clock_timestamp()).
sky_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo "$((t / 1000))"
}

# ---------------------------------------------------------------------------------------------
# table copies (catalog v2: pending -> copying -> catching-up -> ok, see docs/sql-api.md)

# sky_table_state NODE TABLE: TABLE's state in NODE's pgq_set.get_tables ("" when it is not
# registered there). TABLE as the catalog writes it: schema.relname, unquoted.
sky_table_state() {
	sky_psql "$1" -v cascade="$SKY_CASCADE" -v tbl="$2" <<'SQL'
select state from pgq_set.get_tables(:'cascade') where table_name = :'tbl'
SQL
}

# sky_table_progress NODE TABLE: "state|rows_copied|rows_estimate|copy_error" of TABLE on NODE.
sky_table_progress() {
	sky_psql "$1" -v cascade="$SKY_CASCADE" -v tbl="$2" <<'SQL'
select concat_ws('|', state, coalesce(rows_copied::text, ''), coalesce(rows_estimate::text, ''),
		 coalesce(replace(copy_error, E'\n', ' '), ''))
  from pgq_set.get_tables(:'cascade') where table_name = :'tbl'
SQL
}

# sky_tables_ok NODE TABLE...: true when every TABLE is registered on NODE and in state ok.
sky_tables_ok() {
	local node=$1 t
	shift
	for t in "$@"; do
		[ "$(sky_table_state "$node" "$t" 2>/dev/null || true)" = ok ] || return 1
	done
}

# sky_wait_tables_ok NODE TIMEOUT TABLE...: wait until every TABLE is ok on NODE; on timeout print
# NODE's get_tables and the tail of its worker log.
sky_wait_tables_ok() {
	local node=$1 timeout=$2 start=$SECONDS
	shift 2
	until sky_tables_ok "$node" "$@"; do
		sky_check_workers
		if ((SECONDS - start >= timeout)); then
			sky_psql "$node" -c "select concat_ws(' | ', table_name, state, rows_copied, rows_estimate, copy_error)
				from pgq_set.get_tables('$SKY_CASCADE')" >&2 || true
			tail -n 20 "$SKY_TMP/log/$node.worker.log" >&2 2>/dev/null || true
			sky_fail "tables $* not ok on $node within ${timeout}s (get_tables and worker log above)"
		fi
		sleep 0.1
	done
	sky_ok "$* ok on $node (after $((SECONDS - start))s)"
}

# sky_watch_tables_bg NAME NODE TIMEOUT TABLES [COUNTED]: sample NODE's pgq_set.get_tables every
# 20 ms ($SKY_WATCH_INTERVAL) inside one server session until every table of TABLES (comma-separated,
# catalog names) is ok, or TIMEOUT seconds passed. Runs in the background as sky_bg NAME; read the
# result after sky_watch_wait NAME. Lines of $SKY_TMP/log/NAME.out ("|"-separated; ms is the epoch
# in milliseconds):
#   S|ms|table|state|rows_copied|rows_estimate|position|count   a table's state changed ("absent":
#        no longer registered; position: tick:N or snapshot:S while catching-up)
#   C|ms|table|state|count     a table of COUNTED (comma-separated) in state catching-up, or seen ok
#        for the first time: its row count in the same snapshot as the state
#   E|ms|table|copy_error      a new copy error
#   P|table|max rows_copied seen while copying|max rows_estimate
#   M|max tables copying at once|samples|done or timeout
sky_watch_tables_bg() {
	local name=$1 node=$2 timeout=$3 tables=$4 counted=${5:-} sql=$SKY_TMP/sky_watch.sql
	if [ ! -f "$sql" ]; then
		cat >"$sql" <<'SQL'
create function pg_temp.sky_count(i_schema text, i_rel text) returns bigint
language plpgsql stable as $f$
declare
	n bigint;
begin
	-- stable: runs in the snapshot of the statement that calls it
	execute format('select count(*) from %I.%I', i_schema, i_rel) into n;
	return n;
end
$f$;
create function pg_temp.sky_watch(i_cascade text, i_tables text[], i_counted text[],
				  i_timeout float8, i_interval float8)
returns setof text language plpgsql as $f$
declare
	v_prev jsonb := '{}';
	v_cur jsonb;
	v_err jsonb := '{}';
	v_rows jsonb := '{}';
	v_est jsonb := '{}';
	v_counted_ok text[] := '{}';
	v_copying integer;
	v_max integer := 0;
	v_samples bigint := 0;
	v_done boolean := false;
	v_deadline timestamptz := clock_timestamp() + make_interval(secs => i_timeout);
	v_ms bigint;
	v_key text;
	r record;
begin
	loop
		v_samples := v_samples + 1;
		v_cur := '{}';
		v_copying := 0;
		v_ms := (extract(epoch from clock_timestamp()) * 1000)::bigint;
		-- one statement, one snapshot: the states and the counts belong together
		for r in
			select g.table_name, g.state, g.rows_copied, g.rows_estimate, g.copy_error,
			       case when i.copy_tick is not null then 'tick:' || i.copy_tick
				    when i.copy_snapshot is not null then 'snapshot:' || i.copy_snapshot
				    else '' end as pos,
			       case when g.table_name = any (i_counted)
				     and (g.state = 'catching-up'
					  or (g.state = 'ok' and not g.table_name = any (v_counted_ok)))
				    then pg_temp.sky_count(g.schema_name, g.rel_name) end as n
			  from pgq_set.get_tables(i_cascade) g
			  left join pgq_set.table_info i
			    on i.cascade = i_cascade and i.table_name = g.table_name
		loop
			v_cur := v_cur || jsonb_build_object(r.table_name, r.state);
			if r.state = 'copying' then
				v_copying := v_copying + 1;
				if r.rows_copied is not null and r.rows_copied >
				   coalesce((v_rows ->> r.table_name)::bigint, -1) then
					v_rows := v_rows || jsonb_build_object(r.table_name, r.rows_copied);
				end if;
			end if;
			if r.rows_estimate is not null and r.rows_estimate >
			   coalesce((v_est ->> r.table_name)::bigint, -1) then
				v_est := v_est || jsonb_build_object(r.table_name, r.rows_estimate);
			end if;
			if (v_prev ->> r.table_name) is distinct from r.state then
				return next concat_ws('|', 'S', v_ms, r.table_name, r.state,
					coalesce(r.rows_copied::text, ''), coalesce(r.rows_estimate::text, ''),
					r.pos, coalesce(r.n::text, ''));
			end if;
			if r.n is not null then
				return next concat_ws('|', 'C', v_ms, r.table_name, r.state, r.n);
				if r.state = 'ok' then
					v_counted_ok := v_counted_ok || r.table_name;
				end if;
			end if;
			if r.copy_error is not null and (v_err ->> r.table_name) is distinct from r.copy_error then
				return next concat_ws('|', 'E', v_ms, r.table_name,
					replace(replace(r.copy_error, E'\n', ' '), '|', '/'));
				v_err := v_err || jsonb_build_object(r.table_name, r.copy_error);
			end if;
		end loop;
		for v_key in select k from jsonb_object_keys(v_prev) k where not v_cur ? k loop
			return next concat_ws('|', 'S', v_ms, v_key, 'absent', '', '', '', '');
		end loop;
		v_max := greatest(v_max, v_copying);
		v_prev := v_cur;
		if not exists (select 1 from unnest(i_tables) t where (v_cur ->> t) is distinct from 'ok') then
			v_done := true;
			exit;
		end if;
		exit when clock_timestamp() >= v_deadline;
		perform pg_sleep(i_interval);
	end loop;
	for v_key in select k from jsonb_object_keys(v_rows || v_est) k order by k loop
		return next concat_ws('|', 'P', v_key, coalesce(v_rows ->> v_key, ''),
				      coalesce(v_est ->> v_key, ''));
	end loop;
	return next concat_ws('|', 'M', v_max, v_samples, case when v_done then 'done' else 'timeout' end);
end
$f$;
select * from pg_temp.sky_watch(:'cascade', string_to_array(:'tables', ','),
				string_to_array(:'counted', ','), :timeout, :interval);
SQL
	fi
	sky_bg "$name" "$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(sky_dsn "$node")" \
		-v cascade="$SKY_CASCADE" -v tables="$tables" -v counted="$counted" \
		-v timeout="$timeout" -v interval="${SKY_WATCH_INTERVAL:-0.02}" -f "$sql"
}

# sky_watch_wait NAME: wait for the watch NAME; fail when it could not run or timed out.
sky_watch_wait() {
	local name=$1 rc=0 out=$SKY_TMP/log/$1.out end
	sky_bg_wait "$name" || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$out" >&2
		sky_fail "the watch $name failed with status $rc (output above)"
	fi
	end=$(grep '^M|' "$out" || true)
	if [ "${end##*|}" != "done" ]; then
		cat "$out" >&2
		sky_fail "the watch $name ended before its tables were ok (${end:-no summary}; output above)"
	fi
	sky_ok "watch $name: every table ok ($(cut -d'|' -f3 <<<"$end") samples)"
}

# sky_watch_transitions NAME TABLE: the states TABLE went through, in order ("pending copying ok").
sky_watch_transitions() {
	awk -F'|' -v t="$2" '$1 == "S" && $3 == t { printf "%s%s", sep, $4; sep = " " } END { print "" }' \
		"$SKY_TMP/log/$1.out"
}

# sky_watch_first_ms NAME TABLE STATE: when TABLE was first seen in STATE ("" if never).
sky_watch_first_ms() {
	awk -F'|' -v t="$2" -v s="$3" '$1 == "S" && $3 == t && $4 == s { print $2; exit }' \
		"$SKY_TMP/log/$1.out"
}

# sky_watch_max_copying NAME: the most tables seen in state copying at once.
sky_watch_max_copying() { awk -F'|' '$1 == "M" { print $2 }' "$SKY_TMP/log/$1.out"; }

# sky_watch_max_rows NAME TABLE: the highest rows_copied seen while TABLE was copying ("" if none).
sky_watch_max_rows() { awk -F'|' -v t="$2" '$1 == "P" && $2 == t { print $3 }' "$SKY_TMP/log/$1.out"; }

# sky_watch_positions NAME TABLE: the copy positions seen (tick:N / snapshot:S), one a line.
sky_watch_positions() {
	awk -F'|' -v t="$2" '$1 == "S" && $3 == t && $7 != "" { print $7 }' "$SKY_TMP/log/$1.out"
}

# sky_watch_counts NAME TABLE: "state count" for each counted sample of TABLE, one a line.
sky_watch_counts() {
	awk -F'|' -v t="$2" '$1 == "C" && $3 == t { print $4, $5 }' "$SKY_TMP/log/$1.out"
}

# sky_watch_errors NAME: the copy errors seen ("table: error"), one a line.
sky_watch_errors() { awk -F'|' '$1 == "E" { print $3 ": " $4 }' "$SKY_TMP/log/$1.out"; }

# ---------------------------------------------------------------------------------------------
# who talks to whom

# sky_pids_connected NODE: pids of the processes on this host with a TCP connection to NODE's server
# (from ss; our own processes are always visible), one a line.
sky_pids_connected() {
	ss -Htnp state established "( dport = :$(sky_port "$1") )" 2>/dev/null |
		grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un || true
}

# sky_worker_pids NODE: the pid of NODE's worker and of its descendants (copy processes), one a line.
sky_worker_pids() {
	local pid=${SKY_WORKER_PID[$1]:-} todo=() p c
	[ -n "$pid" ] || return 0
	todo=("$pid")
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		echo "$p"
		for c in $(pgrep -P "$p" 2>/dev/null || true); do
			todo+=("$c")
		done
	done
}

# sky_copy_hold NODE: stop (SIGSTOP) NODE's copy processes, so that a copy in progress stays in
# progress, however fast it is, while the test acts on it; prints their pids (nothing when NODE's
# worker runs no copy). sky_copy_release PID...: let them go on (SIGCONT). Held processes are let
# go at the end of the test in any case: their pids are also written to $SKY_TMP/held.pids (the
# hold usually runs in a command substitution, whose variables the exit trap never sees).
sky_copy_hold() {
	local p held=()
	for p in $(sky_worker_pids "$1" | tail -n +2); do
		if kill -STOP "$p" 2>/dev/null; then
			held+=("$p")
			echo "$p" >>"$SKY_TMP/held.pids"
		fi
	done
	echo "${held[*]}"
}
sky_copy_release() {
	local p
	for p in "$@"; do
		kill -CONT "$p" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------------------------------------
# setup and teardown

_sky_on_exit() {
	local rc=$? name f errs
	set +eE
	trap - ERR
	if [ -f "$SKY_TMP/.timed_out" ]; then
		printf '[%s] FAIL: the test did not finish within %ss (SKY_TEST_TIMEOUT)\n' \
			"$SKY_TEST_NAME" "$SKY_TEST_TIMEOUT" >&2
		rc=1
	fi
	if [ -n "$SKY_TMP" ] && [ -f "$SKY_TMP/held.pids" ]; then
		# shellcheck disable=SC2046
		sky_copy_release $(sort -u "$SKY_TMP/held.pids")
	fi
	for name in "${!SKY_WORKER_PID[@]}"; do
		_sky_stop_pid "${SKY_WORKER_PID[$name]}" "worker for $name" 10
	done
	for f in "${SKY_RELEASED_PID[@]}"; do
		_sky_stop_pid "$f" "released worker" 10
	done
	for name in "${!SKY_BG_PID[@]}"; do
		_sky_stop_pid "${SKY_BG_PID[$name]}" "$name" 5
	done
	for name in "${!SKY_PGQD_PID[@]}"; do
		_sky_stop_pid "${SKY_PGQD_PID[$name]}" "pgqd for $name" 5
	done
	for name in "${SKY_NODES[@]}"; do
		if [ -f "$SKY_TMP/$name/data/postmaster.pid" ]; then
			# a server a test stopped (SIGSTOP) must run again to shut down
			f=$(head -n 1 "$SKY_TMP/$name/data/postmaster.pid" 2>/dev/null)
			if [ -n "$f" ]; then
				# shellcheck disable=SC2046
				kill -CONT "$f" $(pgrep -P "$f") 2>/dev/null || true
			fi
			sky_pg_stop "$name" immediate 2>/dev/null || true
		fi
		_sky_port_release "${SKY_PORT[$name]}"
	done
	if [ -n "$SKY_WATCHDOG_PID" ]; then
		kill -TERM "$SKY_WATCHDOG_PID" 2>/dev/null || true
		wait "$SKY_WATCHDOG_PID" 2>/dev/null || true
	fi
	if [ -z "$SKY_TMP" ]; then
		exit "$rc"
	fi
	if [ "$rc" = 0 ] && [ -z "${SKY_KEEP_TMP:-}" ]; then
		rm -rf "$SKY_TMP"
		printf '[%s] PASS (%ds)\n' "$SKY_TEST_NAME" "$((SECONDS - SKY_START_TIME))"
	else
		if [ "$rc" != 0 ]; then
			for f in "$SKY_TMP"/log/*.worker.log "$SKY_TMP"/log/*.pgqd.log; do
				[ -s "$f" ] || continue
				printf -- '----- last lines of %s\n' "$f" >&2
				tail -n 25 "$f" >&2
			done
			for f in "$SKY_TMP"/log/*.server.log; do
				errs=$(grep -E 'ERROR|FATAL|PANIC' "$f" 2>/dev/null | tail -n 15)
				[ -n "$errs" ] || continue
				printf -- '----- errors in %s\n%s\n' "$f" "$errs" >&2
			done
			printf '[%s] FAIL (exit %s, %ds); logs kept in %s\n' "$SKY_TEST_NAME" "$rc" \
				"$((SECONDS - SKY_START_TIME))" "$SKY_TMP" >&2
		else
			printf '[%s] PASS; files kept in %s (SKY_KEEP_TMP)\n' "$SKY_TEST_NAME" "$SKY_TMP"
		fi
	fi
	exit "$rc"
}

_sky_on_err() {
	local rc=$? line=$1 src=$2
	printf '[%s] FAIL: command failed with status %s at %s:%s: %s\n' "$SKY_TEST_NAME" "$rc" \
		"$src" "$line" "$BASH_COMMAND" >&2
}

_sky_init() {
	local lock
	[ -x "$SKY_PGBIN/initdb" ] || {
		echo "PostgreSQL 15 is not installed ($SKY_PGBIN); run .ci/deps.sh" >&2
		exit 1
	}
	command -v pgqd >/dev/null || {
		echo "pgqd is not installed; run .ci/deps.sh" >&2
		exit 1
	}
	if [ "$(id -u)" = 0 ]; then
		SKY_SERVER_USER=postgres
		id "$SKY_SERVER_USER" >/dev/null 2>&1 || {
			echo "running as root needs the 'postgres' OS user (package postgresql-15)" >&2
			exit 1
		}
	fi
	# The server user must reach the directory, so no $TMPDIR under a private home.
	SKY_TMP=$(mktemp -d "${SKY_TMPROOT:-/tmp}/skytest.$SKY_TEST_NAME.XXXXXX")
	chmod 755 "$SKY_TMP"
	mkdir -p "$SKY_TMP/log"
	if [ -n "$SKY_SERVER_USER" ]; then
		chown "$SKY_SERVER_USER" "$SKY_TMP" "$SKY_TMP/log"
	fi
	for lock in "$SKY_LOCK_DIR"/*; do
		[ ! -d "$lock" ] || _sky_port_reclaim "$lock" || true
	done
	trap _sky_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	trap '_sky_on_err "$LINENO" "${BASH_SOURCE[0]}"' ERR
	# The watchdog ends the test with SIGTERM, so the EXIT trap still cleans up even when the test
	# hangs (CTest's own timeout would SIGKILL us and leave servers behind).
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		exec >/dev/null 2>&1 </dev/null
		sleep "$SKY_TEST_TIMEOUT" &
		s=$!
		wait "$s"
		touch "$SKY_TMP/.timed_out"
		kill -TERM $$
		# bash runs the trap only when its foreground command ends: end that command (a child of
		# the test's shell, as is everything else it started; the EXIT trap stops the rest)
		for c in $(pgrep -P $$); do
			[ "$c" = "$BASHPID" ] || kill -TERM "$c" 2>/dev/null
		done
	) &
	SKY_WATCHDOG_PID=$!
	sky_log "temporary directory $SKY_TMP"
}

_sky_init

# sky_wait_all_tables_ok TIMEOUT NODE...: wait until every table registered on each NODE is ok
# (initial copies done and caught up); a node with no table registered does not count as done.
sky_wait_all_tables_ok() {
	local timeout=$1 node left start=$SECONDS
	shift
	for node in "$@"; do
		while :; do
			left=$(sky_psql "$node" -c "select case when count(*) = 0 then 'no table registered'
				else string_agg(table_name || ' ' || state, ', ') filter (where state <> 'ok') end
				from pgq_set.get_tables('$SKY_CASCADE')")
			[ -z "$left" ] && break
			sky_check_workers
			if ((SECONDS - start >= timeout)); then
				tail -n 20 "$SKY_TMP/log/$node.worker.log" >&2 2>/dev/null || true
				sky_fail "tables not ok on $node within ${timeout}s: $left"
			fi
			sleep 0.1
		done
	done
	sky_ok "every table is ok on $*"
}

# sky_replicate NODE...: pgqd and a worker on every NODE (the root first), then wait until the
# non-root NODEs have every table ok and have caught up with the root.
sky_replicate() {
	local n others=()
	sky_pgqd_start "$@"
	for n in "$@"; do
		sky_worker_start "$n"
		[ "$n" = "$SKY_ROOT" ] || others+=("$n")
	done
	sky_wait_all_tables_ok 120 "${others[@]}"
	sky_wait_caught_up "${others[@]}" 120
}

# sky_queue_rotation PERIOD NODE...: the cascade's queue on each NODE rotates its event tables
# every PERIOD (pgq.set_queue_config rotation_period; pgqd's maint_period here is 2 s). After a
# change to a long PERIOD, a rotation pgqd started before may still finish within maint_period.
sky_queue_rotation() {
	local period=$1 n
	shift
	for n in "$@"; do
		sky_psql "$n" -c "select pgq.set_queue_config('$SKY_CASCADE', 'rotation_period', '$period')" \
			>/dev/null
	done
}

# sky_assert_rotated SINCE NODE...: each NODE's queue switched its event table after SINCE (a
# timestamp of the root's clock, e.g. its now() right after sky_queue_rotation).
sky_assert_rotated() {
	local since=$1 n
	shift
	for n in "$@"; do
		sky_assert_eq "$(sky_psql "$n" -c "select queue_switch_time > '$since' from pgq.queue
			where queue_name = '$SKY_CASCADE'")" t "$n's queue rotated since $since"
	done
}
