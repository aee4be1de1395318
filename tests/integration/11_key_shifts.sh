#!/usr/bin/env bash
# 11: primary keys that change in bulk, deferrable primary keys and keys with INCLUDE columns.
# - a deferrable primary key is refused by add_table on every node, with its own SQLSTATE (SK001)
#   and a message naming the table (skyreconcile exits 1 and shows it, like "has no primary key");
#   the table is registered nowhere. A deferrable key lets one statement re-use a key before its
#   row moved (the per-row capture then loses rows on the leaf) and cannot arbitrate the worker's
#   ON CONFLICT.
# - a primary key with INCLUDE columns is refused the same way (SK005): PgQ's logutriga would list
#   those columns in the event's key and refuse an UPDATE of one as a key change on the root.
# - a table whose key is ordinary on the root but deferrable on the leaf is refused on the leaf
#   only; the rest of the cascade replicates; once the leaf's key is made ordinary it is copied.
# - with an ordinary (immediately checked) key, multi-row key shifts replicate exactly: id + 1 on
#   rows stored in descending order, id - 1 on rows stored in ascending order, id + 100, a swap
#   through a temporary value, a shift that fails on the root (rolled back, nothing replicated),
#   shifts mixed with other updates and deletes in one transaction; on a table with only the key
#   (the worker's upsert) and one with a second unique column (delete + insert). Leaf = root.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
TABLES=(public.shift_a public.shift_u public.shift_asc)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" <<'SQL'
create table public.dpk1 (id int primary key deferrable, v text);
create table public.dpk2 (id int primary key deferrable initially deferred, v text unique);
insert into public.dpk2 values (1, 'a'), (2, 'b'), (3, 'c');
create table public.shift_a (id int primary key, v text);
create table public.shift_u (id int primary key, v text unique, w int);
create table public.shift_asc (id int primary key, v text);
create table public.dpk_leaf (id int primary key, v text);
create table public.ipk (v text, id int, primary key (id) include (v));
SQL
done
# stored in descending key order: "id = id + 1" visits the highest key first and succeeds
sky_psql db1 <<'SQL'
insert into public.shift_a select g, 'a' || g from generate_series(50, 1, -1) g;
insert into public.shift_u select g, 'u' || g, g from generate_series(50, 1, -1) g;
insert into public.shift_asc select g, 's' || g from generate_series(1, 50) g;
insert into public.dpk_leaf select g, 'l' || g from generate_series(1, 10) g;
SQL
sky_psql db3 -c "alter table public.dpk_leaf drop constraint dpk_leaf_pkey,
	add primary key (id) deferrable"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_check "add_table refuses a deferrable primary key with SQLSTATE SK001"
out=$(sky_psql db1 -v VERBOSITY=verbose -c "select pgq_set.add_table('app', 'public.dpk1')" 2>&1) &&
	sky_fail "add_table accepted public.dpk1 (deferrable primary key) on the root: $out"
case $out in
*SK001*'table "public.dpk1" has a deferrable primary key'*) sky_ok "refused on the root: ${out//$'\n'/ }" ;;
*) sky_fail "unexpected refusal of public.dpk1: $out" ;;
esac

# refused NAME TABLE REASON: the file with TABLE added makes skyreconcile exit 1 with an error that
# names TABLE and says REASON, and TABLE is registered nowhere
refused() {
	local name=$1 table=$2 reason=$3 all n
	sky_topology_write "$SKY_TMP/topology-$name.yaml" db1 db2 db3 "${TABLES[@]}" "$table"
	sky_run "reconcile-$name" "$RECONCILE" -f "$SKY_TMP/topology-$name.yaml"
	sky_expect_rc 1 "reconcile with $table"
	all=$SKY_TMP/log/reconcile-$name.all
	cat "$SKY_OUT" "$SKY_ERR" >"$all"
	sky_assert_contains "$all" "table \"$table\" $reason" "the error names the table and says why"
	for n in "${NODES[@]}"; do
		sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pgq_set.get_tables('app') where table_name = '$table'")" \
			0 "$table is not replicated on $n"
	done
}
sky_check "skyreconcile shows the refusal of deferrable primary keys"
refused dpk1 public.dpk1 "has a deferrable primary key"
refused dpk2 public.dpk2 "has a deferrable primary key"

sky_check "a primary key with INCLUDE columns: refused by add_table (SK005) and by the plan"
out=$(sky_psql db1 -v VERBOSITY=verbose -c "select pgq_set.add_table('app', 'public.ipk')" 2>&1) &&
	sky_fail "add_table accepted public.ipk (primary key with INCLUDE columns) on the root: $out"
case $out in
*SK005*'table "public.ipk" has a primary key with INCLUDE columns'*) sky_ok "refused on the root: ${out//$'\n'/ }" ;;
*) sky_fail "unexpected refusal of public.ipk: $out" ;;
esac
refused ipk public.ipk "has a primary key with INCLUDE columns"

sky_replicate "${NODES[@]}"

assert_all_equal() {
	local t
	for t in "${TABLES[@]}"; do
		sky_assert_tables_equal "$t" "${NODES[@]}"
	done
}

sky_check "id = id + 1 over rows stored in descending key order (each key re-used after its row moved)"
sky_psql db1 -c "update public.shift_a set id = id + 1" -c "update public.shift_u set id = id + 1"
sky_assert_eq "$(sky_psql db1 -c "select min(id) || '-' || max(id) || ' ' || count(*) from public.shift_a")" \
	"2-51 50" "shift_a on the root after id + 1"
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "id = id - 1 over rows stored in ascending key order"
sky_psql db1 -c "update public.shift_asc set id = id - 1"
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "a shift that collides fails on the root and replicates nothing"
if sky_psql db1 -c "update public.shift_asc set id = id + 1" 2>"$SKY_TMP/log/collide.err"; then
	sky_fail "update public.shift_asc set id = id + 1 succeeded on ascending rows"
fi
sky_assert_contains "$SKY_TMP/log/collide.err" "duplicate key" "the root refused the colliding shift"
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "id = id + 100, a swap through a temporary value, mixed with updates and deletes in one transaction"
sky_psql db1 <<'SQL'
begin;
update public.shift_a set id = id + 100;
update public.shift_a set v = v || ' moved' where id % 3 = 0;
update public.shift_a set id = -1 where id = 110;
update public.shift_a set id = 110 where id = 111;
update public.shift_a set id = 111 where id = -1;
delete from public.shift_a where id = 120;
insert into public.shift_a values (120, 'new 120'), (1, 'new 1');
update public.shift_u set id = id + 100, w = w * 2;
update public.shift_u set id = -1 where id = 105;
update public.shift_u set id = 105 where id = 106;
update public.shift_u set id = 106 where id = -1;
update public.shift_u set v = 'x' || v;
update public.shift_u set v = 'tmp' where id = 110;
update public.shift_u set v = (select v from public.shift_u where id = 110 + 1) || ' was 111'
 where id = 110;
update public.shift_u set v = 'xu9' where id = 111;
commit;
SQL
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "shifts back and forth within one batch"
sky_psql db1 <<'SQL'
begin;
update public.shift_a set id = id + 1000;
update public.shift_a set id = id - 1000;
update public.shift_u set id = -id;
update public.shift_u set id = -id + 7;
commit;
update public.shift_asc set id = id - 1;
update public.shift_asc set id = id + 1000;
update public.shift_asc set id = id - 999;
SQL
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "a deferrable primary key on the leaf only: refused there, the rest replicates"
sky_topology_write "$SKY_TMP/topology-leaf.yaml" db1 db2 db3 "${TABLES[@]}" public.dpk_leaf
sky_run reconcile-leaf "$RECONCILE" -f "$SKY_TMP/topology-leaf.yaml"
sky_expect_rc 1 "reconcile with public.dpk_leaf deferrable on the leaf"
cat "$SKY_OUT" "$SKY_ERR" >"$SKY_TMP/log/reconcile-leaf.all"
sky_assert_contains "$SKY_TMP/log/reconcile-leaf.all" 'node "db3"' "the error names the leaf"
sky_assert_contains "$SKY_TMP/log/reconcile-leaf.all" 'table "public.dpk_leaf" has a deferrable primary key' \
	"the error names the table"
sky_assert_eq "$(sky_psql db3 -c "select count(*) from pgq_set.get_tables('app') where table_name = 'public.dpk_leaf'")" \
	0 "public.dpk_leaf is not replicated on db3"
sky_wait_tables_ok db2 120 public.dpk_leaf
sky_psql db1 -c "update public.shift_a set id = id + 1 where id = (select max(id) from public.shift_a)"
sky_wait_caught_up db2 db3 120
assert_all_equal

sky_check "the leaf's key made ordinary: the table is copied and replicates"
sky_psql db3 -c "alter table public.dpk_leaf drop constraint dpk_leaf_pkey, add primary key (id)"
sky_run reconcile-leaf-2 "$RECONCILE" -f "$SKY_TMP/topology-leaf.yaml"
sky_expect_rc 0 "reconcile once the leaf's key is ordinary"
sky_wait_tables_ok db3 120 public.dpk_leaf
sky_psql db1 -c "update public.dpk_leaf set id = id + 10"
sky_wait_caught_up db2 db3 120
TABLES+=(public.dpk_leaf)
assert_all_equal
sky_check_workers
sky_ok "deferrable keys are refused by name; key shifts under ordinary keys replicate exactly"
