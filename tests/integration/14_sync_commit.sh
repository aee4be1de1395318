#!/usr/bin/env bash
# 14: exactly-once does not depend on the server's synchronous_commit. Branch and leaf run with
# synchronous_commit = off (the harness default), fsync = on and wal_writer_delay = 10s, so that a
# crash (pg_ctl stop -m immediate) loses every commit made in the last seconds that nobody waited
# for. The worker's own commits that the protocol relies on (apply, finish on the provider) must
# be synchronous whatever the default.
# - leaf crash: four one-row batches applied on the leaf, the leaf's server crashes: the leaf
#   keeps its position (no "lost position": the provider finished those batches), nothing is lost;
# - provider crash: four one-row batches applied on branch and leaf, the branch (the leaf's
#   provider) crashes: it keeps its own position and the leaf's finishes, nothing is lost.
# The workers keep running through the crashes: a backend that ends normally drops its temporary
# tables, and a commit that drops files waits for its flush, which would flush everything before it.
# Without the fix the leaf's or the branch's worker stops with "lost position" here, unless the wal
# writer happened to flush between the last batch and the crash (a few ms out of its 10 s period).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.acct (id int primary key, v int not null)"
done
for n in db2 db3; do
	sky_pg_conf "$n" 'fsync = on' 'wal_writer_delay = 10s'
	sky_assert_eq "$(sky_psql "$n" -c "show synchronous_commit")" off "$n: synchronous_commit"
done
sky_psql db1 -c "insert into public.acct select g, 0 from generate_series(1, 100) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.acct
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_replicate "${NODES[@]}"

# one_row_batches NODE...: four inserts on the root, each caught up by NODEs before the next, so
# each arrives in a batch of its own
NEXT_ID=1000
one_row_batches() {
	local i
	for i in 1 2 3 4; do
		NEXT_ID=$((NEXT_ID + 1))
		sky_psql db1 -c "insert into public.acct values ($NEXT_ID, $i)"
		sky_wait_caught_up "$@" 60
	done
}

# crash NODE: pg_ctl stop -m immediate, then a start
crash() {
	sky_pg_stop "$1" immediate
	sky_pg_start "$1"
}

assert_no_lost_position() {
	local n
	for n in db2 db3; do
		if grep -q "lost position" "$SKY_TMP/log/$n.worker.log"; then
			grep "lost position" "$SKY_TMP/log/$n.worker.log" | tail -n 3 >&2
			sky_fail "the worker of $n lost its position"
		fi
	done
	sky_ok "no worker lost its position"
}

sky_check "the leaf's server crashes right after four one-row batches: nothing is lost"
tick_before=$(sky_node_tick db3)
one_row_batches db3
sky_log "leaf at tick $(sky_node_tick db3) (was $tick_before)"
crash db3
sky_log "leaf at tick $(sky_node_tick db3) after the crash"
sky_psql db1 -c "update public.acct set v = v + 1 where id <= 10"
sky_wait_caught_up db2 db3 120
sky_check_workers
assert_no_lost_position
sky_assert_tables_equal public.acct db1 db2 db3

sky_check "the branch (the leaf's provider) crashes right after four one-row batches: nothing is lost"
one_row_batches db2 db3
sky_log "branch at tick $(sky_node_tick db2), leaf at tick $(sky_node_tick db3)"
crash db2
sky_log "branch at tick $(sky_node_tick db2) after the crash; the leaf's position there:" \
	"$(sky_psql db2 -c "select last_tick from pgq_set.get_subscribers('$SKY_CASCADE') where node_name = 'db3'")"
sky_psql db1 -c "update public.acct set v = v + 1 where id > 90"
sky_wait_caught_up db2 db3 120
sky_check_workers
assert_no_lost_position
sky_assert_tables_equal public.acct db1 db2 db3
sky_ok "no commit the protocol relies on was lost in either crash"
