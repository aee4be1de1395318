#!/usr/bin/env bash
# 24: two skyreconcile processes never apply to one cascade at once (issue 10, locking).
# The reconcile lock is a session advisory lock on a majority of the live nodes.
# - Two applies started together: one applies the plan, the other waits ("waiting: ... being
#   reconciled by HOST pid N"), then finds nothing to do: nothing is done twice. The test hook
#   SKY_RECONCILE_LOCK_HOLD_MS makes the holder keep the lock a few seconds before it plans.
# - While one holds it, another with --lock-timeout 1 refuses with exit 1, naming the holder's
#   host and pid.
# - A holder killed with -9 does not block the next one.
# - --dry-run takes no lock; with the root's PostgreSQL down the lock is still taken (2 of 3);
#   with two of three down it is refused (no majority).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t (id int primary key)"
done
TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- public.t
sky_run create "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 60 db2 db3
held_by() { # NODE: pids of skyreconcile holding the lock there
	sky_psql "$1" -c "select coalesce(string_agg(pid::text, ','), '') from pgq_set.get_reconciler('$SKY_CASCADE')"
}

sky_check "two applies started together"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2|paused: true" -- public.t
export SKY_RECONCILE_LOCK_HOLD_MS=4000
sky_bg a "$RECONCILE" -f "$TOPO"
sky_bg b "$RECONCILE" -f "$TOPO"
unset SKY_RECONCILE_LOCK_HOLD_MS
someone_holds() { [ -n "$(held_by db2)" ]; }
sky_wait_for 10 "one of them holds the lock" someone_holds
holder=$(held_by db2)
sky_wait_for 10 "the other one waits, naming the holder" \
	grep -qE "waiting: cascade \"$SKY_CASCADE\" is being reconciled by [^ ]+ pid $holder since" \
	"$SKY_TMP/log/a.out" "$SKY_TMP/log/b.out"

sky_check "a third one with --lock-timeout 1 refuses, naming the holder"
sky_run c "$RECONCILE" -f "$TOPO" --lock-timeout 1
sky_expect_rc 1 "refused"
sky_assert_contains "$SKY_ERR" "error: cascade \"$SKY_CASCADE\" is being reconciled by $(hostname) pid $holder since" \
	"the refusal names host, pid and since"
sky_run dry "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "--dry-run takes no lock: it plans at once"

rc_a=0 rc_b=0
sky_bg_wait a || rc_a=$?
sky_bg_wait b || rc_b=$?
sed 's/^/  [a] /' "$SKY_TMP/log/a.out"
sed 's/^/  [b] /' "$SKY_TMP/log/b.out"
sky_assert_eq "$rc_a $rc_b" "0 0" "both exit 0"
n_applied=$(cat "$SKY_TMP/log/a.out" "$SKY_TMP/log/b.out" | grep -c "~ db3: pause: .* done" || true)
n_nothing=$(cat "$SKY_TMP/log/a.out" "$SKY_TMP/log/b.out" | grep -c "No changes" || true)
sky_assert_eq "$n_applied $n_nothing" "1 1" "one paused db3, the other found nothing to do"
sky_assert_eq "$(sky_psql db3 -c "select paused from pgq_set.get_node('$SKY_CASCADE')")" t "db3 is paused"

sky_check "a holder killed with -9 does not block the next one"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1|paused: true" "db3 leaf db2" -- public.t
SKY_RECONCILE_LOCK_HOLD_MS=120000 sky_bg holder "$RECONCILE" -f "$TOPO"
holder_holds() { [ "$(held_by db1)" = "${SKY_BG_PID[holder]}" ]; }
sky_wait_for 10 "the holder holds the lock" holder_holds
kill -KILL "${SKY_BG_PID[holder]}"
sky_bg_wait holder || true
start=$SECONDS
sky_run next "$RECONCILE" -f "$TOPO" --lock-timeout 10
sky_expect_rc 0 "the next one applies"
((SECONDS - start < 10)) || sky_fail "the next one waited for a dead holder"
grep -q "waiting" "$SKY_ERR" && sky_fail "the next one waited for a dead holder"
sky_ok "it did not wait for the dead holder"
sky_assert_eq "$(sky_psql db2 -c "select paused from pgq_set.get_node('$SKY_CASCADE')") $(sky_psql db3 -c "select paused from pgq_set.get_node('$SKY_CASCADE')")" \
	"t f" "db2 paused, db3 resumed"

sky_check "the root down: 2 of 3 live nodes still give the lock"
sky_pg_stop db1
sky_run rootdown "$RECONCILE" -f "$TOPO" --lock-timeout 1
sky_expect_rc 1 "the plan has a problem (db1 unreachable)"
sky_assert_contains "$SKY_OUT" "! db1: unreachable" "db1 is reported unreachable"
grep -q "cannot lock\|being reconciled" "$SKY_ERR" && sky_fail "the lock was refused with the root down"
sky_ok "the lock was taken with the root down"
sky_pg_stop db2
sky_run nomajority "$RECONCILE" -f "$TOPO" --lock-timeout 1
sky_expect_rc 1 "refused"
sky_assert_contains "$SKY_ERR" "cannot lock cascade \"$SKY_CASCADE\": 1 of its 3 live nodes are reachable, a majority (2) is needed" \
	"without a majority the lock is refused"
sky_pg_start db1
sky_pg_start db2
sky_ok "locking"
