#!/usr/bin/env bash
# 07: removing and narrowing tables, removing one mid-copy, re-adding it (issue 3).
# Root db1 -> branch db2 -> leaf db3.
# - narrow_t is listed with nodes: [db1, db2]: registered and replicated on the branch only; the
#   leaf's own narrow_t (own rows) is not registered there, stays writable and untouched;
# - keep_t, replicated everywhere, is narrowed to [db1, db2]: the leaf stops applying it (not in
#   its get_tables, no write-deny trigger, its rows kept) while the root keeps capturing it and the
#   branch keeps replicating it; later it is removed from the file: the root's capture triggers are
#   gone (no event for it in the root's queue after a write), the branch keeps its rows;
# - big_t (1,000,000 rows on the root, empty elsewhere) is added and removed again while the branch
#   copies it (its copy process held mid-COPY by SIGSTOP, let go after the removal): big_t leaves
#   get_tables on every node, the copy stops (no COPY of big_t left running on root or branch), the
#   root's capture triggers are gone and a write to it queues no event, the table itself stays on
#   branch and leaf; the workers keep running and small_t keeps replicating;
# - big_t added again (while it is updated on the root) is copied again: ok and equal on all nodes.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
BIG_ROWS=${SKY_REMOVE_ROWS:-1000000}
NARROW='{name: public.narrow_t, nodes: [db1, db2]}'
KEEP_NARROW='{name: public.keep_t, nodes: [db1, db2]}'

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.small_t (id int primary key, v text);
		create table public.keep_t (id int primary key, v text);
		create table public.narrow_t (id int primary key, v text);
		create table public.big_t (id bigint primary key, v text not null, n int not null default 0)"
done
sky_log "the root's rows; the leaf's own narrow_t rows"
sky_psql db1 -c "insert into public.small_t select g, 'row ' || g from generate_series(1, 100) g;
	insert into public.keep_t select g, 'keep ' || g from generate_series(1, 200) g;
	insert into public.narrow_t select g, 'narrow ' || g from generate_series(1, 300) g;
	insert into public.big_t select g, repeat(md5(g::text), 2) from generate_series(1, $BIG_ROWS) g;
	analyze"
sky_psql db3 -c "insert into public.narrow_t select g, 'the leaf''s own ' || g from generate_series(1, 5) g"
leaf_narrow=$(sky_table_md5 db3 public.narrow_t)

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t public.keep_t "$NARROW"
sky_run reconcile-initial "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "initial reconcile (small_t, keep_t everywhere; narrow_t on db1 and db2)"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done

registered() {
	sky_psql "$1" -c "select coalesce(string_agg(table_name, ' ' order by table_name), '')
		from pgq_set.get_tables('app')"
}
# our triggers on TABLE at NODE (capture on the root, write-deny elsewhere)
triggers() {
	sky_psql "$1" -c "select count(*) from pg_trigger
		where tgrelid = '$2'::regclass and tgname like '\_sky\_app\_%'"
}
# events_of_txid NODE TABLE TXID: events for TABLE the transaction TXID put into NODE's queue
events_of_txid() {
	local events
	events=$(sky_psql "$1" -c "select queue_data_pfx from pgq.queue where queue_name = 'app'")
	sky_psql "$1" -c "select count(*) from $events where ev_txid = $3 and ev_extra1 = '$2'"
}
# write_txid NODE SQL: run SQL in one transaction on NODE, print its txid
write_txid() {
	sky_psql "$1" -c "begin" -c "$2" -c "select txid_current()" -c "commit"
}
sky_assert_writable() {
	sky_psql "$1" -c "begin; insert into $2 (id, v) values (-1, 'local write'); rollback" ||
		sky_fail "$2 on $1 refuses writes"
	sky_ok "$2 on $1 accepts application writes"
}

sky_check "narrow_t is replicated to the branch only"
sky_wait_tables_ok db2 60 public.small_t public.keep_t public.narrow_t
sky_wait_tables_ok db3 60 public.small_t public.keep_t
sky_assert_eq "$(registered db3)" "public.keep_t public.small_t" "tables registered on the leaf"
sky_assert_eq "$(registered db2)" "public.keep_t public.narrow_t public.small_t" "tables registered on the branch"
sky_psql db1 -c "update public.narrow_t set v = v || ' changed' where id % 2 = 0;
	insert into public.narrow_t values (1000, 'new');
	update public.keep_t set v = v || ' changed' where id % 3 = 0;
	update public.small_t set v = v || ' changed' where id % 4 = 0"
sky_wait_caught_up db2 db3 60
sky_assert_tables_equal public.small_t "${NODES[@]}"
sky_assert_tables_equal public.keep_t "${NODES[@]}"
sky_assert_tables_equal public.narrow_t db1 db2
sky_assert_eq "$(sky_table_md5 db3 public.narrow_t)" "$leaf_narrow" "the leaf's own narrow_t is untouched"
sky_assert_eq "$(triggers db3 public.narrow_t)" 0 "our triggers on the leaf's narrow_t"
sky_assert_writable db3 public.narrow_t

sky_check "keep_t narrowed to [db1, db2]: the leaf stops applying it and keeps its rows"
leaf_keep=$(sky_table_md5 db3 public.keep_t)
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "$KEEP_NARROW" "$NARROW"
sky_run reconcile-narrow "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile narrowing keep_t"
sky_assert_eq "$(registered db3)" "public.small_t" "tables registered on the leaf"
sky_assert_eq "$(registered db2)" "public.keep_t public.narrow_t public.small_t" "tables registered on the branch"
sky_assert_eq "$(triggers db3 public.keep_t)" 0 "our triggers on the leaf's keep_t"
capture=$(triggers db1 public.keep_t)
((capture > 0)) || sky_fail "the root's keep_t lost its capture triggers"
sky_ok "the root's keep_t keeps its $capture capture triggers"
sky_assert_eq "$(sky_table_md5 db3 public.keep_t)" "$leaf_keep" "the leaf's keep_t rows are kept"
sky_assert_writable db3 public.keep_t
sky_psql db1 -c "update public.keep_t set v = 'after narrowing' where id <= 20"
sky_wait_caught_up db2 db3 60
sky_assert_tables_equal public.keep_t db1 db2
sky_assert_eq "$(sky_table_md5 db3 public.keep_t)" "$leaf_keep" "the leaf's keep_t did not change"

sky_check "big_t ($BIG_ROWS rows) added, then removed while the branch copies it"
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "$KEEP_NARROW" "$NARROW" public.big_t
sky_run reconcile-add-big "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding big_t"
# the branch's COPY into big_t runs (rows in, state copying): its copy process is held there
# (SIGSTOP), so that the removal meets the copy in progress however fast the machine copies
big_copying() {
	[ "$(sky_psql db2 -c "select count(*) from pg_stat_progress_copy
		where relid = 'public.big_t'::regclass and tuples_processed > 0")" -gt 0 ] &&
		[ "$(sky_table_state db2 public.big_t)" = copying ]
}
sky_wait_for 60 "the branch is copying big_t" big_copying
held=$(sky_copy_hold db2)
if [ -z "$held" ] || ! big_copying; then
	sky_copy_release $held
	sky_fail "the branch finished copying big_t before the test could hold the copy: make it bigger (SKY_REMOVE_ROWS)"
fi
sky_ok "the branch's copy of big_t held in progress (copy process $held): $(sky_table_progress db2 public.big_t) (state|rows_copied|rows_estimate|error)"
during=$(write_txid db1 "update public.big_t set n = n + 1 where id <= 10")
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "$KEEP_NARROW" "$NARROW"
sky_run reconcile-remove-big "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile removing big_t"
sky_assert_eq "$(events_of_txid db1 public.big_t "$during")" 10 \
	"events queued on the root by a write to big_t while it was replicated (a control)"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_table_state "$n" public.big_t)" "" "big_t registered on $n"
	sky_assert_eq "$(triggers "$n" public.big_t)" 0 "our triggers on big_t at $n"
done
after=$(write_txid db1 "update public.big_t set n = n + 1 where id <= 10")
sky_assert_eq "$(events_of_txid db1 public.big_t "$after")" 0 "events queued on the root by a write to big_t after its removal"

sky_check "the copy stops"
sky_copy_release $held
copy_stopped() {
	local n busy=0
	for n in db1 db2; do
		busy=$((busy + $(sky_psql "$n" -c "select count(*) from pg_stat_activity
			where pid <> pg_backend_pid() and state <> 'idle' and query ~* 'copy' and query ~ 'big_t'")))
	done
	busy=$((busy + $(sky_psql db2 -c "select count(*) from pg_stat_progress_copy
		where relid = 'public.big_t'::regclass")))
	((busy == 0))
}
sky_wait_for 30 "no COPY of big_t runs on root or branch" copy_stopped
sky_assert_eq "$(sky_table_state db2 public.big_t)" "" "big_t is still not registered on the branch"
for n in db2 db3; do
	sky_assert_eq "$(sky_psql "$n" -c "select to_regclass('public.big_t') is not null")" t \
		"big_t still exists on $n"
	sky_log "big_t on $n holds $(sky_table_count "$n" public.big_t) rows"
done
sky_check_workers
sky_psql db1 -c "insert into public.small_t select g, 'after removal ' || g from generate_series(101, 150) g;
	update public.narrow_t set v = 'after removal' where id <= 5"
sky_wait_caught_up db2 db3 60
sky_assert_tables_equal public.small_t "${NODES[@]}"
sky_assert_tables_equal public.narrow_t db1 db2

sky_check "keep_t removed from the file: capture stops on the root, the branch keeps its rows"
branch_keep=$(sky_table_md5 db2 public.keep_t)
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "$NARROW"
sky_run reconcile-remove-keep "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile removing keep_t"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_table_state "$n" public.keep_t)" "" "keep_t registered on $n"
	sky_assert_eq "$(triggers "$n" public.keep_t)" 0 "our triggers on keep_t at $n"
done
after=$(write_txid db1 "update public.keep_t set v = 'not replicated' where id <= 10")
sky_assert_eq "$(events_of_txid db1 public.keep_t "$after")" 0 "events queued on the root by a write to keep_t"
sky_assert_eq "$(sky_table_md5 db2 public.keep_t)" "$branch_keep" "the branch's keep_t rows are kept"
sky_assert_writable db2 public.keep_t

sky_check "big_t added again, while it is updated on the root: copied again"
cat >"$SKY_TMP/update.pgbench" <<EOF
\\set id random(1, $BIG_ROWS)
UPDATE public.big_t SET n = n + 1, v = md5(v) WHERE id = :id;
EOF
sky_pgbench_bg pgbench db1 -n -c 2 -j 1 -T 10 -R 100 -f "$SKY_TMP/update.pgbench"
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t "$NARROW" public.big_t
sky_watch_tables_bg watch_db3 db3 100 public.big_t
sky_run reconcile-readd-big "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding big_t again"
sky_watch_wait watch_db3
sky_log "big_t on the leaf: $(sky_watch_transitions watch_db3 public.big_t)"
sky_wait_tables_ok db2 10 public.big_t
rc=0
sky_bg_wait pgbench || rc=$?
[ "$rc" = 0 ] || sky_fail "the update load on the root failed with status $rc"
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.big_t "${NODES[@]}"
sky_assert_tables_equal public.small_t "${NODES[@]}"
sky_assert_tables_equal public.narrow_t db1 db2
sky_assert_eq "$(sky_table_md5 db3 public.narrow_t)" "$leaf_narrow" "the leaf's own narrow_t is still untouched"
sky_run reconcile-final "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "a final dry-run finds nothing to do"
sky_check_workers
