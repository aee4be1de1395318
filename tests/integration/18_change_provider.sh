#!/usr/bin/env bash
# 18: change provider under load (DESIGN invariants 5, 6; issue 14).
# root db1 with branches db2 and db4, leaf db3 under db2. While a pgbench script writes on the
# root (each transaction: one account, the counter, one log row):
# - paused: true on db2 in the file: the apply waits for the worker's acknowledgement; db2 and
#   its leaf stall while the root moves on; paused: false resumes and both catch up;
# - the leaf moves db2 -> db4 -> db1 by edits of topology.yaml:
# - --dry-run names the operation and its steps (exit 2) and changes nothing;
# - the first apply is killed (SIGKILL, test hook) right after the new provider registered the
#   leaf; the next apply finishes it (exit 0) and a dry-run then finds nothing to do;
# - the old provider stops pinning the leaf (no subscriber row, no PgQ consumer);
# - at the end every node holds the root's rows (md5) and the counter equals the number of log
#   rows: nothing lost, nothing applied twice;
# - every queue (root, both branches) rotates its event tables every second throughout (each
#   rotated at least once, checked): the leaf's position survives on each provider it moves to.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3 db4)
TABLES=("${SKY_COUNTER_TABLES[@]}")
sky_counter_nodes "${NODES[@]}"

TOPO=$SKY_TMP/topology.yaml
topo() { sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1${2:-}" "db4 branch db1" "db3 leaf $1" -- "${TABLES[@]}"; }
topo db2
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3 db4
# every queue rotates its event tables every second: the leaf's position must survive its moves
# on whichever provider it goes to (invariant 5, the watermark)
sky_queue_rotation '1 second' db1 db2 db4
ROTATION_FROM=$(sky_psql db1 -c "select now()")
sky_pgbench_bg load db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 600 -R 100

subscribed() { # PROVIDER NODE: "subscriber consumer" counts of NODE on PROVIDER
	sky_psql "$1" -c "select (select count(*) from pgq_set.subscriber where node_name = '$2')
		|| ' ' || (pgq_set.consumer_tick('$SKY_CASCADE', '$2') is not null)"
}

sleep 2
sky_check "pause the branch db2 by the file: its worker acknowledges, db2 and its leaf db3 stall, then resume"
topo db2 "|paused: true"
sky_run pause "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "pause applied"
sky_assert_contains "$SKY_OUT" "~ db2: pause: the worker stops between batches and acknowledges ... done" "the plan paused db2"
sky_assert_eq "$(sky_psql db2 -c "select paused and paused_ack from pgq_set.get_node('app')")" t \
	"db2 is paused and its worker acknowledged (the apply waited for it)"
p2=$(sky_node_tick db2)
p3=$(sky_node_tick db3)
r1=$(sky_root_tick_containing_now)
sleep 2
r2=$(sky_root_tick_containing_now)
sky_assert_eq "$(sky_node_tick db2) $(sky_node_tick db3)" "$p2 $p3" "db2 and db3 stay at ticks $p2 / $p3 while the root moved $r1 -> $r2"
((r2 > r1)) || sky_fail "the root did not tick"
topo db2
sky_run resume "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "resume applied"
sky_assert_contains "$SKY_OUT" "~ db2: resume ... done" "the plan resumed db2"
sky_wait_caught_up db2 db3 db4 120

sky_check "move the leaf db3 from db2 to db4: dry-run first"
topo db4
sky_run dry-run-1 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the dry-run finds a change"
sky_assert_contains "$SKY_OUT" "~ db3: change provider db2 -> db4: pause, register on db4 at its own tick, switch, resume, unregister from db2" \
	"the plan names the operation and its steps"
sky_assert_eq "$(sky_psql db3 -c "select provider_node || ' ' || paused from pgq_set.get_node('app')")" \
	"db2 false" "the dry-run changed nothing on db3"

sky_check "apply, killed right after db4 registered db3 (step 2), then applied again"
SKY_RECONCILE_KILL_AFTER_STEP=2 sky_run apply-killed "$RECONCILE" -f "$TOPO" -v
[ "$SKY_RC" = 137 ] || sky_fail "the apply was to be killed after step 2 (exit $SKY_RC)"
sky_assert_contains "$SKY_ERR" "killed after step 2" "the test hook stopped the apply after step 2"
sky_assert_eq "$(subscribed db4 db3)" "1 true" "db4 has db3 registered after the interrupted run"
sky_assert_eq "$(sky_psql db3 -c "select provider_node || ' ' || paused from pgq_set.get_node('app')")" \
	"db2 true" "db3 is still paused under db2"
sky_run apply-rerun "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "the second apply finishes the change"
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do"
sky_assert_eq "$(sky_psql db3 -c "select provider_node || ' ' || paused from pgq_set.get_node('app')")" \
	"db4 false" "db3 pulls from db4, not paused"
sky_assert_eq "$(subscribed db2 db3)" "0 false" "db2 no longer pins db3"
sky_wait_caught_up db2 db3 db4 120

sky_check "move db3 again, from db4 to the root db1"
sleep 2
topo db1
sky_run apply-2 "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "apply"
sky_assert_contains "$SKY_OUT" "~ db3: change provider db4 -> db1" "the apply says what it did"
sky_assert_eq "$(subscribed db1 db3)" "1 true" "db1 has db3 registered"
sky_assert_eq "$(subscribed db4 db3)" "0 false" "db4 no longer pins db3"

over_1000() { (($(sky_psql db1 -c "select count(*) from public.log") > 1000)); }
sky_wait_for 60 "the load wrote over 1000 transactions" over_1000
sky_pgbench_end load
sky_wait_caught_up db2 db3 db4 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_counter_check "${NODES[@]}"
sky_assert_eq "$(sky_psql db1 -c "select count(*) > 1000 from public.log")" t "the load wrote over 1000 transactions"
sky_assert_rotated "$ROTATION_FROM" db1 db2 db4
sky_check_workers
sky_ok "change provider under load"
