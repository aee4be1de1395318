#!/usr/bin/env bash
# 09: a table listed in topology.yaml that does not exist on one node, without `create: true`.
# Root db1 -> branch db2 -> leaf db3; public.x exists on db1 and db2 but not on db3.
# - skyreconcile exits 1 and its error names the node and the table (node "db3", public.x);
# - everything else in the plan was applied: the three nodes exist, the other tables are registered
#   and replicate (data copied, then DML) on every node, and public.x on the root and the branch;
# - public.x is not registered on db3, and running the reconcile again gives the same error;
# - once public.x is created (empty) on db3, a reconcile exits 0 and db3 copies it from db2.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
OTHER=(public.small_t public.other_t)
ALL=(public.small_t public.x public.other_t)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.small_t (id int primary key, v text);
		create table public.other_t (k text primary key, n bigint not null)"
	if [ "$n" != db3 ]; then
		sky_psql "$n" -c "create table public.x (id int primary key, v text)"
	fi
done
sky_log "rows on the root only: the others receive them by the initial copy"
sky_psql db1 -c "insert into public.small_t select g, 'row ' || g from generate_series(1, 500) g;
	insert into public.other_t select 'k' || g, g from generate_series(1, 300) g;
	insert into public.x select g, md5(g::text) from generate_series(1, 1000) g"

TOPO=$SKY_TMP/topology.yaml
# public.x in the middle: the tables after it must not be held back by it
sky_topology_write "$TOPO" db1 db2 db3 "${ALL[@]}"

sky_check "skyreconcile with public.x missing on db3 exits 1 and names node and table"
sky_run reconcile-missing "$RECONCILE" -f "$TOPO"
sky_expect_rc 1 "reconcile with a table missing on the leaf"
cat "$SKY_OUT" "$SKY_ERR" >"$SKY_TMP/log/reconcile-missing.all"
sky_assert_contains "$SKY_TMP/log/reconcile-missing.all" 'node "db3"' "the error names the node"
sky_assert_contains "$SKY_TMP/log/reconcile-missing.all" "public.x" "the error names the table"
grep -E 'db3' "$SKY_TMP/log/reconcile-missing.all" | grep -qF 'public.x' ||
	sky_fail "no line of the output names both db3 and public.x"
sky_ok "one line names both db3 and public.x"

sky_check "the rest of the plan was applied"
sky_assert_eq "$(sky_psql db1 -c "select node_role from pgq_set.get_node('app')")" root "role of db1"
sky_assert_eq "$(sky_psql db2 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"branch of db1" "role of db2"
sky_assert_eq "$(sky_psql db3 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"leaf of db2" "role of db3"
registered() {
	sky_psql "$1" -c "select coalesce(string_agg(table_name, ' ' order by table_name), '')
		from pgq_set.get_tables('app')"
}
sky_assert_eq "$(registered db1)" "public.other_t public.small_t public.x" "tables registered on db1"
sky_assert_eq "$(registered db2)" "public.other_t public.small_t public.x" "tables registered on db2"
sky_assert_eq "$(registered db3)" "public.other_t public.small_t" "tables registered on db3"
sky_assert_eq "$(sky_table_state db1 public.x)" ok "state of public.x on the root"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger
	where tgrelid = 'public.x'::regclass and tgname like '\_sky\_app\_capture%'")" \
	"$(sky_psql db1 -c "select array_length(pgq_set.capture_kinds(), 1)")" \
	"capture triggers on the root's public.x (those of its body)"

sky_check "reconciling again gives the same error (and changes nothing else)"
sky_run reconcile-missing-2 "$RECONCILE" -f "$TOPO"
sky_expect_rc 1 "second reconcile with the table still missing"
cat "$SKY_OUT" "$SKY_ERR" >"$SKY_TMP/log/reconcile-missing-2.all"
sky_assert_contains "$SKY_TMP/log/reconcile-missing-2.all" 'node "db3"' "the error names the node again"
sky_assert_contains "$SKY_TMP/log/reconcile-missing-2.all" "public.x" "the error names the table again"

sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done

sky_check "the other tables are copied to branch and leaf, public.x to the branch"
sky_wait_tables_ok db2 90 "${ALL[@]}"
sky_wait_tables_ok db3 90 "${OTHER[@]}"
sky_log "DML on the root"
sky_psql db1 -c "update public.small_t set v = v || ' changed' where id % 3 = 0;
	delete from public.small_t where id % 10 = 7;
	insert into public.small_t select g, 'new ' || g from generate_series(501, 600) g;
	update public.other_t set n = n * 2 where n % 2 = 1;
	insert into public.x select g, 'x ' || g from generate_series(1001, 1100) g;
	update public.x set v = 'changed' where id <= 50"
sky_wait_caught_up db2 db3 120
for t in "${OTHER[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_assert_tables_equal public.x db1 db2
sky_assert_eq "$(sky_psql db3 -c "select count(*) from pg_class where oid = to_regclass('public.x')")" 0 \
	"public.x still does not exist on db3"
sky_assert_eq "$(sky_psql db3 -c "select coalesce(max(worker_error), '') from pgq_set.get_node('app')")" "" \
	"the leaf's worker records no error"

sky_check "after public.x is created on db3 the plan goes through and db3 copies it"
sky_psql db3 -c "create table public.x (id int primary key, v text)"
sky_run reconcile-fixed "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile once the table exists"
sky_wait_tables_ok db3 90 "${ALL[@]}"
sky_psql db1 -c "update public.x set v = 'after the fix' where id > 1050"
sky_wait_caught_up db2 db3 120
for t in "${ALL[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_run reconcile-dry-run "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "a dry-run finds nothing more to do"
sky_check_workers
