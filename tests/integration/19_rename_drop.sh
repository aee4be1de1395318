#!/usr/bin/env bash
# 19: rename a branch and drop nodes, under load (DESIGN invariant 10; issue 14).
# root db1, branch db2 with leaf db3 under it, leaf db5 under the root.
# - rename: db2 becomes "mid" (renamed_from: db2; db3's provider is "mid"). The plan says
#   "~ mid: rename db2 -> mid", never a drop and a create; the first apply is killed after its
#   first step and the next finishes it. Everywhere the name was stored it is "mid" now (node
#   row, member rows, db3's provider, db1's subscriber row and PgQ consumer, at the same
#   position); db3 keeps replicating through it.
# - drop: db5 removed from the file is unregistered on db1 (no longer pins retention) and its
#   member rows go; removing "mid" while db3 still names it as provider is refused by the file
#   check (exit 1) and changes nothing.
# - at the end db1, mid and db3 hold the same rows; the counter equals the log rows.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3 db5)
TABLES=("${SKY_COUNTER_TABLES[@]}")
sky_counter_nodes "${NODES[@]}"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" "db5 leaf db1" -- "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3 db5
sky_pgbench_bg load db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 600 -R 100
sleep 2

sky_check "rename db2 -> mid"
# the database of db2 is now node "mid" of the file (same DSN)
sed -i 's/^  db2:$/  mid:/; s/provider: db2$/provider: mid/' "$TOPO"
sed -i '/^  mid:$/a\    renamed_from: db2' "$TOPO"
sed 's/^/  | /' "$TOPO"
SKY_PORT[mid]=${SKY_PORT[db2]}
pos_before=$(sky_psql db1 -c "select pgq_set.consumer_tick('app', 'db2') is not null")
sky_assert_eq "$pos_before" t "db1 has consumer db2"
sky_run dry-run-1 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the dry-run finds the rename"
sky_assert_contains "$SKY_OUT" "~ mid: rename db2 -> mid" "the plan renames"
if grep -qE '^[+-] ' "$SKY_OUT"; then
	sky_fail "a rename must not be planned as a drop and a create"
fi
SKY_RECONCILE_KILL_AFTER_STEP=1 sky_run apply-killed "$RECONCILE" -f "$TOPO"
[ "$SKY_RC" = 137 ] || sky_fail "the apply was to be killed after step 1 (exit $SKY_RC)"
sky_run apply "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "the next apply finishes the rename"
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do"
sky_assert_eq "$(sky_psql db2 -c "select node_name || ' ' || paused from pgq_set.get_node('app')")" "mid false" \
	"the node row says mid, not paused"
sky_assert_eq "$(sky_psql db3 -c "select provider_node from pgq_set.get_node('app')")" mid "db3's provider is mid"
for n in db1 db2 db3; do
	sky_assert_eq "$(sky_psql "$n" -c "select string_agg(node_name, ',' order by node_name) from pgq_set.member")" \
		"db1,db3,db5,mid" "member rows on $n"
done
sky_assert_eq "$(sky_psql db1 -c "select string_agg(node_name, ',' order by node_name) from pgq_set.subscriber")" \
	"db5,mid" "db1's subscribers"
sky_assert_eq "$(sky_psql db1 -c "select (pgq_set.consumer_tick('app', 'db2') is null) and (pgq_set.consumer_tick('app', 'mid') is not null)")" \
	t "db1's PgQ consumer is mid now"
sky_wait_caught_up db2 db3 db5 120

sky_check "drop the leaf db5"
sky_topology_write_nodes "$TOPO" "db1 root" "mid branch db1" "db3 leaf mid" -- "${TABLES[@]}"
sky_run dry-run-3 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the dry-run finds the drop"
sky_assert_contains "$SKY_OUT" "- db5: drop node" "the plan drops db5"
sky_worker_stop db5
sky_run drop "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "drop db5"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pgq_set.subscriber where node_name = 'db5'")" 0 "db1 forgot subscriber db5"
sky_assert_eq "$(sky_psql db1 -c "select pgq_set.consumer_tick('app', 'db5') is null")" t "db1 has no consumer db5"
for n in db1 db2 db3; do
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pgq_set.member where node_name = 'db5'")" 0 "no member db5 on $n"
done

sky_check "dropping mid while db3 still pulls from it is refused"
cp "$TOPO" "$SKY_TMP/good.yaml"
sky_topology_write_nodes "$TOPO" "db1 root" "db3 leaf mid" -- "${TABLES[@]}"
sky_run drop-refused "$RECONCILE" -f "$TOPO"
sky_expect_rc 1 "refused"
sky_assert_contains "$SKY_ERR" 'unknown provider "mid" for node "db3"' "the error names the provider"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pgq_set.subscriber where node_name = 'mid'")" 1 "mid is still registered on db1"
cp "$SKY_TMP/good.yaml" "$TOPO"

sky_pgbench_end load
sky_wait_caught_up db2 db3 120
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" db1 db2 db3
done
sky_counter_check db1 db2 db3
sky_check_workers
sky_ok "rename and drop under load"
