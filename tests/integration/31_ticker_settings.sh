#!/usr/bin/env bash
# 31: the root queue's ticker thresholds (issue 13). Root db1, leaf db2, table public.t.
# - create_root gives the queue 500 events / 0.05 s / 60 s idle (pgq.queue), and a file without
#   settings.ticker_* plans nothing for them;
# - settings.ticker_max_lag / ticker_idle_period are planned as one "~ db1: set ticker_..." change
#   each, applied to pgq.queue, and a dry-run then finds nothing to do; removing them plans the
#   way back to the defaults;
# - a change committed on the root is on the leaf well within a second (ticks 0.05 s after
#   events with pgqd's 0.1 s round, the worker's 50 ms polls while batches come).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
for n in db1 db2; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t (id int primary key, v text)"
done
TOPO=$SKY_TMP/topology.yaml
ticker() {
	sky_psql db1 -c "select max_count || '/' || max_lag_s || '/' || idle_period_s
		from pgq_set.get_ticker('app')"
}

sky_check "create_root's thresholds, nothing planned for them"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.t
sky_run apply "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "the cascade is created"
sky_assert_eq "$(ticker)" "500/0.05/60" "the root queue's ticker thresholds"
sky_run dry-run "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing to do"

sky_check "settings.ticker_* are planned and applied"
SKY_TOPO_EXTRA=$'settings:\n  ticker_max_lag: 0.5\n  ticker_idle_period: 10' \
	sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.t
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 2 "changes found"
sky_assert_eq "$(grep -E '^[+~-] ' "$SKY_OUT" | tr '\n' '|')" \
	"~ db1: set ticker_max_lag 0.05 -> 0.5|~ db1: set ticker_idle_period 60 -> 10|" "the plan"
sky_run apply-2 "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "applied"
sky_assert_eq "$(ticker)" "500/0.5/10" "the queue has them"
sky_run dry-run-3 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.t
sky_run apply-3 "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "the settings removed: back to the defaults"
sky_assert_eq "$(ticker)" "500/0.05/60" "the defaults again"

sky_check "a change reaches the leaf promptly"
sky_pgqd_start db1 db2
sky_worker_start db1
sky_worker_start db2
sky_wait_tables_ok db2 30 public.t
sky_psql db1 -c "insert into public.t values (1, 'first')" >/dev/null
db2_rows() { test "$(sky_psql db2 -c "select count(*) from public.t")" = "$1"; }
sky_wait_for 10 "the first row on db2" db2_rows 1
lag=$(sky_psql db1 -c "insert into public.t values (2, 'second');
	select extract(epoch from clock_timestamp())")
for _ in $(seq 1 500); do
	db2_rows 2 && break
	sleep 0.02
done
seen=$(sky_psql db2 -c "select extract(epoch from clock_timestamp())")
lag=$(awk -v a="$lag" -v b="$seen" 'BEGIN { printf "%.3f", b - a }')
sky_log "insert on db1 -> visible on db2: $lag s"
# generous for a loaded CI machine; bench/run.sh measures the lag itself
awk -v l="$lag" 'BEGIN { exit !(l < 2) }' || sky_fail "the row took $lag s to reach db2"
sky_ok "the row was on db2 after $lag s"
sky_assert_tables_equal public.t db1 db2
sky_check_workers
