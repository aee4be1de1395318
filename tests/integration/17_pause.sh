#!/usr/bin/env bash
# 17: pause is quiescent (DESIGN invariant 6). The leaf is paused with pgq_set.set_paused under an
# update load on the root while it copies a table (its copy process held with SIGSTOP, so the copy
# is in progress however fast it would be):
# - paused_ack becomes true within seconds; the copy process is gone and its copy rolled back (the
#   table stays 'copying', empty); the leaf's tick and tables stop changing while the root's change;
# - a table added while paused stays pending on the leaf (the branch copies it);
# - set_paused is safe to re-run; resuming clears paused_ack at once; then every table is copied,
#   the leaf catches up and all tables are equal.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
ROWS=${SKY_PAUSE_ROWS:-600000}

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.acct (id int primary key, v bigint not null)"
	sky_psql "$n" -c "create table public.big_t (id int primary key, pad text)"
	sky_psql "$n" -c "create table public.new_t (id int primary key, v int)"
done
sky_psql db1 -c "insert into public.acct select g, 0 from generate_series(1, 1000) g"
sky_psql db1 -c "insert into public.big_t select g, repeat('x', 40) from generate_series(1, $ROWS) g"
sky_psql db1 -c "insert into public.new_t select g, g from generate_series(1, 1000) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.acct
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_replicate "${NODES[@]}"

cat >"$SKY_TMP/load.sql" <<'SQL'
\set id random(1, 1000)
update public.acct set v = v + 1 where id = :id;
SQL
sky_pgbench_bg load db1 -n -c 2 -T 600 -R 100 -f "$SKY_TMP/load.sql"

sky_check "the leaf copies big_t ($ROWS rows) under load; its copy process is held in progress"
sky_topology_write "$TOPO" db1 db2 db3 public.acct public.big_t
sky_run reconcile-add "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile adding big_t"
sky_wait_tables_ok db2 120 public.big_t
# hold the leaf's copy processes and keep them held once one is in the middle of its COPY into
# big_t (a copy process that only finds the branch not ready yet is let go again)
held=""
hold_leaf_copy() {
	held=$(sky_copy_hold db3)
	if [ -n "$held" ] && [ "$(sky_psql db3 -c "select count(*) from pg_stat_progress_copy
		where relid = 'public.big_t'::regclass")" -gt 0 ]; then
		return 0
	fi
	sky_copy_release $held
	held=""
	[ "$(sky_table_state db3 public.big_t)" = copying ] ||
		sky_fail "the leaf finished copying big_t before the test could hold the copy: make it bigger (SKY_PAUSE_ROWS)"
	return 1
}
# tried every 20 ms (not sky_wait_for's 100 ms): the leaf's COPY may last well under a second
hold_start=$SECONDS
until hold_leaf_copy; do
	sky_check_workers
	((SECONDS - hold_start < 60)) || sky_fail "the leaf's copy of big_t was not seen in its COPY within 60 s"
	sleep 0.02
done
sky_ok "the leaf's copy process for big_t held in its COPY (after $((SECONDS - hold_start))s)"
[ "$(sky_table_state db3 public.big_t)" = copying ] || sky_fail "big_t is not copying on the leaf while its copy is held"
sky_ok "the leaf's copy of big_t held (copy process $held): $(sky_table_progress db3 public.big_t) (state|rows_copied|rows_estimate|error)"

sky_check "pause the leaf: acknowledged within seconds, its copy stopped and rolled back"
sky_assert_eq "$(sky_psql db3 -c "select pgq_set.set_paused('$SKY_CASCADE', true)")" 1 "set_paused(true)"
paused_at=$SECONDS
leaf_acked() { [ "$(sky_psql db3 -c "select paused_ack from pgq_set.get_node('$SKY_CASCADE')")" = t ]; }
# a held copy process ignores SIGTERM until it is killed 5 s later
sky_wait_for 15 "paused_ack on the leaf" leaf_acked
sky_log "acknowledged $((SECONDS - paused_at))s after set_paused"
sky_assert_eq "$(sky_worker_pids db3 | wc -l)" 1 "processes of the leaf's worker (no copy process)"
no_copy_session() {
	[ "$(sky_psql db3 -c "select count(*) from pg_stat_activity where application_name = 'skyworker copy'")" = 0 ]
}
sky_wait_for 30 "no copy session on the leaf" no_copy_session
sky_assert_eq "$(sky_table_state db3 public.big_t)" copying "big_t on the paused leaf (copied again after the resume)"
sky_assert_eq "$(sky_table_count db3 public.big_t)" 0 "rows of big_t on the leaf (the copy rolled back)"
sky_assert_eq "$(sky_psql db3 -c "select pgq_set.set_paused('$SKY_CASCADE', true)")" 0 "set_paused(true) again"
sky_assert_eq "$(sky_psql db3 -c "select paused_ack from pgq_set.get_node('$SKY_CASCADE')")" t "paused_ack after set_paused(true) again"
sky_assert_contains "$SKY_TMP/log/db3.worker.log" "pause acknowledged" "the leaf's worker logs the acknowledgement"

sky_check "the paused leaf's tables stop changing while the root's change"
tick0=$(sky_node_tick db3)
leaf0=$(sky_table_md5 db3 public.acct)
root0=$(sky_table_md5 db1 public.acct)
sleep 3
sky_assert_eq "$(sky_node_tick db3)" "$tick0" "the paused leaf's tick"
sky_assert_eq "$(sky_table_md5 db3 public.acct)" "$leaf0" "md5 of acct on the paused leaf"
[ "$(sky_table_md5 db1 public.acct)" != "$root0" ] || sky_fail "the load did not change acct on the root"
sky_ok "acct changed on the root meanwhile"
sky_bg_running load || sky_fail "the load ended early"

sky_check "new_t added while the leaf is paused: the branch copies it, the leaf leaves it pending"
for n in db1 db2 db3; do
	sky_psql "$n" -c "select pgq_set.add_table('$SKY_CASCADE', 'public.new_t')" >/dev/null
done
sky_wait_tables_ok db2 60 public.new_t
sleep 2
sky_assert_eq "$(sky_table_state db3 public.new_t)" pending "new_t on the paused leaf"
sky_assert_eq "$(sky_worker_pids db3 | wc -l)" 1 "processes of the paused leaf's worker"
sky_check_workers

sky_check "resume: paused_ack cleared at once, everything catches up"
sky_assert_eq "$(sky_psql db3 -c "select pgq_set.set_paused('$SKY_CASCADE', false)")" 1 "set_paused(false)"
sky_assert_eq "$(sky_psql db3 -c "select paused || '/' || paused_ack from pgq_set.get_node('$SKY_CASCADE')")" "false/false" "paused/paused_ack after the resume"
sky_copy_release $held
sky_wait_all_tables_ok 180 db2 db3
sky_psql db1 -c "update public.new_t set v = v + 1 where id <= 100"
sky_psql db1 -c "update public.big_t set pad = 'y' where id <= 100"
kill -TERM "${SKY_BG_PID[load]}"
sky_bg_wait load || true
sky_wait_caught_up db2 db3 120
sky_assert_contains "$SKY_TMP/log/db3.worker.log" "resumed" "the leaf's worker logs the resume"
for t in acct big_t new_t; do
	sky_assert_tables_equal "public.$t" db1 db2 db3
done
sky_check_workers
sky_ok "pause is quiescent and resume catches up"
