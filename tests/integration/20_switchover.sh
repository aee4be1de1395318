#!/usr/bin/env bash
# 20: switchover under load and back (DESIGN invariant 8; issue 14).
# root db1, branch db2, leaf db3 under db2. A pgbench script writes on the root (each
# transaction: one account, the counter, one log row with a bigserial key).
# - the file makes db2 the root and db1 a branch under it: --dry-run names the steps; the apply
#   locks writers on db1 (pgbench there gets "writes are allowed only on the root"), makes a
#   final tick, waits for db2, promotes db2 and attaches db1 under it;
# - the load moves to db2: its bigserial keys continue above db1's (sequence positions carried
#   over), no duplicate key; pgqd ticks db2 now and db1 and db3 follow it;
# - back to db1 as the root with db2 becoming a leaf and db3 moving under db1 in the same edit,
#   the apply killed (SIGKILL, test hook) right after the promotion (both catalogs say root), the
#   next apply finishes it; db2 then refuses writes;
# - every node holds the same rows, the counter equals the log rows, event and tick ids of the
#   new root continue above the old root's;
# - db1's and db2's queues rotate their event tables every second throughout (db1's checked).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
TABLES=("${SKY_COUNTER_TABLES[@]}")
sky_counter_nodes "${NODES[@]}"
# ticket_no is owned by no column: it follows the root because the file lists it
SKY_TOPO_EXTRA='sequences: [public.ticket_no]'

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3
sky_pgbench_bg load1 db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 8 -R 100
sleep 3

# both queues rotate their event tables every second through both switchovers
sky_queue_rotation '1 second' db1 db2
ROTATION_FROM=$(sky_psql db1 -c "select now()")
sky_check "switchover db1 -> db2 under load"
sky_topology_write_nodes "$TOPO" "db2 root" "db1 branch db2" "db3 leaf db2" -- "${TABLES[@]}"
sky_run dry-run "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the dry-run finds the switchover"
sky_assert_contains "$SKY_OUT" "~ db2: switchover db1 -> db2: lock writers on db1, final tick, wait for db2, promote db2, attach db1 under db2" \
	"the plan names the steps"
max_before=$(sky_psql db1 -c "select max(id) from public.log")
sky_assert_eq "$(sky_psql db2 -c "select string_agg(seq_name, ',') from pgq_set.get_sequences('app')")" public.ticket_no \
	"the listed sequence is registered on the branch too"
sky_run switchover "$RECONCILE" -f "$TOPO" -v
sky_expect_rc 0 "switchover applied"
sky_bg_wait load1 || true
sky_assert_contains "$SKY_TMP/log/load1.out" "writes are allowed only on the root" \
	"the old root refused the load's writes after the lock"
sky_assert_eq "$(sky_psql db2 -c "select node_role from pgq_set.get_node('app')")" root "db2 is the root"
sky_assert_eq "$(sky_psql db1 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"branch of db2" "db1 is a branch of db2"
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do"
sky_assert_eq "$(sky_psql db2 -c "select count(*) from pgq_set.subscriber where node_name = 'db2'")" 0 "no self registration"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pgq_set.subscriber where node_name = 'db2'")" 0 "db1 no longer pins db2"

sky_check "the load goes on on db2: keys continue, nothing duplicated"
qid2=$(sky_psql db2 -c "select queue_id from pgq.queue where queue_name = 'app'")
ev_db1=$(sky_psql db1 -c "select max(ev_id) from pgq.event_$(sky_psql db1 -c "select queue_id from pgq.queue where queue_name = 'app'")")
tick_db1=$(sky_psql db1 -c "select max(tick_id) from pgq.tick")
t_switch=$(sky_psql db2 -c "select clock_timestamp()")
sky_pgbench_bg load2 db2 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 4 -R 100
sky_bg_wait load2 || sky_fail "pgbench on the new root failed: $(tail -n 5 "$SKY_TMP/log/load2.out")"
sky_assert_eq "$(sky_psql db2 -c "select min(id) > $max_before from public.log where id > $max_before")" t \
	"the new root's serial keys continue above the old root's"
sky_assert_eq "$(sky_psql db2 -c "select count(*) from public.ticket")" "$(sky_psql db2 -c "select n from public.counter")" \
	"tickets (a listed sequence no column owns) continued on the new root without a duplicate key"
SKY_ROOT=db2
sky_wait_caught_up db1 db3 120
sky_assert_eq "$(sky_psql db2 -c "select min(ev_id) > $ev_db1 from pgq.event_$qid2 where ev_time > '$t_switch'")" t \
	"the new root's event ids continue above the old root's ($ev_db1)"
sky_assert_eq "$(sky_psql db2 -c "select min(tick_id) > $tick_db1 from pgq.tick where tick_time > '$t_switch'")" t \
	"tick ids continue above the old root's ($tick_db1)"
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done

sky_check "back to db1 with db2 as a leaf (db3 moves under db1), the apply killed right after the promotion, then finished"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" "db3 leaf db1" -- "${TABLES[@]}"
sky_pgbench_bg load3 db2 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 6 -R 100
sleep 2
SKY_RECONCILE_KILL_AFTER_STEP=6 sky_run killed "$RECONCILE" -f "$TOPO"
[ "$SKY_RC" = 137 ] || sky_fail "the apply was to be killed after step 6 (exit $SKY_RC)"
sky_assert_contains "$SKY_ERR" "promoted to root" "killed right after the promotion"
sky_assert_eq "$(sky_psql db1 -c "select node_role from pgq_set.get_node('app')") $(sky_psql db2 -c "select node_role from pgq_set.get_node('app')")" \
	"root root" "both catalogs say root"
sky_run finish "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "the next apply finishes the switchover"
sky_assert_contains "$SKY_OUT" "~ db1: switchover db2 -> db1: lock writers on db2, final tick, wait for db1, promote db1, attach db2 under db1 as a leaf" "the same operation went on"
sky_assert_contains "$SKY_OUT" "~ db3: change provider db2 -> db1" "db3 moved under db1"
sky_assert_eq "$(sky_psql db2 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')") $(sky_psql db2 -c "select count(*) from pgq.queue")" \
	"leaf of db1 0" "db2 is a leaf of db1 without a queue"
sky_bg_wait load3 || true
sky_pgbench_bg load4 db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 3 -R 100
sky_bg_wait load4 || sky_fail "pgbench on db1 failed: $(tail -n 5 "$SKY_TMP/log/load4.out")"
if sky_psql db2 -c "insert into public.log (acct) values (1)" >/dev/null 2>&1; then
	sky_fail "db2 accepted an application write after it was demoted"
fi
sky_ok "db2 refuses application writes"
SKY_ROOT=db1
sky_wait_caught_up db2 db3 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_counter_check "${NODES[@]}"
sky_assert_rotated "$ROTATION_FROM" db1 # db2 is a leaf now, without a queue
sky_check_workers
sky_ok "switchover and back under load"
