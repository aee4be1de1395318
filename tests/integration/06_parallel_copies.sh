#!/usr/bin/env bash
# 06: parallel copies (issue 3). Root db1 -> branch db2 -> leaf db3 with settings.parallel_copies: 2
# and parallel_copies: 1 on the leaf. Four tables of 100,000 rows are filled on the root only and
# added to topology.yaml at once, while a light update load runs on them:
# - the branch's and the leaf's get_tables are sampled every 20 ms (each in one server session)
#   during the copies: the branch never has more than 2 tables copying and has 2 at some point,
#   the leaf never more than 1 and has 1 at some point;
# - parallel_copies is stored per node as the file says (get_node: 2 on the branch, 1 on the leaf);
# - every table ends ok on branch and leaf and equal on the three nodes;
# - the tables' indexes and constraints come out of the copy exactly as they were (definitions,
#   CLUSTER ON, replica identity, comments, statistics targets, alike on the three nodes). copy_t1
#   (primary key only) and copy_t2 (a unique constraint, a partial and an expression index,
#   clustered, replica identity by index, comments) have them rebuilt after the load (new index
#   oids on branch and leaf); copy_t3 (an index with a statistics target) and copy_t4 (a primary
#   key with a storage option) keep theirs during the load (same oids): recreating them would not
#   give back exactly what was there.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
ROWS=${SKY_PARALLEL_ROWS:-100000}
TABLES=(public.copy_t1 public.copy_t2 public.copy_t3 public.copy_t4)
TABLES_CSV=$(
	IFS=,
	echo "${TABLES[*]}"
)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.small_t (id int primary key, v text)"
	for t in "${TABLES[@]}"; do
		sky_psql "$n" -c "create table $t (id bigint primary key, grp int not null, payload text,
			changed int not null default 0)"
	done
	sky_psql "$n" -c "alter table public.copy_t2 add constraint copy_t2_grp_id_key unique (grp, id);
		create index copy_t2_payload_part on public.copy_t2 (payload) where changed > 0;
		create index copy_t2_lower on public.copy_t2 (lower(payload)) with (fillfactor = 70);
		alter table public.copy_t2 cluster on copy_t2_grp_id_key;
		alter table public.copy_t2 replica identity using index copy_t2_grp_id_key;
		comment on index public.copy_t2_lower is 'payload, lower case';
		comment on constraint copy_t2_grp_id_key on public.copy_t2 is 'grp, then id';
		create index copy_t3_expr on public.copy_t3 ((grp * 2));
		alter index public.copy_t3_expr alter column 1 set statistics 500;
		alter table public.copy_t4 drop constraint copy_t4_pkey;
		alter table public.copy_t4 add primary key (id) with (fillfactor = 80)"
done
sky_log "filling ${#TABLES[@]} tables of $ROWS rows on the root"
fills=()
for t in "${TABLES[@]}"; do
	sky_psql db1 -c "insert into $t select g, g % 97, repeat(md5(g::text), 4) from generate_series(1, $ROWS) g" &
	fills+=("$!")
done
wait_fill=0
for pid in "${fills[@]}"; do
	wait "$pid" || wait_fill=1
done
[ "$wait_fill" = 0 ] || sky_fail "filling the tables on the root failed"
sky_psql db1 -c "insert into public.small_t select g, 'row ' || g from generate_series(1, 50) g;
	analyze"

TOPO=$SKY_TMP/topology.yaml
SKY_TOPO_PARALLEL_COPIES=2
SKY_TOPO_NODE_COPIES[db3]=1
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t
sky_run reconcile-initial "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "initial reconcile (small_t only)"
sky_assert_eq "$(sky_psql db2 -c "select parallel_copies from pgq_set.get_node('app')")" 2 \
	"parallel_copies on the branch (settings)"
sky_assert_eq "$(sky_psql db3 -c "select parallel_copies from pgq_set.get_node('app')")" 1 \
	"parallel_copies on the leaf (its own)"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_tables_ok db3 60 public.small_t
sky_wait_caught_up db2 db3 60

cat >"$SKY_TMP/update.pgbench" <<EOF
\\set id random(1, $ROWS)
\\set t random(1, 4)
UPDATE public.copy_t:t SET changed = changed + 1, payload = md5(payload) WHERE id = :id;
EOF
sky_pgbench_bg pgbench db1 -n -c 2 -j 1 -T 600 -R 100 -f "$SKY_TMP/update.pgbench"

# structure NODE TABLE: TABLE's indexes and constraints as they are defined, one line
structure() {
	sky_psql "$1" -c "select string_agg(x, ' | ' order by x) from (
		select 'index ' || pg_get_indexdef(i.indexrelid)
			|| case when i.indisclustered then ' clustered' else '' end
			|| case when i.indisreplident then ' replica identity' else '' end
			|| coalesce(' comment ' || obj_description(i.indexrelid, 'pg_class'), '')
			|| ' statistics ' || (select string_agg(a.attstattarget::text, ',' order by a.attnum)
				from pg_attribute a where a.attrelid = i.indexrelid) as x
		  from pg_index i where i.indrelid = '$2'::regclass
		union all
		select 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
			|| coalesce(' comment ' || obj_description(oid, 'pg_constraint'), '')
		  from pg_constraint where conrelid = '$2'::regclass
		union all
		select 'replica identity ' || relreplident::text from pg_class where oid = '$2'::regclass) s"
}
index_oids() {
	sky_psql "$1" -c "select string_agg(indexrelid::text, ',' order by indexrelid)
		from pg_index where indrelid = '$2'::regclass"
}
declare -A OIDS_BEFORE
for n in db2 db3; do
	for t in "${TABLES[@]}"; do
		OIDS_BEFORE[$n $t]=$(index_oids "$n" "$t")
	done
done

sky_check "add the four tables at once; sample the number of tables copying on branch and leaf"
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "${TABLES[@]}"
sky_watch_tables_bg watch_db2 db2 80 "$TABLES_CSV"
sky_watch_tables_bg watch_db3 db3 100 "$TABLES_CSV"
sky_run reconcile-add "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding four tables"
sky_watch_wait watch_db2
sky_watch_wait watch_db3

for n in db2 db3; do
	sky_log "states on $n:"
	for t in "${TABLES[@]}"; do
		sky_log "  $t: $(sky_watch_transitions "watch_$n" "$t")"
	done
	grep '^[PM]|' "$SKY_TMP/log/watch_$n.out" | sed "s/^/  $n /"
done
sky_assert_eq "$(sky_watch_max_copying watch_db2)" 2 "most tables copying at once on the branch (parallel_copies 2)"
sky_assert_eq "$(sky_watch_max_copying watch_db3)" 1 "most tables copying at once on the leaf (parallel_copies 1)"
for n in db2 db3; do
	for t in "${TABLES[@]}"; do
		[[ " $(sky_watch_transitions "watch_$n" "$t") " == *" copying "* ]] ||
			sky_fail "$t was never seen copying on $n"
	done
	sky_ok "each table was seen copying on $n"
done

changed_rows() {
	sky_psql db1 -c "select sum(n) from (select count(*) n from public.copy_t1 where changed > 0
		union all select count(*) from public.copy_t2 where changed > 0
		union all select count(*) from public.copy_t3 where changed > 0
		union all select count(*) from public.copy_t4 where changed > 0) s"
}
over_100() { (($(changed_rows) > 100)); }
sky_wait_for 60 "the load updated over 100 rows" over_100
sky_pgbench_end pgbench
sky_wait_caught_up db2 db3 120
for t in public.small_t "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
changed=$(changed_rows)
((changed > 100)) || sky_fail "only $changed rows were updated during the copies"
sky_ok "$changed rows updated on the root during the copies"

sky_check "indexes and constraints as they were"
for t in "${TABLES[@]}"; do
	want=$(structure db1 "$t")
	for n in db2 db3; do
		sky_assert_eq "$(structure "$n" "$t")" "$want" "indexes and constraints of $t on $n"
		now=$(index_oids "$n" "$t")
		case $t in
		public.copy_t1 | public.copy_t2)
			[ "$now" != "${OIDS_BEFORE[$n $t]}" ] ||
				sky_fail "the indexes of $t on $n were kept during the load, not rebuilt after it"
			sky_ok "the indexes of $t on $n were rebuilt after the load"
			;;
		*)
			sky_assert_eq "$now" "${OIDS_BEFORE[$n $t]}" "index oids of $t on $n (kept during the load)"
			;;
		esac
	done
done
sky_check_workers
