# shellcheck shell=bash
# shellcheck disable=SC2034  # SYS_PID and the like are read by drain.sh
# bench/lib/sys_skyworker.sh: skycascade: pgq_set on both instances, root on the source, branch
# on the target, set up by hand with the SQL API (docs/sql-api.md) so that the benchmark does not
# depend on skyreconcile; the branch's skyworker copies the tables once, is stopped, and then
# drains the backlog.
# Interface: see sys_native.sh.

SKY_CASCADE=app

skyworker_setup() {
	local src=$1 dst=$2 tick tick_time tick_seq n t
	[ -x "$SKYWORKER" ] || bench_die "skyworker binary not found (build it, or pass --skyworker PATH)"
	for n in "$src" "$dst"; do
		bench_psql "$n" -q -f "$SKY_ROOT/sql/install.sql" >/dev/null ||
			bench_die "pgq_set install failed on $n"
		bench_sql "$n" "select pgq_set.add_member('$SKY_CASCADE', 'root', '$(bench_dsn "$src")', false),
			pgq_set.add_member('$SKY_CASCADE', 'branch', '$(bench_dsn "$dst")', false)" >/dev/null
	done
	bench_sql "$src" "select pgq_set.create_root('$SKY_CASCADE', 'root')" >/dev/null
	IFS='|' read -r tick tick_time tick_seq < <(bench_sql "$src" "select tick_id, tick_time,
		tick_event_seq from pgq_set.register_subscriber('$SKY_CASCADE', 'branch')")
	[ -n "$tick" ] || bench_die "skyworker: register_subscriber returned nothing"
	if [ "${SKY_TARGET_ROLE:-branch}" = leaf ]; then
		bench_sql "$dst" "select pgq_set.create_leaf('$SKY_CASCADE', 'branch', 'root', $tick)" \
			>/dev/null
	else
		bench_sql "$dst" "select pgq_set.create_branch('$SKY_CASCADE', 'branch', 'root', $tick,
			'$tick_time', $tick_seq)" >/dev/null
	fi
	for n in "$src" "$dst"; do
		for t in "${BENCH_TABLES[@]}"; do
			bench_sql "$n" "select pgq_set.add_table('$SKY_CASCADE', 'public.$t')" >/dev/null
		done
	done
	bench_pgqd_start "$src"
	SKY_PGQD_SRC=$BENCH_LAST_PID
	bench_pgqd_start "$dst"
	SKY_PGQD_DST=$BENCH_LAST_PID

	# A branch's tables start 'pending': let the worker copy them (the initial copy of
	# docs/worker.md) and hand them over to 'ok', then stop it before the load. Forced ticks
	# give it the batch boundaries it needs without waiting for pgqd's idle period.
	skyworker_start "$src" "$dst"
	for _ in $(seq 1 600); do
		[ "$(bench_sql "$dst" "select count(*) filter (where state = 'ok') || '/' || count(*)
			from pgq_set.get_tables('$SKY_CASCADE')")" = "${#BENCH_TABLES[@]}/${#BENCH_TABLES[@]}" ] &&
			[ "$(bench_sql "$src" "select coalesce(sum(pending_events), -1)
				from pgq.get_consumer_info('$SKY_CASCADE', 'branch')")" = 0 ] && break
		kill -0 "$SKY_PID" 2>/dev/null || bench_die "skyworker: worker exited during the initial copy"
		bench_sql "$src" "select pgq.force_tick('$SKY_CASCADE')" >/dev/null
		sleep 0.2
	done
	bench_kill "$SKY_PID"
	[ "$(bench_sql "$dst" "select count(*) from pgq_set.get_tables('$SKY_CASCADE')
		where state = 'ok'")" = "${#BENCH_TABLES[@]}" ] ||
		bench_die "skyworker: branch tables not in sync after the initial copy"
}

skyworker_queued() {
	bench_pgq_wait_queued "$1" "$SKY_CASCADE"
}

skyworker_start() {
	# shellcheck disable=SC2086
	"$SKYWORKER" ${SKYWORKER_ARGS:-} "$(bench_dsn "$2")" >>"$BENCH_DIR/skyworker-branch.log" 2>&1 &
	SKY_PID=$!
	bench_track "$SKY_PID"
	SYS_PID=$SKY_PID
}

skyworker_stop() {
	bench_kill "$SKY_PID"
	bench_kill "$SKY_PGQD_SRC"
	bench_kill "$SKY_PGQD_DST"
}

skyworker_memtest_prepare() {
	bench_sql "$1" "select pgq.set_queue_config('$SKY_CASCADE', 'ticker_paused', 'true')" \
		>/dev/null
}

skyworker_memtest_release() {
	bench_sql "$1" "select pgq.set_queue_config('$SKY_CASCADE', 'ticker_paused', 'false')" \
		>/dev/null
}

skyworker_consumer() {
	echo "$SKY_CASCADE branch"
}

# skyleaf: the same worker with the target created as a leaf (no copy of the queue): the
# difference to skyworker is what the branch's queue copy costs.
skyleaf_setup() { SKY_TARGET_ROLE=leaf skyworker_setup "$@"; }
skyleaf_queued() { skyworker_queued "$@"; }
skyleaf_consumer() { skyworker_consumer "$@"; }
skyleaf_start() { skyworker_start "$@"; }
skyleaf_stop() { skyworker_stop "$@"; }
skyleaf_memtest_prepare() { skyworker_memtest_prepare "$@"; }
skyleaf_memtest_release() { skyworker_memtest_release "$@"; }
