#!/usr/bin/env bash
# 02: exactly-once under crashes. Root db1 -> branch db2 -> leaf db3; pgbench on the root runs the
# tpcb-like updates plus "update counter set n = n + 1" for a bounded number of transactions while
# the branch and leaf workers are killed with SIGKILL at random moments (at least 20 times, each
# restarted at once) and the leaf worker is also stopped for a while; the root's and the branch's
# queues rotate their event tables every second meanwhile. At the end the counter on every node
# equals the number of transactions pgbench committed, all tables are equal, and the branch's
# queue holds the root's events in every tick both still have.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
TABLES=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers public.counter)
MIN_KILLS=${SKY_MIN_KILLS:-20}
CLIENTS=4
PER_CLIENT=${SKY_CRASH_TX:-1500}
RATE=${SKY_CRASH_RATE:-250} # transactions per second: pgbench runs about CLIENTS*PER_CLIENT/RATE s

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_pgbench "$n" -i -s 1 -q >"$SKY_TMP/log/$n.pgbench-init.log" 2>&1 ||
		sky_fail "pgbench -i on $n failed (see $SKY_TMP/log/$n.pgbench-init.log)"
	sky_psql "$n" -c "create table public.counter (id int primary key, n bigint not null);
		insert into public.counter values (1, 0), (2, 0)"
done

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 "${TABLES[@]}"
sky_run reconcile-apply "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"

sky_replicate "${NODES[@]}"
# the root's and the branch's event tables rotate under the kills too (test 33 without kills)
sky_queue_rotation '1 second' db1 db2
ROTATION_FROM=$(sky_psql db1 -c "select now()")

cat >"$SKY_TMP/crash.pgbench" <<'EOF'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
UPDATE counter SET n = n + 1 WHERE id = 1;
END;
EOF

sky_check "SIGKILL the branch and leaf workers at random moments while pgbench runs ($CLIENTS x $PER_CLIENT transactions at $RATE/s)"
sky_pgbench_bg pgbench db1 -n -s 1 -c "$CLIENTS" -j 2 -t "$PER_CLIENT" -R "$RATE" -f "$SKY_TMP/crash.pgbench"

# random pause of 0.2 to 1.5 s
pause() {
	local ms=$((200 + RANDOM % 1301))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

kills=0
declare -A killed=([db2]=0 [db3]=0)
during_pgbench=0
leaf_stop=$((MIN_KILLS / 3)) # after this many kills the leaf worker is stopped ...
leaf_state=running           # running -> stopped -> restarted
leaf_tick=0
stopped_kills=0
while :; do
	pgbench_running=0
	sky_bg_running pgbench && pgbench_running=1
	if ((kills >= MIN_KILLS && pgbench_running == 0)) && [ "$leaf_state" != stopped ]; then
		break
	fi
	pause
	# branch and leaf in turn (the moments are random), only the branch while the leaf is stopped
	if [ "$leaf_state" = stopped ] || ((killed[db2] <= killed[db3])); then
		node=db2
	else
		node=db3
	fi
	sky_worker_kill9 "$node"
	sky_worker_start "$node"
	kills=$((kills + 1))
	killed[$node]=$((killed[$node] + 1))
	during_pgbench=$((during_pgbench + pgbench_running))

	if [ "$leaf_state" = running ] && ((kills >= leaf_stop)); then
		sky_worker_stop db3
		leaf_state=stopped
		leaf_tick=$(sky_node_tick db3)
		sky_log "leaf worker stopped at tick $leaf_tick (after $kills kills)"
	elif [ "$leaf_state" = stopped ]; then
		# ... until the branch is 5 ticks ahead of it and was killed 4 times meanwhile (or the load
		# is over), then started again
		branch_tick=$(sky_node_tick db2)
		stopped_kills=$((stopped_kills + 1))
		if (((branch_tick >= leaf_tick + 5 && stopped_kills >= 4) || pgbench_running == 0)); then
			sky_assert_eq "$(sky_node_tick db3)" "$leaf_tick" "the stopped leaf did not move"
			sky_worker_start db3
			leaf_state=restarted
			sky_log "leaf worker started again, branch at tick $branch_tick"
		fi
	fi
done
sky_log "killed the workers $kills times (branch ${killed[db2]}, leaf ${killed[db3]}), $during_pgbench of them while pgbench ran"
((kills >= MIN_KILLS)) || sky_fail "only $kills kills"
((killed[db2] >= 3 && killed[db3] >= 3)) ||
	sky_fail "each worker must be killed several times (branch ${killed[db2]}, leaf ${killed[db3]})"
[ "$leaf_state" = restarted ] || sky_fail "the leaf worker was never stopped and restarted"

rc=0
sky_bg_wait pgbench || rc=$?
sed 's/^/  [pgbench] /' "$SKY_TMP/log/pgbench.out"
[ "$rc" = 0 ] || sky_fail "pgbench on the root failed with status $rc"
committed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$SKY_TMP/log/pgbench.out")
if [ -z "$committed" ] || ((committed == 0)); then
	sky_fail "no committed transactions in pgbench's output"
fi
sky_ok "pgbench committed $committed transactions"

sky_wait_caught_up db2 db3 300
sky_check "the counter equals the committed transactions on every node"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_psql "$n" -c "select n from public.counter where id = 1")" "$committed" \
		"counter on $n"
done
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done

# the batches' debug lines: "batch ID (PREV, CUR]: N events ..." (worker -v)
spans() { grep -o 'batch [0-9]* ([0-9]*, [0-9]*\]: [0-9]* events' "$SKY_TMP/log/$1.worker.log" |
	awk -F'[(,\\]]' '$3 - $2 > 1' | wc -l; }
sky_check "the leaf took waiting ticks as batches of several ticks; the branch kept every tick"
leaf_spans=$(spans db3)
sky_log "leaf batches spanning several ticks: $leaf_spans"
((leaf_spans > 0)) || sky_fail "no leaf batch spanned more than one tick"
sky_assert_eq "$(spans db2)" 0 "branch batches spanning more than one tick"
sky_check "the branch's queue holds the root's events tick by tick, after every kill"
sky_queue_rotation '1 hour' db1 db2
sleep 3 # a rotation pgqd started before (maint_period 2 s) is over
sky_assert_rotated "$ROTATION_FROM" db1 db2
sky_assert_queue_matches db1 db2
sky_check_workers
