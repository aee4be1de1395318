#!/usr/bin/env bash
# 21: failover (DESIGN invariant 9; issue 14) and fencing.
# root db1, branches db2 and db4, leaf db3 under db2. First a rehearsal: --dry-run
# --simulate-dead db1 prints the failover the policy would make (db2 preferred by priority) and
# changes nothing. Then, under a pgbench load on the root, db2's
# worker is stopped for a while so that db2 falls behind db4; then the root's server stops with
# -m immediate. The file marks db1 dead and names the lagging db2 as the root:
# - --dry-run names the failover, every survivor's last tick, the catch-up source (db4) and the
#   last surviving tick;
# - the apply is killed (SIGKILL, test hook) while db2 catches up from db4; the next apply
#   finishes: db2 reached db4's position before its promotion (the most advanced survivor's
#   data is kept), db4 re-attached under db2; db2, db3 and db4 are equal, counter = log rows;
#   the queues of db2 and db4 hold the same ticks, in order; db4's queue (and db1's) rotates its
#   event tables every second from the load on (db4 rotated meanwhile, checked);
# - db1 started again: the next reconcile fences it first thing; it refuses writes, takes no
#   ticks, its worker exits (fenced) and it is never a provider; everything the survivors hold
#   is on db1, and db1 holds exactly the lost transactions more (counted by the counter); its
#   queue came through the crash in order, its tick sequence past its last tick;
# - the load goes on on db2: serial keys continue past the keys of the lost transactions;
# - db1 rejoins as a branch under db2 (dead: true removed): its lost transactions are in the
#   JSON file named by the plan (as many as the counter says), then it is re-created, copied
#   from db2 and replicates (the rejoin is killed once right after the reset, and the next
#   apply creates it); all four nodes equal, the three queues hold the same ticks, and no server
#   logged a duplicate tick (pgq.tick's key) at any point.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3 db4)
TABLES=("${SKY_COUNTER_TABLES[@]}")
sky_counter_nodes "${NODES[@]}"
# ticket_no is owned by no column: it follows the root because the file lists it
SKY_TOPO_EXTRA='sequences: [public.ticket_no]'

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db4 branch db1" "db3 leaf db2" -- "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3 db4

sky_check "rehearsal: --simulate-dead db1 shows the failover the policy would make, changes nothing"
cp "$TOPO" "$SKY_TMP/plain.yaml"
printf 'failover:\n  candidates: {db2: 10}\n' >>"$TOPO"
# a tie at one tick: the root's ticker paused, both branches at its last tick
sky_wait_caught_up db2 db3 db4 60
sky_psql db1 -c "select pgq.set_queue_config('app', 'ticker_paused', 'true')" >/dev/null
last=$(sky_psql db1 -c "select max(tick_id) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	where q.queue_name = 'app'")
at_last() { [ "$(sky_node_tick db2)" = "$last" ] && [ "$(sky_node_tick db4)" = "$last" ]; }
sky_wait_for 30 "db2 and db4 at the root's last tick $last" at_last
sky_run simulate "$RECONCILE" -f "$TOPO" --dry-run --simulate-dead db1
sky_expect_rc 2 "a failover would happen"
sky_assert_contains "$SKY_OUT" "Simulated failover: root db1 dead (nothing is changed)" "the rehearsal says so"
sky_assert_contains "$SKY_OUT" "Decision: db2: the most advanced surviving branch" "db2 (priority 10) wins the tie with db4"
sky_assert_contains "$SKY_OUT" "~ db2: failover from db1 (dead)" "the plan of the proposed topology"
sky_assert_contains "$SKY_OUT" "~ db4: change provider db1 -> db2" "db4 would move under db2"
sky_assert_eq "$(sky_psql db1 -c "select node_role from pgq_set.get_node('app')")" root "db1 is still the root"
sky_run simulate-bad "$RECONCILE" -f "$TOPO" --dry-run --simulate-dead db2
sky_expect_rc 1 "simulating a branch's death is refused"
sky_assert_contains "$SKY_ERR" 'node "db2" is not the root of the topology (the root is db1)' "and says why"
sky_psql db1 -c "select pgq.set_queue_config('app', 'ticker_paused', 'false')" >/dev/null
cp "$SKY_TMP/plain.yaml" "$TOPO"

sky_check "db2 falls behind db4 under load, then the root dies"
# db4's and db1's queues rotate their event tables every second from now on: db4 must still hold
# what db2 lacks when db2 catches up from it (invariant 5, the watermark). Not db2's: as the new
# root it would delete the ticks db1 shares with it within seconds, and db1's rejoin below needs
# one of them (docs/operations.md, Rejoin)
sky_queue_rotation '1 second' db1 db4
ROTATION_FROM=$(sky_psql db1 -c "select now()")
sky_pgbench_bg load db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 60 -R 100
sleep 2
sky_worker_stop db2
sleep 3
sky_pg_stop db1 immediate
sky_bg_wait load || true
sky_worker_start db2
sleep 1
t2=$(sky_node_tick db2)
t4=$(sky_node_tick db4)
sky_log "last ticks: db2 $t2, db4 $t4"
((t2 < t4)) || sky_fail "db2 ($t2) was to be behind db4 ($t4)"

sky_check "the file: db1 dead, db2 the root"
sky_topology_write_nodes "$TOPO" "db1 root|dead: true" "db2 root" "db4 branch db2" "db3 leaf db2" -- "${TABLES[@]}"
sky_run dry-run "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the dry-run finds the failover"
sky_assert_contains "$SKY_OUT" "~ db2: failover from db1 (dead): survivors' last ticks: db2 $t2, db4 $t4; catch up db2 from db4 to tick $t4, promote db2" \
	"the plan names survivors, source and last surviving tick"
sky_assert_contains "$SKY_OUT" "~ db4: change provider db1 -> db2" "db4 re-attaches under db2"
SKY_RECONCILE_KILL_AFTER_STEP=2 sky_run killed "$RECONCILE" -f "$TOPO" -v
[ "$SKY_RC" = 137 ] || sky_fail "the apply was to be killed after step 2 (exit $SKY_RC)"
sky_run apply "$RECONCILE" -f "$TOPO" -v
sky_expect_rc 0 "the next apply finishes the failover"
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do (the dead root is unreachable, which is no problem)"
sky_assert_eq "$(sky_psql db2 -c "select node_role from pgq_set.get_node('app')")" root "db2 is the root"
sky_assert_eq "$(sky_psql db4 -c "select provider_node from pgq_set.get_node('app')")" db2 "db4 is under db2"
sky_assert_eq "$(sky_psql db2 -c "select dead from pgq_set.member where node_name = 'db1'")" t "db1 is marked dead on db2"
SKY_ROOT=db2
sky_wait_caught_up db3 db4 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" db2 db3 db4
done
n_surv=$(sky_psql db2 -c "select n from public.counter")
sky_assert_eq "$(sky_psql db2 -c "select count(*) from public.log")" "$n_surv" "counter equals log rows on the new root"
((n_surv > 0)) || sky_fail "nothing replicated"
sky_psql db2 -c "\\copy (select id, acct from public.log) to '$SKY_TMP/surv_log.txt'"
sky_assert_ticks_consistent db2 db4

sky_assert_rotated "$ROTATION_FROM" db4
sky_check "db1 comes back: fenced by the next reconcile"
sky_pg_start db1
sky_run fence "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile with db1 reachable"
sky_assert_contains "$SKY_OUT" "~ db1: fence (dead)" "db1 is fenced first thing"
# its exit is expected: no longer one of the workers that must stay alive (sky_check_workers)
w1=${SKY_WORKER_PID[db1]}
sky_worker_release db1
sky_wait_for 30 "db1's worker exits (fenced)" bash -c "! kill -0 $w1 2>/dev/null"
wait "$w1" 2>/dev/null || true
sky_assert_contains "$SKY_TMP/log/db1.worker.log" "is fenced" "the worker said why it stopped"
sky_assert_write_refused db1 "insert into public.log (acct) values (1)"
sky_assert_eq "$(sky_psql db1 -c "select queue_external_ticker and queue_disable_insert from pgq.queue where queue_name = 'app'")" \
	t "fenced db1's queue takes no ticks or events"
sky_log "db1's queue after the crash: $(sky_psql db1 -c "select 'last tick ' || max(t.tick_id) || ', tick sequence '
	|| pgq.seq_getval(q.queue_tick_seq) from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	where q.queue_name = 'app' group by q.queue_tick_seq")"
sky_assert_ticks_consistent db1
sky_counter_old_root db1 "$SKY_TMP/surv_log.txt" "$n_surv"
n_db1=$SKY_OLD_ROOT_N

sky_check "the load goes on on the new root"
sky_pgbench_bg load2 db2 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 4 -R 100
sky_bg_wait load2 || sky_fail "pgbench on the new root failed: $(tail -n 5 "$SKY_TMP/log/load2.out")"
sky_wait_caught_up db3 db4 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" db2 db3 db4
done
sky_assert_eq "$(sky_psql db2 -c "select (select n from public.counter) = (select count(*) from public.log)")" t \
	"counter equals log rows after the new load"
sky_run final "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "converged, db1 stays fenced"

sky_check "db1 rejoins as a branch under db2: its lost transactions in a JSON file, then it is copied afresh"
sky_topology_write_nodes "$TOPO" "db1 branch db2" "db2 root" "db4 branch db2" "db3 leaf db2" -- "${TABLES[@]}"
sky_run rejoin-plan "$RECONCILE" -f "$TOPO" --dry-run --lost-dir "$SKY_TMP"
sky_expect_rc 2 "the dry-run finds the rejoin"
LOST=$SKY_TMP/skycascade-lost-app-db1.json
sky_assert_contains "$SKY_OUT" "~ db1: rejoin under db2: write its lost transactions to $LOST, re-create it, copy its tables from db2" \
	"the plan names the file"
SKY_RECONCILE_KILL_AFTER_STEP=2 sky_run rejoin-killed "$RECONCILE" -f "$TOPO" --lost-dir "$SKY_TMP" -v
[ "$SKY_RC" = 137 ] || sky_fail "the rejoin was to be killed after step 2 (exit $SKY_RC)"
sky_assert_contains "$SKY_ERR" "killed after step 2 (db1: reset)" "killed right after the reset"
[ -s "$LOST" ] || sky_fail "no lost-transactions file $LOST after the interrupted rejoin"
sky_run rejoin "$RECONCILE" -f "$TOPO" --lost-dir "$SKY_TMP" -v
sky_expect_rc 0 "the next apply finishes the rejoin (db1 is created again under db2)"
sky_assert_contains "$SKY_OUT" "+ db1: create branch (provider db2)" "re-created as a branch"
[ ! -e "$LOST.1" ] || sky_fail "the re-run wrote a second lost-transactions file"
lost_txns=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['transactions'])" "$LOST")
sky_assert_eq "$lost_txns" "$((n_db1 - n_surv))" "the file lists exactly the transactions the survivors lack"
sky_assert_eq "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for e in d['events'] if e['table']=='public.counter'))" "$LOST")" \
	"$((n_db1 - n_surv))" "one counter update per lost transaction"
sky_worker_start db1
sky_wait_all_tables_ok 120 db1
sky_wait_caught_up db1 db3 db4 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_assert_eq "$(sky_psql db1 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"branch of db2" "db1 is a branch of db2"
sky_run final-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "converged after the rejoin"
sky_assert_ticks_consistent db1 db2 db4
if grep -n 'tick_pkey' "$SKY_TMP"/log/*.server.log "$SKY_TMP"/log/*.pgqd.log; then
	sky_fail "a duplicate tick id (pgq.tick's key) was logged (above)"
fi
sky_ok "no server and no pgqd logged a duplicate tick"
sky_check_workers
sky_ok "failover and rejoin"
