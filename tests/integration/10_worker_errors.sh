#!/usr/bin/env bash
# 10: how the worker deals with failures.
# - retryable: the branch's server (the leaf's provider) stops and restarts, and the root's
#   server restarts under the branch worker; the workers back off, reconnect and catch up;
# - permanent: an event the leaf cannot apply (a CHECK constraint only the leaf has) is recorded
#   in the leaf's catalog (worker_error, shown by skyreconcile), the worker keeps running and
#   does not move past the batch; once the cause is gone the batch is applied, the error cleared,
#   and the tables end equal.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.acct (id int primary key, balance bigint not null)"
done
sky_psql db1 -c "insert into public.acct select g, 100 from generate_series(1, 1000) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.acct
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_replicate "${NODES[@]}"

sky_check "the leaf's provider goes away and comes back: the leaf worker retries and catches up"
sky_pg_stop db2
sky_psql db1 -c "update public.acct set balance = balance + 1 where id <= 100"
sleep 2
sky_pg_start db2
sky_psql db1 -c "update public.acct set balance = balance + 1 where id > 900"
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.acct db1 db2 db3

sky_check "the root restarts under the branch worker: it retries and catches up"
sky_pg_stop db1
sky_pg_start db1
sky_psql db1 -c "update public.acct set balance = balance + 1 where id between 400 and 500"
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.acct db1 db2 db3

sky_check "an event the leaf cannot apply is a permanent error recorded in its catalog"
sky_psql db3 -c "alter table public.acct add constraint leaf_only check (balance < 1000)"
sky_psql db1 -c "update public.acct set balance = 5000 where id = 7"
leaf_error() { sky_psql db3 -c "select worker_error from pgq_set.get_node('app')"; }
leaf_has_error() { [ -n "$(leaf_error)" ]; }
leaf_has_no_error() { [ -z "$(leaf_error)" ]; }
sky_wait_for 60 "the leaf's worker error is recorded" leaf_has_error
err=$(leaf_error)
sky_log "recorded: $err"
case $err in
*leaf_only*) sky_ok "the error names the violated constraint" ;;
*) sky_fail "worker_error does not name the constraint: $err" ;;
esac
[ "$(sky_psql db3 -c "select balance from public.acct where id = 7")" != 5000 ] ||
	sky_fail "the failing batch was applied on the leaf"
sky_ok "the failing batch is not applied on the leaf"
sky_check_workers
sky_run status "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "dry-run while the leaf has a worker error"
sky_assert_contains "$SKY_TMP/log/status.out" "db3: worker error" "skyreconcile shows the leaf's worker error"

sky_check "the cause is fixed: the worker applies the batch and clears the error"
sky_psql db3 -c "alter table public.acct drop constraint leaf_only"
sky_wait_for 120 "the leaf's worker error is cleared" leaf_has_no_error
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.acct db1 db2 db3
sky_ok "retryable failures are retried, permanent ones recorded and recovered from"
