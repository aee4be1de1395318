#!/usr/bin/env bash
# 33: PgQ rotates the event tables of the root's and the branch's queues while pgbench writes
# and the workers replicate root db1 -> branch db2 -> leaf db3; nothing is lost or doubled.
# - the queues rotate every second (pgq.set_queue_config rotation_period, pgqd's maint_period of
#   the harness: 2 s), on the root (where the capture writes) and on the branch (where the worker
#   copies the events, into the table pgq_set.queue_event_table names for its transaction);
# - next to pgbench's short transactions, long ones write to the root before a rotation and
#   again after it: with the C capture body the events after the rotation go to the table the
#   transaction's first event found (the queue's row is read once per transaction), and PgQ's
#   batches must still hold them;
# - asserted: each queue rotated at least three times, the long transactions saw the current
#   table change while they were open, and afterwards branch and leaf hold exactly the root's
#   rows of every table, the long transactions' rows included; the branch's queue holds the
#   root's events, every field, in each tick both queues still hold.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
TABLES=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers public.longtx)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_pgbench "$n" -i -s 1 -q >"$SKY_TMP/log/$n.pgbench-init.log" 2>&1 ||
		sky_fail "pgbench -i on $n failed (see $SKY_TMP/log/$n.pgbench-init.log)"
	sky_psql "$n" -c "create table public.longtx (id int primary key, phase text not null,
		event_table text not null)"
done

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 "${TABLES[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_queue_rotation '1 second' db1 db2
rotations() { # rotations NODE: the queue's current table and last switch, as one word
	sky_psql "$1" -c "select queue_cur_table || '@' || queue_switch_time from pgq.queue
		where queue_name = '$SKY_CASCADE'"
}
sky_replicate "${NODES[@]}"

sky_check "pgbench and long transactions on the root while both queues rotate"
declare -A SEEN=([db1]="" [db2]="")
count_rotation() {
	local n r
	for n in db1 db2; do
		r=$(rotations "$n")
		case " ${SEEN[$n]} " in *" $r "*) ;; *) SEEN[$n]="${SEEN[$n]} $r" ;; esac
	done
}
sky_pgbench_bg load db1 -n -c 4 -j 2 -T 14
long_changed=0
for i in 1 2 3 4 5 6; do
	# one transaction open across a rotation: rows before and after, each with the event
	# table PgQ names at that moment (pgq.current_event_table reads the queue's row now)
	out=$(sky_psql db1 <<SQL
begin;
insert into public.longtx values ($((i * 10)), 'before', pgq.current_event_table('$SKY_CASCADE'));
update public.pgbench_accounts set abalance = abalance + 1 where aid = $i;
select pgq.current_event_table('$SKY_CASCADE');
select pg_sleep(2.5);
insert into public.longtx values ($((i * 10 + 1)), 'after', pgq.current_event_table('$SKY_CASCADE'));
update public.pgbench_accounts set abalance = abalance + 1 where aid = $i;
select pgq.current_event_table('$SKY_CASCADE');
commit;
SQL
)
	first=$(sed -n 1p <<<"$out")
	last=$(sed -n 3p <<<"$out")
	[ "$first" = "$last" ] || long_changed=$((long_changed + 1))
	count_rotation
done
sky_bg_wait load
count_rotation
for n in db1 db2; do
	got=$(wc -w <<<"${SEEN[$n]}")
	[ "$got" -ge 3 ] || sky_fail "the queue on $n rotated too rarely to test anything: seen ${SEEN[$n]}"
	sky_ok "$n: $got states of the queue's current table seen"
done
[ "$long_changed" -ge 2 ] ||
	sky_fail "only $long_changed of 6 long transactions had the queue rotate while open"
sky_ok "$long_changed of 6 long transactions had the queue rotate under them"

sky_check "branch and leaf hold exactly the root's rows"
sky_wait_caught_up db2 db3 180
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" db1 db2 db3
done
sky_assert_eq "$(sky_psql db3 -c "select count(*) from public.longtx")" 12 \
	"the leaf has every row of the long transactions"
sky_ok "no row lost or doubled through the rotations"

sky_check "the branch's queue holds the root's events, tick by tick, in the ticks both still have"
sky_queue_rotation '1 hour' db1 db2
sleep 3 # a rotation pgqd started before (maint_period 2 s) is over
sky_assert_queue_matches db1 db2
