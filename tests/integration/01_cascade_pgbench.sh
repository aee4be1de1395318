#!/usr/bin/env bash
# 01: root db1 -> branch db2 -> leaf db3 from a topology file.
# - skyreconcile: --dry-run exits 2 with a plan and changes nothing, apply exits 0, a second --dry-run
#   exits 0; a table without a primary key is refused (exit 1, "has no primary key"), and so is a
#   partitioned table (exit 1, "is partitioned"); its partitions replicate as tables, rows moving
#   between them included.
# - pgbench (4 clients x 1000 transactions) and DML on a table of many types (composite key with a
#   quoted column, key-changing updates, deletes, TRUNCATE of another table) on the root; after
#   catching up, branch and leaf hold exactly the root's rows.
# - replicated tables on branch and leaf refuse application writes.
# - a password in a DSN never appears in any output or log.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
SECRET=s3cr3t
NODES=(db1 db2 db3)
TABLES=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers 'public."Zoo Table"'
	public.small_t public.part_t_a public.part_t_b)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
done
# trust auth ignores it; the point is that it is never printed (branch: the leaf's worker reads it
# from the catalog as its provider's location)
sky_dsn_extra db2 "password=$SECRET"

sky_log "creating identical tables on every node: pgbench -i, the type zoo, small_t"
for n in "${NODES[@]}"; do
	sky_pgbench "$n" -i -s 1 -q >"$SKY_TMP/log/$n.pgbench-init.log" 2>&1 ||
		sky_fail "pgbench -i on $n failed (see $SKY_TMP/log/$n.pgbench-init.log)"
	sky_psql "$n" <<'SQL'
create table public."Zoo Table" (
	id int not null,
	"Key Part" text not null,
	big bigint,
	txt text,
	bin bytea,
	ints int[],
	texts text[],
	js json,
	jsb jsonb,
	num numeric,
	dbl double precision,
	ts timestamptz,
	d date,
	flag boolean,
	u uuid,
	primary key (id, "Key Part")
);
insert into public."Zoo Table"
select g, case g % 4 when 0 then 'k ' || g when 1 then 'UPPER Key ' || g when 2 then 'ü€ ' || g
		      else 'a&b=c%20+' || g end,
       g::bigint * 1000000007,
       case when g % 7 = 0 then null when g % 11 = 0 then ''
	    else E'tab\there\nnewline ''q'' "dq" \\ back +plus %41 &amp=1 ünï 😀 ' || g end,
       case when g % 5 = 0 then null else decode(lpad(to_hex(g), 8, '0') || '005c0a', 'hex') end,
       case when g % 6 = 0 then null when g % 6 = 1 then '{}'::int[] else array[g, null, -g] end,
       array['a b', 'c,d', null, '', 'q"uote', 'back\slash', g::text],
       ('{"k": [1, 2.50, "x y"], "n": ' || g || ', "s": "ü\"q"}')::json,
       ('{"k": [1, 2.50, "x y"], "n": ' || g || ', "s": "ü\"q"}')::jsonb,
       case when g % 9 = 0 then 'NaN'::numeric else g * 12345678901234.123456789 end,
       g / 7.0,
       timestamptz '2024-02-29 23:59:59.123456+05:30' + g * interval '1 day 1 second',
       date '2000-02-29' + g,
       case when g % 3 = 0 then null else g % 2 = 0 end,
       md5(g::text)::uuid
  from generate_series(1, 200) g;
insert into public."Zoo Table" (id, "Key Part") values (0, ''), (0, ' '), (0, 'NULL');
create table public.small_t (id int primary key, v text);
insert into public.small_t select g, 'row ' || g from generate_series(1, 20) g;
create table public.part_t (id int, region text, v text, primary key (id, region))
  partition by list (region);
create table public.part_t_a partition of public.part_t for values in ('a');
create table public.part_t_b partition of public.part_t for values in ('b');
insert into public.part_t select g, case when g % 2 = 0 then 'a' else 'b' end, 'part ' || g
  from generate_series(1, 40) g;
SQL
done
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 "${TABLES[@]}"
sky_log "topology:"
sed 's/^/  | /; s/password=[^ "]*/password=***/' "$TOPO"

sky_check "skyreconcile --dry-run shows a plan (exit 2) and changes nothing"
sky_run reconcile-dry-run-1 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "the first dry-run finds changes"
grep -qE '^[[:space:]]*\+' "$SKY_OUT" || sky_fail "the dry-run plan has no '+' (create) line"
for word in db1 db2 db3 pgbench_accounts "Zoo Table"; do
	sky_assert_contains "$SKY_OUT" "$word" "the plan mentions $word"
done
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pg_namespace where nspname = 'pgq_set'")" \
		0 "pgq_set is not installed on $n after the dry-run"
done

sky_check "skyreconcile applies the plan (exit 0), then a dry-run finds nothing to do (exit 0)"
sky_run reconcile-apply "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "apply"
sky_run reconcile-dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "the second dry-run finds no changes"
if grep -qE '^[[:space:]]*[-+~][[:space:]]' "$SKY_OUT"; then
	sky_fail "the second dry-run still plans operations (output above)"
fi
sky_assert_eq "$(sky_psql db1 -c "select node_role from pgq_set.get_node('app')")" root "role of db1"
sky_assert_eq "$(sky_psql db2 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"branch of db1" "role of db2"
sky_assert_eq "$(sky_psql db3 -c "select node_role || ' of ' || provider_node from pgq_set.get_node('app')")" \
	"leaf of db2" "role of db3"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pgq_set.get_tables('app')")" "${#TABLES[@]}" \
		"number of replicated tables on $n"
done

# refused NAME TABLE REASON: the file with TABLE added makes skyreconcile exit 1 with an error
# that names TABLE and says REASON, and TABLE is registered nowhere
refused() {
	local name=$1 table=$2 reason=$3 all n
	sky_topology_write "$SKY_TMP/topology-$name.yaml" db1 db2 db3 "${TABLES[@]}" "$table"
	# a plan-time check: --dry-run already says so (exit 1), no "+ add table" line
	sky_run "dry-run-$name" "$RECONCILE" -f "$SKY_TMP/topology-$name.yaml" --dry-run
	sky_expect_rc 1 "--dry-run with $table"
	sky_assert_contains "$SKY_OUT" "! db1: table \"$table\" $reason" "the dry-run names the table and says why"
	if grep -q "add table $table" "$SKY_OUT"; then
		sky_fail "the dry-run still plans to add $table"
	fi
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
sky_check "a table without a primary key is refused"
refused history public.pgbench_history "has no primary key"
sky_check "a partitioned table is refused (its partitions are listed instead)"
refused partitioned public.part_t "is partitioned"

sky_replicate "${NODES[@]}"

sky_check "replicated tables refuse application writes on branch and leaf"
for n in db2 db3; do
	for stmt in "update public.pgbench_accounts set abalance = abalance + 1 where aid = 1" \
		"delete from public.small_t where id = 1" \
		"insert into public.\"Zoo Table\" (id, \"Key Part\") values (-1, 'x')"; do
		if out=$(sky_psql "$n" -c "$stmt" 2>&1); then
			sky_fail "$n accepted an application write: $stmt"
		fi
		sky_ok "$n refused: $stmt (${out//$'\n'/ })"
	done
done

sky_check "pgbench and zoo DML on the root replicate to branch and leaf"
sky_pgbench_bg pgbench db1 -c 4 -j 2 -t 1000 -n
zoo() { sky_psql db1 -c "$1" >/dev/null || sky_fail "zoo DML failed on the root: $1"; }
zoo "insert into public.\"Zoo Table\" values
	(1000, E'new\\tkey \"x\" ''y''', -9223372036854775808, E'line1\\nline2\\r\\n\\\\', '\\x'::bytea,
	 '{NULL}', '{}', '[]', '{}', -0.000000001, 'Infinity', 'infinity', '-infinity', false,
	 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
	(1001, 'K', null, '', null, null, array[null, 'x']::text[], 'null', 'null', 0, -0.0, null,
	 null, null, null),
	(1002, '%%% +++ &&& ===', 1, 'short', '\\xdeadbeef', array[1, 2, 3], array['=', '&', '+', '%'],
	 '{\"a\" : 1}', '{\"a\" : 1}', 1e-20, 1e300, '1970-01-01 00:00:00+00', '1970-01-01', true, null)"
zoo "update public.\"Zoo Table\" set txt = txt || ' updated', jsb = jsb || '{\"upd\": true}', num = num + 1
	where id % 10 = 3"
zoo "update public.\"Zoo Table\" set txt = null, bin = null, ints = null, texts = null, js = null, jsb = null,
	num = null, dbl = null, ts = null, d = null, flag = null, u = null where id = 4"
zoo "update public.\"Zoo Table\" set \"Key Part\" = 'Renamed Key ü' where id = 5"
zoo "update public.\"Zoo Table\" set id = id + 5000 where id between 10 and 14"
zoo "update public.\"Zoo Table\" set id = id + 1, \"Key Part\" = \"Key Part\" || ' moved' where id = 1001"
zoo "delete from public.\"Zoo Table\" where id % 10 = 7"
zoo "delete from public.\"Zoo Table\" where id = 0 and \"Key Part\" = ''"
zoo "begin; insert into public.\"Zoo Table\" (id, \"Key Part\") values (2000, 'gone'), (2001, 'stays');
	update public.\"Zoo Table\" set \"Key Part\" = 'gone too' where id = 2000;
	delete from public.\"Zoo Table\" where id = 2000; commit"
zoo "insert into public.small_t select g, 'second ' || g from generate_series(21, 40) g"
zoo "truncate public.small_t"
zoo "begin; insert into public.small_t values (3, 'in tx'); truncate public.small_t;
	insert into public.small_t values (4, 'after truncate in tx'); commit"
zoo "insert into public.small_t values (1, 'after truncate'), (2, E'x\\ty')"
zoo "update public.small_t set id = 40 where id = 4"
zoo "insert into public.part_t select g, case when g % 2 = 0 then 'a' else 'b' end, 'new ' || g
	from generate_series(41, 60) g"
zoo "update public.part_t set region = 'b', v = v || ' moved to b' where region = 'a' and id % 4 = 0"
zoo "update public.part_t set v = v || ' changed' where id % 3 = 0"
zoo "delete from public.part_t where id % 7 = 0"
rc=0
sky_bg_wait pgbench || rc=$?
sed 's/^/  [pgbench] /' "$SKY_TMP/log/pgbench.out"
[ "$rc" = 0 ] || sky_fail "pgbench on the root failed with status $rc"
sky_assert_contains "$SKY_TMP/log/pgbench.out" "number of transactions actually processed: 4000/4000" \
	"pgbench committed 4000 transactions"

sky_wait_caught_up db2 db3 300
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
sky_assert_queue_matches db1 db2
sky_assert_eq "$(sky_psql db3 -c "select count(*) from public.\"Zoo Table\" where \"Key Part\" = 'Renamed Key ü' or id between 5010 and 5014")" \
	6 "key-changing updates arrived on the leaf"
sky_assert_eq "$(sky_psql db3 -c "select string_agg(id || ':' || v, ',' order by id) from public.small_t")" \
	"1:after truncate,2:x	y,40:after truncate in tx" "small_t on the leaf after the truncates"
changed=$(sky_psql db1 -c "select count(*) from public.pgbench_accounts where abalance <> 0")
((changed > 1000)) || sky_fail "pgbench changed only $changed accounts: the workload did not run"
sky_ok "$changed accounts changed by pgbench"

sky_check "retention: every subscriber is pinned on its provider and the global watermark reached every node"
sky_assert_eq "$(sky_psql db1 -c "select string_agg(node_name, ',' order by node_name) from pgq_set.get_subscribers('app')")" \
	db2 "subscribers of db1"
sky_assert_eq "$(sky_psql db2 -c "select string_agg(node_name, ',' order by node_name) from pgq_set.get_subscribers('app')")" \
	db3 "subscribers of db2"
wm_seen() {
	# the root has published a watermark past the start, and both other nodes applied one
	local root_wm b_wm l_wm
	root_wm=$(sky_psql db1 -c "select coalesce(global_watermark, 0) from pgq_set.get_node('app')")
	b_wm=$(sky_psql db2 -c "select coalesce(global_watermark, 0) from pgq_set.get_node('app')")
	l_wm=$(sky_psql db3 -c "select coalesce(global_watermark, 0) from pgq_set.get_node('app')")
	((root_wm > 3 && b_wm > 3 && l_wm > 3))
}
sky_wait_for 60 "a global watermark past the first ticks on every node" wm_seen
for n in db1 db2; do
	# the .global_watermark consumer pins the node's queue at or below its own position
	sky_assert_eq "$(sky_psql "$n" -c "select pgq_set.consumer_tick('app', '.global_watermark') <=
		coalesce((select last_tick from pgq_set.get_node('app') where node_role <> 'root'),
			 (select max(tick_id) from pgq.tick))")" t ".global_watermark at or below $n's position"
done
sky_ok "retention pins and watermark in place"

sky_check_workers
sky_check "the password in db2's DSN appears nowhere"
sky_assert_no_secret "$SECRET"
