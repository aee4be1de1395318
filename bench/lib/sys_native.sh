# shellcheck shell=bash
# shellcheck disable=SC2034  # SYS_PID and the like are read by drain.sh
# bench/lib/sys_native.sh: PostgreSQL native logical replication as a peer (publication on the
# source, subscription with copy_data = false on the target; the backlog builds up in the slot
# while the subscription is disabled).
#
# Every system file defines the same five functions, called by drain.sh with the source and
# target instance names:
#   SYS_setup SRC DST      replication configured and idle, consumer stopped
#   SYS_queued SRC DST     after the load: wait until the backlog is fully queued
#   SYS_consumer           (PgQ systems) "QUEUE CONSUMER" of the target on the source
#   SYS_start SRC DST      start the consumer; set SYS_PID to the pid whose memory is measured
#                          ("" if none; not printed, so that the caller's bookkeeping sees it)
#   SYS_stop SRC DST       stop the consumer
#   SYS_memtest_prepare / SYS_memtest_release (PgQ systems only): hold back / resume ticking

native_setup() {
	local src=$1 dst=$2
	bench_sql "$src" "create publication bench_pub
		for table $(IFS=,; echo "${BENCH_TABLES[*]}")"
	bench_sql "$dst" "create subscription bench_sub connection '$(bench_dsn "$src")'
		publication bench_pub with (copy_data = false)"
	for _ in $(seq 1 300); do
		[ "$(bench_sql "$src" "select count(*) from pg_stat_replication
			where application_name = 'bench_sub' and state = 'streaming'")" = 1 ] && break
		sleep 0.1
	done
	bench_sql "$dst" "alter subscription bench_sub disable"
	NATIVE_DISABLED_AT=$SECONDS
	for _ in $(seq 1 300); do
		[ "$(bench_sql "$src" "select active from pg_replication_slots
			where slot_name = 'bench_sub'")" = f ] && return 0
		sleep 0.1
	done
	bench_die "native: subscription did not stop"
}

# The slot holds every change since it was disabled. The launcher starts an apply worker at most
# once per wal_retrieve_retry_interval (5 s): let that pass so that the restart is not delayed
# (only matters for tiny backlogs, a 160,000-event load takes longer than that).
native_queued() {
	while [ $((SECONDS - NATIVE_DISABLED_AT)) -lt 6 ]; do
		sleep 0.5
	done
}

native_start() {
	bench_sql "$2" "alter subscription bench_sub enable"
	SYS_PID=
}

native_stop() {
	bench_sql "$2" "alter subscription bench_sub disable" >/dev/null
}

# The bulk (memory) test on native replication: the backlog is in the slot anyway, nothing to hold.
native_memtest_prepare() {
	:
}

native_memtest_release() {
	:
}
