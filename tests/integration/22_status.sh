#!/usr/bin/env bash
# 22: skyreconcile status (issue 10). Root db1, branch db2, leaf db3 under pgbench load, the
# DSNs of db1 and db3 carrying passwords:
# - with every node fine and a table being copied to the branch (its copy process held, so the
#   copy stays in progress): status shows the tree (db1 > db2 > db3), the lags, the workers up,
#   the copy with rows, % and ETA, the table pending on the leaf; exit 0; --json says the same;
# - the branch's worker killed with -9: "worker down" at once (its lock went with its
#   session), exit 1; back to exit 0 once a worker runs again;
# - the branch's worker frozen (SIGSTOP, its lock held): "worker stalled" once its heartbeat
#   is older than the staleness period (10 s), not before; exit 1;
# - the leaf's postmaster frozen (SIGSTOP: connections are accepted by the kernel, never
#   answered): db3 unreachable with "no answer within 2.0 s", the run done within 3 s, exit 1;
# - the leaf's PostgreSQL stopped: db3 unreachable (connection refused) at once, exit 1;
# - no password appears in any output.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
PGB=(public.pgbench_accounts public.pgbench_branches public.pgbench_tellers)
BIG_ROWS=${SKY_STATUS_BIG_ROWS:-3000000}
SECRET_ROOT='R00tPw-status-22'
SECRET_LEAF='LeafPw-status-22'

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
done
sky_dsn_extra db1 "password=$SECRET_ROOT"
sky_dsn_extra db3 "password=$SECRET_LEAF"
sky_pgbench db1 -i -s 2 -q >"$SKY_TMP/log/pgbench-init.out" 2>&1
for n in db2 db3; do
	sky_pgbench "$n" -i -s 1 -I dtp -q >>"$SKY_TMP/log/pgbench-init.out" 2>&1
done
for n in "${NODES[@]}"; do
	sky_psql "$n" -c "create table public.big (id int primary key, n int not null, pad text)"
done
sky_psql db1 -c "insert into public.big select g, 0, 'status test padding' from generate_series(1, $BIG_ROWS) g" -c "analyze public.big"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 "${PGB[@]}"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "create the cascade"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3
sky_pgbench_bg load db1 -n -c 2 -j 1 -T 600 -R 50 -N
sleep 2

status() { # OUTNAME [ARGS]: skyreconcile status, timed (STATUS_MS)
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	sky_run "$name" "$RECONCILE" status -f "$TOPO" "$@"
	STATUS_MS=$((($(date +%s%N) - t0) / 1000000))
	sky_log "$name took $STATUS_MS ms"
}

sky_check "a table being copied to the branch, its copy held in progress"
sky_topology_write "$TOPO" db1 db2 db3 "${PGB[@]}" public.big
sky_run reconcile-big "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "add public.big"
big_progressing() {
	local p
	p=$(sky_table_progress db2 public.big)
	[[ $p =~ ^copying\|([0-9]+)\| ]] && ((BASH_REMATCH[1] > 0))
}
big_copying() {
	[ "$(sky_psql db2 -c "select count(*) from pg_stat_progress_copy
		where relid = 'public.big'::regclass and tuples_processed > 0")" -gt 0 ]
}
# The copy reports its rows about once a second and may be done in less than two: hold it as
# soon as it copies, then let it run in short steps until it has reported rows (a report is
# due at once after a hold longer than its period).
sky_wait_for 60 "the branch copies public.big" big_copying
held=$(sky_copy_hold db2)
for _ in $(seq 1 20); do
	big_progressing && break
	sleep 1.1
	sky_copy_release $held
	sleep 0.05
	held=$(sky_copy_hold db2)
done
if [ -z "$held" ] || ! big_progressing; then
	sky_copy_release $held
	sky_fail "the branch's copy of public.big did not report rows while held in progress: $(sky_table_progress db2 public.big)"
fi
sky_ok "copy held: $(sky_table_progress db2 public.big) (state|rows_copied|rows_estimate|error)"

status healthy
sky_expect_rc 0 "status with every node fine"
sky_assert_contains "$SKY_OUT" 'Cascade "app": root db1, newest tick ' "the header names the root and its newest tick"
sky_assert_contains "$SKY_OUT" $'\ndb1 (root)\n' "the root at the top"
sky_assert_contains "$SKY_OUT" $'\n  db2 (branch, provider db1)\n' "the branch under the root"
sky_assert_contains "$SKY_OUT" $'\n    db3 (leaf, provider db2)\n' "the leaf under the branch"
grep -qE '^      tick [0-9]+ at .*, behind the root: [0-9.]+ s, [0-9]+ ticks?$' "$SKY_OUT" ||
	sky_fail "the branch's lag behind the root is not shown"
grep -qE '^        tick [0-9]+ at .*, behind the root: .*; behind db2: [0-9.]+ s, [0-9]+ ticks?$' "$SKY_OUT" ||
	sky_fail "the leaf's lag behind its provider is not shown"
sky_ok "lags in time and ticks, behind the root and behind the provider"
[ "$(grep -c 'worker up (seen' "$SKY_OUT")" = 3 ] || sky_fail "three workers up expected"
sky_ok "three workers up"
grep -qE '^        public\.big copying [0-9]+/[0-9]+ rows \([0-9]+%\), ETA ' "$SKY_OUT" ||
	sky_fail "the branch's copy of public.big with rows, % and ETA is not shown"
sky_ok "the copy in progress with rows, % and ETA"
sky_assert_contains "$SKY_OUT" "tables: 3 ok, 1 copying" "the branch's table counts"
grep -qE '^          public\.big (pending|copying)' "$SKY_OUT" ||
	sky_fail "public.big is not shown waiting on the leaf"
sky_ok "public.big waits on the leaf (its provider still copies it)"
sky_assert_contains "$SKY_OUT" "All 3 live nodes fine." "the summary"
((STATUS_MS < 1000)) || sky_fail "status of 3 local nodes took $STATUS_MS ms"

status healthy-json --json
sky_expect_rc 0 "status --json"
python3 - "$SKY_OUT" <<'PY' || sky_fail "the JSON document does not say the same"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ok"] is True and doc["problems"] == [], doc["problems"]
nodes = {n["node"]: n for n in doc["nodes"]}
assert [n["node"] for n in doc["nodes"]] == ["db1", "db2", "db3"]
assert [n["depth"] for n in doc["nodes"]] == [0, 1, 2]
assert nodes["db2"]["provider"] == "db1" and nodes["db3"]["provider"] == "db2"
assert doc["root"]["tick"] == nodes["db1"]["last_tick"] > 0
for n in ("db2", "db3"):
    assert nodes[n]["lag"]["root"]["ticks"] >= 0 and nodes[n]["lag"]["provider"]["seconds"] >= 0
    assert nodes[n]["worker"]["state"] == "up"
big = [t for t in nodes["db2"]["tables"]["list"] if t["table"] == "public.big"][0]
assert big["state"] == "copying" and big["rows_copied"] > 0 and big["percent"] is not None
assert big["eta_seconds"] is not None
assert nodes["db3"]["tables"]["pending"] + nodes["db3"]["tables"]["copying"] == 1
PY
sky_ok "the JSON document: tree, lags, workers, the copy with its ETA"
sky_copy_release $held
sky_wait_tables_ok db2 120 public.big
sky_wait_tables_ok db3 120 public.big

sky_check "the branch's worker killed with -9"
sky_worker_kill9 db2
t_kill=$SECONDS
down() {
	"$RECONCILE" status -f "$TOPO" >"$SKY_TMP/down.out" 2>&1 && return 1
	grep -q '^  db2: worker down (' "$SKY_TMP/down.out"
}
sky_wait_for 15 "status says the branch's worker is down" down
sky_ok "worker down shown $((SECONDS - t_kill)) s after the kill"
status worker-down
sky_expect_rc 1 "status with a worker down"
sky_assert_contains "$SKY_OUT" "db2: worker down (" "the problem names the node"
sky_worker_start db2
sky_wait_for 30 "status is fine again with the worker back" "$RECONCILE" status -f "$TOPO" --timeout 3
sky_ok "status exits 0 again"

sky_check "the branch's worker frozen (SIGSTOP): it holds its lock, its heartbeat stops"
wpid=${SKY_WORKER_PID[db2]}
kill -STOP "$wpid"
t_stop=$SECONDS
stalled() {
	"$RECONCILE" status -f "$TOPO" >"$SKY_TMP/stalled.out" 2>&1 && return 1
	grep -q '^  db2: worker stalled (holds its lock, last seen ' "$SKY_TMP/stalled.out"
}
sky_wait_for 20 "status says the branch's worker is stalled" stalled
waited=$((SECONDS - t_stop))
kill -CONT "$wpid"
((waited >= 9)) || sky_fail "the worker was called stalled after $waited s, before the staleness period (10 s)"
sky_ok "worker stalled shown $waited s after its last heartbeat (the staleness period is 10 s)"
sky_wait_for 30 "status is fine again with the worker going on" "$RECONCILE" status -f "$TOPO" --timeout 3

sky_check "the leaf's postmaster frozen: connections accepted, never answered"
pm=$(head -n 1 "$SKY_TMP/db3/data/postmaster.pid")
kill -STOP "$pm"
status frozen --timeout 2
kill -CONT "$pm"
sky_expect_rc 1 "status with an unreachable leaf"
sky_assert_contains "$SKY_OUT" "db3: unreachable: timeout: no answer within 2.0 s (connecting)" \
	"the leaf is unreachable, with the reason"
((STATUS_MS < 3000)) || sky_fail "status took $STATUS_MS ms with a 2 s timeout"
sky_ok "done in $STATUS_MS ms with --timeout 2 (the deadline plus under 1 s)"
sky_assert_contains "$SKY_OUT" $'\n  db2 (branch, provider db1)\n' "the other nodes are still read"

sky_check "the leaf's PostgreSQL stopped"
sky_pg_stop db3
status stopped --timeout 3
sky_expect_rc 1 "status with the leaf down"
sky_assert_contains "$SKY_OUT" 'db3: unreachable: could not connect to node "db3": ' "the leaf is unreachable"
sky_assert_contains "$SKY_OUT" "Connection refused" "with libpq's reason"
((STATUS_MS < 4000)) || sky_fail "status took $STATUS_MS ms with a 3 s timeout"
sky_ok "done in $STATUS_MS ms with --timeout 3"
status stopped-json --json --timeout 3
sky_expect_rc 1 "status --json with the leaf down"
python3 - "$SKY_OUT" <<'PY' || sky_fail "the JSON document does not show the leaf unreachable"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ok"] is False
db3 = [n for n in doc["nodes"] if n["node"] == "db3"][0]
assert db3["reachable"] is False and "Connection refused" in db3["error"], db3
assert db3["depth"] == 2
PY
sky_ok "the JSON document shows the leaf unreachable, still under the branch"
sky_pg_start db3

sky_pgbench_end load
sky_assert_no_secret "$SECRET_ROOT"
sky_assert_no_secret "$SECRET_LEAF"
sky_ok "skyreconcile status"
