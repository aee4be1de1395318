# shellcheck shell=bash
# bench/lib/common.sh: logging, process bookkeeping and cleanup for the benchmarks.
#
# Sourced, not run. Everything a benchmark starts is recorded here (pids and data directories)
# and stopped by bench_cleanup, which drain.sh installs as its EXIT trap. Only recorded pids
# are ever signalled.

# the benchmarks reach only the instances they start: no connection settings from the environment
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD \
	PGPASSFILE PGSSLMODE || true

BENCH_PIDS=()		# background processes we started (pgqd, workers, watchers)
BENCH_PGDIRS=()		# data directories of PostgreSQL instances we started

bench_log() {
	printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

bench_die() {
	bench_log "error: $*"
	exit 1
}

# bench_start [TOOL...]: every TOOL is on PATH; the work directory $BENCH_DIR is made, and the
# EXIT trap (bench_cleanup) stops what the benchmark starts and removes it.
bench_start() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || bench_die "$t not found"
	done
	BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/skybench.XXXXXX")
	chmod 755 "$BENCH_DIR"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	bench_log "work directory $BENCH_DIR"
	# a nearly full file system slowed every write-heavy figure (docs/performance.md, stop 19)
	BENCH_DISK_USED=$(df --output=pcent "$BENCH_DIR" 2>/dev/null | tail -n 1 | tr -dc '0-9')
	if [ "${BENCH_DISK_USED:-0}" -ge 70 ]; then
		bench_log "warning: the file system of $BENCH_DIR is $BENCH_DISK_USED% full: figures" \
			"may be slower (kept skybench.* / skytest.* directories in ${TMPDIR:-/tmp}?)"
	fi
}

# bench_now: wall clock in seconds with nanoseconds, for timing
bench_now() {
	date +%s.%N
}

# bench_as_pg CMD...: run CMD as the postgres OS user when we are root (servers refuse root)
bench_as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# bench_track PID: remember a background process so that cleanup stops it
bench_track() {
	BENCH_PIDS+=("$1")
}

# bench_kill PID: stop one process we started (SIGINT, then SIGTERM, then SIGKILL) and forget it
bench_kill() {
	local pid=$1
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		sleep 0.5
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	bench_untrack "$pid"
}

# bench_untrack PID: forget a process that has ended
bench_untrack() {
	local keep=() p
	for p in "${BENCH_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BENCH_PIDS=("${keep[@]}")
}

# bench_run CMD...: run a long command so that a signal to this script is handled at once (bash
# runs traps only between foreground commands, but interrupts a wait); returns its status
bench_run() {
	local pid rc=0
	"$@" &
	pid=$!
	bench_track "$pid"
	wait "$pid" || rc=$?
	bench_untrack "$pid"
	return "$rc"
}

# bench_rss_peak PID: peak resident set size (VmHWM) of a live process, in kB
bench_rss_peak() {
	local k v _ hwm=0
	while read -r k v _; do
		[ "$k" = VmHWM: ] && hwm=$v
	done 2>/dev/null <"/proc/$1/status" || true
	echo "$hwm"
}

# bench_cleanup: stop everything recorded, remove the work directory unless BENCH_KEEP=1
bench_cleanup() {
	local pid d
	for pid in "${BENCH_PIDS[@]}"; do
		bench_kill "$pid"
	done
	for d in "${BENCH_PGDIRS[@]}"; do
		[ -f "$d/postmaster.pid" ] &&
			bench_as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$d" -m immediate -w stop \
				>/dev/null 2>&1
	done
	BENCH_PGDIRS=()
	for d in "${BENCH_PORT[@]}"; do
		bench_port_release "$d"
	done
	if [ -n "${BENCH_DIR:-}" ] && [ -d "$BENCH_DIR" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$BENCH_DIR"
	fi
}

# bench_median N...: median of the numbers given
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_cpu_ticks PID...: CPU time used by the processes and their reaped children, in clock
# ticks (utime + stime + cutime + cstime of /proc/PID/stat); gone processes count 0
bench_cpu_ticks() {
	local pid s total=0
	local -a f
	for pid in "$@"; do
		s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -ra f <<<"$s"
		total=$((total + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$total"
}
