#!/usr/bin/env bash
# 05: adding tables while the root is under load (issue 3, DESIGN invariant 7).
# Root db1 -> branch db2 -> leaf db3 replicate a small table. pgbench -i -s 5 fills the root only;
# branch and leaf have empty pgbench_accounts and pgbench_branches, and no pgbench_tellers at all
# (it is listed with `create: true`; the root's copy has an extra index). While pgbench runs on the
# root, the three tables are added to topology.yaml and reconciled:
# - on db2 and db3 every new table goes through copying or catching-up and ends ok (states sampled
#   every 20 ms on each node), and once ok never leaves ok;
# - the leaf copies from the branch, not the root: no process of the leaf's worker ever has a
#   connection to the root (sampled with ss while the copies run; with log_connections on the root,
#   no connection in its log comes from the leaf's worker, while the branch's worker's do), each
#   table goes ok on the leaf only after it went ok on the branch, and a leaf copy position seen
#   in the catalog is a branch tick (a branch copy position, a root snapshot);
# - skyreconcile --dry-run during the copies exits 0 and shows the tables' state: pending on the
#   leaf while its worker is stopped, copying while the leaf's copy is held up by a lock;
# - the created pgbench_tellers has the root's columns, primary key and indexes;
# - after pgbench ends and everything is caught up, all four tables are equal on the three nodes;
#   the root's and the branch's queues rotated their event tables every second meanwhile.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
NEW=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers)
SCALE=5
PGBENCH_SECONDS=${SKY_ADD_SECONDS:-600} # at most: the load ends with the scenario
PGBENCH_RATE=${SKY_ADD_RATE:-200}

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.small_t (id int primary key, v text)"
done
sky_psql db1 -c "insert into public.small_t select g, 'row ' || g from generate_series(1, 100) g"
# the root's connection log tells which worker connected to it (each worker's PGAPPNAME below)
sky_psql db1 -c "alter system set log_connections = on" -c "select pg_reload_conf()" >/dev/null

sky_log "pgbench -i -s $SCALE on the root; empty accounts and branches on branch and leaf, no tellers"
sky_pgbench db1 -i -s "$SCALE" -q >"$SKY_TMP/log/db1.pgbench-init.log" 2>&1 ||
	sky_fail "pgbench -i on db1 failed (see $SKY_TMP/log/db1.pgbench-init.log)"
sky_psql db1 -c "create index pgbench_tellers_bid_idx on public.pgbench_tellers (bid);
	create unique index pgbench_tellers_filler_idx on public.pgbench_tellers (tid, filler) where tid > 0"
for n in db2 db3; do
	# d: drop, t: create tables, p: primary keys; no data
	sky_pgbench "$n" -i -I dtp -s "$SCALE" -q >"$SKY_TMP/log/$n.pgbench-init.log" 2>&1 ||
		sky_fail "pgbench -i -I dtp on $n failed (see $SKY_TMP/log/$n.pgbench-init.log)"
	sky_psql "$n" -c "drop table public.pgbench_tellers"
done

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t
sky_run reconcile-initial "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "initial reconcile (small_t only)"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	PGAPPNAME=skytest_worker_$n sky_worker_start "$n"
done
sky_wait_tables_ok db3 60 public.small_t
sky_wait_caught_up db2 db3 60
sky_assert_tables_equal public.small_t "${NODES[@]}"

sky_log "the root's and the branch's queues rotate every second from now on"
sky_queue_rotation '1 second' db1 db2
ROTATION_FROM=$(sky_psql db1 -c "select now()")

sky_log "the leaf's worker is stopped until the tables are added: they must stay pending there"
sky_worker_stop db3

sky_check "pgbench on the root until the scenario ends, 4 clients, $PGBENCH_RATE tx/s"
sky_pgbench_bg pgbench db1 -n -c 4 -j 2 -T "$PGBENCH_SECONDS" -R "$PGBENCH_RATE"
history_grows() { (($(sky_psql db1 -c "select count(*) from public.pgbench_history") >= 100)); }
sky_wait_for 30 "pgbench committed 100 transactions on the root" history_grows

sky_check "add the three pgbench tables (tellers with create: true) while pgbench runs"
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t public.pgbench_accounts \
	public.pgbench_branches '{name: public.pgbench_tellers, create: true}'
sed 's/^/  | /' "$TOPO"
NEW_CSV=$(
	IFS=,
	echo "${NEW[*]}"
)
sky_watch_tables_bg watch_db2 db2 80 "$NEW_CSV"
sky_watch_tables_bg watch_db3 db3 100 "$NEW_CSV"
sky_run reconcile-add "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding the tables"
for t in "${NEW[@]}"; do
	sky_assert_contains "$SKY_OUT" "${t#public.}" "the plan adds $t"
done
for t in "${NEW[@]}"; do
	sky_assert_eq "$(sky_table_state db1 "$t")" ok "state of $t on the root"
done

# every sample of ss: no process of the leaf's worker is connected to the root
declare -A leaf_pid_seen=()
leaf_root_conns=0
leaf_samples=0
sample_leaf_connections() {
	local p w conns
	conns=$(sky_pids_connected db1)
	leaf_samples=$((leaf_samples + 1))
	for w in $(sky_worker_pids db3); do
		leaf_pid_seen[$w]=1
		for p in $conns; do
			if [ "$p" = "$w" ]; then
				leaf_root_conns=$((leaf_root_conns + 1))
				sky_log "process $p of the leaf's worker is connected to the root"
			fi
		done
	done
}

# show_state NODE TABLE STATE FILE: the status section of FILE (a dry-run's output) has the line
# "NODE: TABLE STATE..." (docs/reconciler.md, Output)
show_state() {
	local line
	line=$(grep -F -- "$1: $2 $3" "$4" | head -n 1 || true)
	if [ -z "$line" ]; then
		cat "$4" >&2
		sky_fail "the dry-run output (above) has no status line '$1: $2 $3'"
	fi
	sky_ok "the dry-run shows: ${line#"${line%%[![:space:]]*}"}"
}

sky_log "a session on db3 locks db3's pgbench_accounts (after add_table, which needs a lock on it too): the leaf's copy of it cannot finish before the session ends"
sky_bg leaf_lock "$SKY_PGBIN/psql" -X -q -d "$(sky_dsn db3)" -c "set application_name = skytest_lock" \
	-c "begin" -c "lock table public.pgbench_accounts in access exclusive mode" -c "select pg_sleep(120)"
lock_granted() {
	[ "$(sky_psql db3 -c "select count(*) from pg_locks l join pg_stat_activity a using (pid)
		where a.application_name = 'skytest_lock' and l.granted and l.mode = 'AccessExclusiveLock'
		  and l.relation = 'public.pgbench_accounts'::regclass")" = 1 ]
}
sky_wait_for 20 "the lock on db3's pgbench_accounts is held" lock_granted

sky_check "dry-run while the leaf's worker is stopped: exit 0, the leaf's tables pending"
for t in "${NEW[@]}"; do
	sky_assert_eq "$(sky_table_state db3 "$t")" pending "state of $t on the stopped leaf"
done
sky_run reconcile-dry-pending timeout 60 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "dry-run during the copies (nothing to change)"
show_state db3 public.pgbench_accounts pending "$SKY_OUT"

sky_log "start the leaf's worker again"
PGAPPNAME=skytest_worker_db3 sky_worker_start db3
leaf_copying() {
	sample_leaf_connections
	[ "$(sky_table_state db3 public.pgbench_accounts)" = copying ]
}
sky_wait_for 60 "pgbench_accounts is copying on the leaf" leaf_copying

sky_check "dry-run while the leaf copies pgbench_accounts: exit 0, its state copying"
sky_run reconcile-dry-copying timeout 60 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "dry-run during the copy (nothing to change)"
show_state db3 public.pgbench_accounts copying "$SKY_OUT"
sky_assert_eq "$(sky_table_state db3 public.pgbench_accounts)" copying \
	"pgbench_accounts still copying on the leaf after the dry-run"

sky_log "end the locking session"
sky_psql db3 -c "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'skytest_lock'" \
	>/dev/null
sky_bg_wait leaf_lock || true

leaf_done() {
	sample_leaf_connections
	sky_tables_ok db3 "${NEW[@]}"
}
sky_wait_for 90 "the three tables are ok on the leaf" leaf_done
sky_watch_wait watch_db2
sky_watch_wait watch_db3

sky_check "every table went through copying or catching-up and ended ok, on branch and leaf"
busy_re=' (copying|catching-up) '
for n in db2 db3; do
	for t in "${NEW[@]}"; do
		states=$(sky_watch_transitions "watch_$n" "$t")
		sky_log "$n $t: $states"
		[[ " $states " =~ $busy_re ]] ||
			sky_fail "$t on $n was never seen copying or catching-up: $states"
		[ "${states##* }" = ok ] || sky_fail "$t on $n did not end ok: $states"
		after_ok=${states#*ok}
		[ -z "${after_ok// /}" ] || sky_fail "$t on $n left ok again: $states"
		sky_ok "$t on $n: $states"
	done
	errors=$(sky_watch_errors "watch_$n")
	[ -z "$errors" ] || sky_log "copy errors seen on $n (retried): $errors"
done

sky_check "the leaf copied from the branch"
for t in "${NEW[@]}"; do
	b=$(sky_watch_first_ms watch_db2 "$t" ok)
	l=$(sky_watch_first_ms watch_db3 "$t" ok)
	((l >= b)) || sky_fail "$t went ok on the leaf ($l) before the branch ($b)"
	sky_ok "$t ok on the branch at $b, on the leaf $((l - b)) ms later"
	for pos in $(sky_watch_positions watch_db3 "$t"); do
		[[ $pos == tick:* ]] || sky_fail "the leaf's copy position of $t is $pos, not a branch tick"
		sky_ok "the leaf's copy position of $t is $pos"
	done
	for pos in $(sky_watch_positions watch_db2 "$t"); do
		[[ $pos == snapshot:* ]] || sky_fail "the branch's copy position of $t is $pos, not a root snapshot"
		sky_ok "the branch's copy position of $t is $pos"
	done
done
((${#leaf_pid_seen[@]} > 0)) || sky_fail "no process of the leaf's worker was sampled"
sky_assert_eq "$leaf_root_conns" 0 "connections of the leaf's worker to the root in $leaf_samples ss samples of ${#leaf_pid_seen[@]} processes"
conn_log=$SKY_TMP/log/db1.server.log
branch_conns=$(grep -c 'connection authorized: .*application_name=skytest_worker_db2' "$conn_log" || true)
leaf_conns=$(grep -c 'connection authorized: .*application_name=skytest_worker_db3' "$conn_log" || true)
# a control: the branch's worker must be seen connecting, or the log check sees nothing at all
((branch_conns > 0)) || sky_fail "the root's log shows no connection of the branch's worker (log_connections, PGAPPNAME)"
sky_ok "the root's log shows $branch_conns connections of the branch's worker"
sky_assert_eq "$leaf_conns" 0 "connections of the leaf's worker in the root's log"
sky_log "progress seen while copying (max rows_copied, estimate):"
for n in db2 db3; do
	grep '^P|' "$SKY_TMP/log/watch_$n.out" | sed "s/^/  $n /"
done
sky_assert_eq "$(sky_psql db2 -c "select rows_copied from pgq_set.get_tables('app') where table_name = 'public.pgbench_accounts'")" \
	"$((SCALE * 100000))" "rows_copied of pgbench_accounts on the branch"
sky_assert_eq "$(sky_psql db3 -c "select rows_copied from pgq_set.get_tables('app') where table_name = 'public.pgbench_accounts'")" \
	"$((SCALE * 100000))" "rows_copied of pgbench_accounts on the leaf"

sky_check "pgbench_tellers was created on branch and leaf with the root's structure"
structure() {
	sky_psql "$1" <<'SQL'
select string_agg(attname || ' ' || format_type(atttypid, atttypmod) || case when attnotnull then ' not null' else '' end,
		  ', ' order by attnum)
  from pg_attribute where attrelid = 'public.pgbench_tellers'::regclass and attnum > 0 and not attisdropped
union all
select string_agg(pg_get_constraintdef(oid), ', ' order by pg_get_constraintdef(oid))
  from pg_constraint where conrelid = 'public.pgbench_tellers'::regclass
union all
select string_agg(regexp_replace(pg_get_indexdef(indexrelid), '^(CREATE (UNIQUE )?INDEX )\S+ ', '\1'), '; '
		  order by regexp_replace(pg_get_indexdef(indexrelid), '^(CREATE (UNIQUE )?INDEX )\S+ ', '\1'))
  from pg_index where indrelid = 'public.pgbench_tellers'::regclass
SQL
}
want=$(structure db1 | paste -sd'|' -)
sky_log "pgbench_tellers on the root: $want"
for n in db2 db3; do
	sky_assert_eq "$(structure "$n" | paste -sd'|' -)" "$want" "columns, constraints and indexes of pgbench_tellers on $n"
done

changed_accounts() { sky_psql db1 -c "select count(*) from public.pgbench_accounts where abalance <> 0"; }
over_500() { (($(changed_accounts) > 500)); }
sky_wait_for 60 "pgbench changed over 500 accounts" over_500
sky_pgbench_end pgbench
sky_wait_caught_up db2 db3 120
sky_check "all tables equal on root, branch and leaf"
sky_assert_rotated "$ROTATION_FROM" db1 db2
for t in public.small_t "${NEW[@]}"; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
changed=$(changed_accounts)
((changed > 500)) || sky_fail "pgbench changed only $changed accounts: the workload did not run"
sky_ok "$changed accounts changed by pgbench"
sky_run reconcile-final "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "a final dry-run finds nothing to do"
sky_check_workers
