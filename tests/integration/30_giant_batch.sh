#!/usr/bin/env bash
# 30: one giant batch after a ticker outage (issue 13): bounded worker memory and exactly-once
# through a kill -9 while a pipelined apply is in flight.
# Root db1 -> branch db2 -> leaf db3, the counter workload (sky_counter_nodes). The root's pgqd is
# stopped (a ticker outage) while pgbench and a few bulk transactions queue hundreds of thousands
# of events (an hour's outage simulated by volume); pgqd comes back and its first tick closes ONE
# batch holding all of them (checked on the root's queue).
# - The branch worker, stopped with SIGTERM in the middle of the batch, rolls it back and exits 0.
# - The branch worker is started with the test hook SKY_WORKER_KILL_AFTER_CHUNKS: it SIGKILLs
#   itself right after sending its Nth chunk, while that chunk's statements run on db2 and the
#   next FETCH runs on db1. Nothing of the batch is visible on db2 afterwards (same tick, same
#   rows).
# - A worker started again applies the batch; so does the leaf's. The peak RSS (VmHWM) of both
#   stays within 32 MB, all tables are md5-equal on the three nodes and the counter equals the
#   log and ticket rows everywhere (nothing lost or applied twice).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
TABLES=("${SKY_COUNTER_TABLES[@]}")
BULKS=${SKY_GIANT_BULKS:-2}          # bulk transactions of BULK_ROWS log + ticket rows each
BULK_ROWS=${SKY_GIANT_BULK_ROWS:-100000}
PGBENCH_TX=${SKY_GIANT_TX:-1000}    # per client, 4 clients, 4 events per transaction
KILL_AFTER=${SKY_GIANT_KILL_AFTER:-8} # chunks of --fetch-size events (default 10,000)
MAX_RSS_KB=$((32 * 1024))
# a sanitizer build (SKY_BUILD_DIR=build-asan) has shadow memory: its RSS is reported, not checked
SANITIZED=0
case "$(ldd "$(sky_worker_bin)" 2>/dev/null || true)" in *libasan* | *libtsan*) SANITIZED=1 ;; esac

sky_counter_nodes "${NODES[@]}"
TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3
sky_wait_caught_up db2 db3 60

# the root's newest tick and the queue's event table (all of its rotation children)
queue_sql="from pgq.queue where queue_name = '$SKY_CASCADE'"
newest_tick() {
	sky_psql db1 -c "select max(tick_id) from pgq.tick where tick_queue = (select queue_id $queue_sql)"
}

sky_check "ticker outage on the root: pgqd stopped while $BULKS bulk transactions and pgbench queue the backlog"
sky_pgqd_stop db1
sky_worker_stop db2
t0=$(newest_tick)
sky_pgbench_bg load db1 -n -f "$SKY_TMP/load.sql" -c 4 -j 2 -t "$PGBENCH_TX"
for ((b = 0; b < BULKS; b++)); do
	sky_psql db1 <<SQL >/dev/null
begin;
insert into public.log (acct) select g % 10000 + 1 from generate_series(1, $BULK_ROWS) g;
insert into public.ticket (acct) select g % 10000 + 1 from generate_series(1, $BULK_ROWS) g;
update public.acct set balance = balance + 1;
update public.counter set n = n + $BULK_ROWS where id = 1;
commit;
SQL
done
sky_bg_wait load || sky_fail "pgbench on the root failed (see $SKY_TMP/log/load.out)"
sky_assert_eq "$(newest_tick)" "$t0" "no tick during the outage"

sky_pgqd_start db1
ticked() { [ "$(newest_tick)" -gt "$t0" ]; }
sky_wait_for 30 "pgqd ticks the root again" ticked
t1=$(newest_tick)
sky_assert_eq "$t1" "$((t0 + 1))" "one tick closes the outage"
events=$(sky_psql db1 -c "select count(*) from pgq.event_$(sky_psql db1 -c "select queue_id $queue_sql") e,
	pgq.tick a, pgq.tick b
	where a.tick_queue = b.tick_queue and a.tick_id = $t0 and b.tick_id = $t1
	and a.tick_queue = (select queue_id $queue_sql)
	and txid_visible_in_snapshot(e.ev_txid, b.tick_snapshot)
	and not txid_visible_in_snapshot(e.ev_txid, a.tick_snapshot)")
want=$((BULKS * (2 * BULK_ROWS + 10001) + 4 * 4 * PGBENCH_TX))
((events >= want)) || sky_fail "batch ($t0, $t1] holds $events events, expected at least $want"
sky_ok "batch ($t0, $t1] holds $events events"

before=$(sky_psql db2 -c "select (select count(*) from public.log) || ' ' || (select n from public.counter)")
sky_check "SIGTERM of the branch worker in the middle of the giant batch: rolled back, exit 0"
starts=$(grep -c "started as branch" "$SKY_TMP/log/db2.worker.log" || true)
started() { (($(grep -c "started as branch" "$SKY_TMP/log/db2.worker.log" || true) > starts)); }
# in the batch: the worker's session on db2 has a transaction id (the queue copy writes at once)
in_batch() {
	[ "$(sky_psql db2 -c "select count(*) from pg_stat_activity
		where application_name = 'skyworker' and backend_xid is not null")" = 1 ]
}
sky_worker_start db2
sky_wait_for 30 "the branch worker started" started
sky_wait_for 30 "the branch worker is in the batch" in_batch
sleep 0.2
sky_worker_stop db2
[ "$SKY_STOP_RC" = 0 ] || sky_fail "the branch worker exited with status $SKY_STOP_RC after SIGTERM"
if grep -q "stopping: batch rolled back" "$SKY_TMP/log/db2.worker.log"; then
	sky_ok "the worker stopped in the middle of the batch and rolled it back"
fi
sky_assert_eq "$(sky_node_tick db2)" "$t0" "db2 is still at tick $t0"

sky_check "kill -9 of the branch worker with chunk $KILL_AFTER of the giant batch in flight"
export SKY_WORKER_KILL_AFTER_CHUNKS=$KILL_AFTER
sky_worker_start db2
unset SKY_WORKER_KILL_AFTER_CHUNKS
pid=${SKY_WORKER_PID[db2]}
deadline=$((SECONDS + 120))
while _sky_own_pid "$pid" && ((SECONDS < deadline)); do
	sleep 0.1
done
rc=0
wait "$pid" 2>/dev/null || rc=$?
sky_worker_release db2
((rc == 137)) || sky_fail "the branch worker ended with status $rc, not SIGKILL (137)"
sky_assert_contains "$SKY_TMP/log/db2.worker.log" "test hook: SIGKILL with chunk $KILL_AFTER in flight" \
	"the worker killed itself with a chunk in flight"
sky_assert_eq "$(sky_node_tick db2)" "$t0" "db2 is still at tick $t0"
sky_assert_eq "$(sky_psql db2 -c "select (select count(*) from public.log) || ' ' || (select n from public.counter)")" \
	"$before" "nothing of the batch is visible on db2"

sky_check "the branch and leaf workers apply the giant batch within $((MAX_RSS_KB / 1024)) MB of peak RSS"
sky_worker_start db2
sky_wait_caught_up db2 db3 120
for n in db2 db3; do
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/${SKY_WORKER_PID[$n]}/status")
	((hwm <= MAX_RSS_KB || SANITIZED)) || sky_fail "the worker of $n peaked at $hwm kB (limit $MAX_RSS_KB kB)"
	sky_ok "the worker of $n peaked at $((hwm / 1024)) MB (VmHWM $hwm kB) for $events events"
done
sky_counter_check "${NODES[@]}"
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_assert_queue_matches db1 db2
sky_check_workers
