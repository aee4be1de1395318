# shellcheck shell=bash
# shellcheck disable=SC2034  # SYS_PID and the like are read by drain.sh
# bench/lib/sys_londiste.sh: londiste3 from Debian (python3-londiste + pgqd) as a peer.
# Root on the source, branch on the target, the three pgbench tables added with --expect-sync
# (both sides start from the same pgbench -i data). Default londiste settings throughout.
# Interface: see sys_native.sh.

LONDISTE_QUEUE=app

# londiste_ini NODE INSTANCE: write the ini of one londiste node, print its path
londiste_ini() {
	local node=$1 inst=$2 ini=$BENCH_DIR/londiste-$1.ini
	cat >"$ini" <<EOF
[londiste]
job_name = bench_$node
db = $(bench_dsn "$inst")
queue_name = $LONDISTE_QUEUE
logfile = $BENCH_DIR/londiste-$node.log
pidfile = $BENCH_DIR/londiste-$node.pid
loop_delay = 1.0
EOF
	echo "$ini"
}

londiste_run() {
	londiste "$@" >>"$BENCH_DIR/londiste-admin.log" 2>&1 ||
		bench_die "londiste $* failed (see $BENCH_DIR/londiste-admin.log)"
}

londiste_setup() {
	local src=$1 dst=$2 root branch pid
	root=$(londiste_ini root "$src")
	branch=$(londiste_ini branch "$dst")
	londiste_run "$root" create-root root "$(bench_dsn "$src")"
	londiste_run "$branch" create-branch branch "$(bench_dsn "$dst")" --provider="$(bench_dsn "$src")"
	# pgqd after the PgQ schema exists: it looks for databases with PgQ once a minute only
	bench_pgqd_start "$src"
	LONDISTE_PGQD_SRC=$BENCH_LAST_PID
	bench_pgqd_start "$dst"
	LONDISTE_PGQD_DST=$BENCH_LAST_PID
	londiste_run "$root" add-table "${BENCH_TABLES[@]}"
	londiste_run "$branch" add-table "${BENCH_TABLES[@]}" --expect-sync
	# one pass of the branch worker so that it has registered and settled its tables
	londiste -q "$branch" worker >>"$BENCH_DIR/londiste-branch.out" 2>&1 &
	pid=$!
	bench_track "$pid"
	for _ in $(seq 1 300); do
		[ "$(bench_sql "$dst" "select count(*) from londiste.get_table_list('$LONDISTE_QUEUE')
			where merge_state = 'ok'")" = "${#BENCH_TABLES[@]}" ] &&
			[ "$(bench_sql "$src" "select coalesce(sum(pending_events), -1)
				from pgq.get_consumer_info('$LONDISTE_QUEUE', 'bench_branch')")" = 0 ] && break
		sleep 0.2
	done
	bench_kill "$pid"
	[ "$(bench_sql "$dst" "select count(*) from londiste.get_table_list('$LONDISTE_QUEUE')
		where merge_state = 'ok'")" = "${#BENCH_TABLES[@]}" ] || bench_die "londiste: branch tables not in sync"
}

londiste_queued() {
	bench_pgq_wait_queued "$1" "$LONDISTE_QUEUE"
}

londiste_start() {
	londiste -q "$BENCH_DIR/londiste-branch.ini" worker >>"$BENCH_DIR/londiste-branch.out" 2>&1 &
	LONDISTE_PID=$!
	bench_track "$LONDISTE_PID"
	SYS_PID=$LONDISTE_PID
}

londiste_stop() {
	bench_kill "$LONDISTE_PID"
	bench_kill "$LONDISTE_PGQD_SRC"
	bench_kill "$LONDISTE_PGQD_DST"
}

# Memory test: hold back the root's ticker so that the whole load lands in one batch.
londiste_memtest_prepare() {
	bench_sql "$1" "select pgq.set_queue_config('$LONDISTE_QUEUE', 'ticker_paused', 'true')" \
		>/dev/null
}

londiste_memtest_release() {
	bench_sql "$1" "select pgq.set_queue_config('$LONDISTE_QUEUE', 'ticker_paused', 'false')" \
		>/dev/null
}

londiste_consumer() {
	echo "$LONDISTE_QUEUE bench_branch"
}
