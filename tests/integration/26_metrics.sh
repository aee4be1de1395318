#!/usr/bin/env bash
# 26: the operator's views of a running cascade. Root db1 -> leaf db2, the leaf's worker started
# with --metrics 127.0.0.1:PORT:
# - /metrics answers in the Prometheus text format and passes `promtool check metrics`; it has
#   skyworker_up 1, the node's identity, the table's state (ok), a lag;
# - skyworker_batches_total and skyworker_events_total grow after writes on the root;
# - `skyreconcile graph` (DOT, from the catalogs) renders with `dot -Tsvg` and names every node,
#   with the edge db1 -> db2 labelled with a lag in ticks; --mermaid names every node too;
# - a worker killed with SIGKILL is down: its endpoint is gone; the graph then still draws db2
#   (its server is up) and, with db2's server stopped, marks it unreachable.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
for p in promtool curl dot; do
	command -v "$p" >/dev/null || sky_fail "$p is not installed (.ci/deps.sh installs it)"
done
NODES=(db1 db2)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.acct (id int primary key, v bigint not null)"
done
sky_psql db1 -c "insert into public.acct select g, 0 from generate_series(1, 100) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.acct
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_pgqd_start "${NODES[@]}"

MPORT=$(_sky_port_pick)
URL=http://127.0.0.1:$MPORT/metrics
sky_worker_start db1
sky_worker_start db2 -v --poll-interval 0.2 --metrics "127.0.0.1:$MPORT"

scrape() { curl -fsS --max-time 5 "$URL" >"$SKY_TMP/$1.prom"; }
# metric FILE NAME: the value of the sample NAME (no labels, or with its labels as written)
metric() { awk -v n="$2" '$1 == n { print $2 }' "$SKY_TMP/$1.prom"; }

sky_wait_for 20 "the leaf's metrics endpoint answers" scrape first
sky_wait_all_tables_ok 60 db2
sky_wait_caught_up db2 60

# the worker reads its tables' states once a second
table_ok_in_metrics() {
	scrape before &&
		[ "$(metric before 'skyworker_table_state{table="public.acct",state="ok"}')" = 1 ]
}
sky_wait_for 10 "the leaf's metrics show public.acct ok" table_ok_in_metrics

sky_check "the endpoint's text passes promtool check metrics"
if ! promtool check metrics <"$SKY_TMP/before.prom" >"$SKY_TMP/log/promtool.out" 2>&1; then
	cat "$SKY_TMP/before.prom" "$SKY_TMP/log/promtool.out" >&2
	sky_fail "promtool check metrics refused the worker's metrics"
fi
sky_assert_eq "$(metric before skyworker_up)" 1 "skyworker_up"
sky_assert_eq "$(metric before skyworker_paused)" 0 "skyworker_paused"
sky_assert_eq "$(metric before 'skyworker_info{cascade="app",node="db2",role="leaf"}')" 1 \
	"skyworker_info"
sky_assert_eq "$(metric before 'skyworker_table_state{table="public.acct",state="copying"}')" 0 \
	"skyworker_table_state of public.acct, copying"
[ -n "$(metric before skyworker_lag_seconds)" ] || sky_fail "no skyworker_lag_seconds"
[ -n "$(metric before skyworker_lag_ticks)" ] || sky_fail "no skyworker_lag_ticks"
sky_ok "promtool accepts it; up, info, paused, table state and lag are there"

sky_check "batches and events grow with writes on the root"
b0=$(metric before skyworker_batches_total)
e0=$(metric before skyworker_events_total)
for i in 1 2 3 4 5; do
	sky_psql db1 -c "update public.acct set v = v + 1 where id <= 20"
	sleep 0.3
done
sky_wait_caught_up db2 60
scrape after
b1=$(metric after skyworker_batches_total)
e1=$(metric after skyworker_events_total)
((b1 > b0)) || sky_fail "skyworker_batches_total did not grow: $b0 -> $b1"
((e1 - e0 >= 100)) || sky_fail "skyworker_events_total grew by $((e1 - e0)), expected at least 100"
sky_assert_tables_equal public.acct db1 db2
grep -v '^#' "$SKY_TMP/after.prom" | sed 's/^/  [metrics] /'
sky_ok "skyworker_batches_total $b0 -> $b1, skyworker_events_total $e0 -> $e1"

sky_check "skyreconcile graph: DOT from the catalogs renders with dot -Tsvg and names every node"
sky_run graph "$RECONCILE" graph -f "$TOPO"
sky_expect_rc 0 "skyreconcile graph"
cp "$SKY_OUT" "$SKY_TMP/cascade.dot"
if ! dot -Tsvg "$SKY_TMP/cascade.dot" >"$SKY_TMP/cascade.svg" 2>"$SKY_TMP/log/dot.err"; then
	cat "$SKY_TMP/log/dot.err" >&2
	sky_fail "dot -Tsvg refused the graph"
fi
for n in "${NODES[@]}"; do
	grep -q ">$n<" "$SKY_TMP/cascade.svg" || sky_fail "the rendered graph does not name $n"
done
sky_assert_contains "$SKY_TMP/cascade.dot" '"db1" -> "db2" [label="lag ' "the edge db1 -> db2 with its lag"
sky_run graph-mermaid "$RECONCILE" graph --mermaid -f "$TOPO"
sky_expect_rc 0 "skyreconcile graph --mermaid"
for n in "${NODES[@]}"; do
	grep -q "n_$n" "$SKY_OUT" || sky_fail "the Mermaid graph does not name $n"
done
sky_ok "the DOT renders to SVG naming db1 and db2; the Mermaid flowchart names them too"

sky_check "a worker killed with SIGKILL is down: its endpoint is gone"
sky_worker_kill9 db2
if curl -fsS --max-time 3 "$URL" >/dev/null 2>&1; then
	sky_fail "$URL still answers after the worker was killed"
fi
_sky_port_release "$MPORT"
sky_ok "$URL refuses connections"

sky_check "skyreconcile graph with db2's server stopped: db2 is drawn unreachable"
sky_pg_stop db2
sky_run graph-down "$RECONCILE" graph -f "$TOPO"
sky_expect_rc 0 "skyreconcile graph with a node down"
sky_assert_contains "$SKY_OUT" 'db2\nleaf\nunreachable' "db2 marked unreachable"
dot -Tsvg "$SKY_OUT" >/dev/null || sky_fail "dot -Tsvg refused the graph with a node down"

sky_log "passed"
