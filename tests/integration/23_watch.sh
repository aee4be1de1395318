#!/usr/bin/env bash
# 23: skyreconcile watch follows a git repository and repairs drift (issue 10).
# A repository fixture (git init, commits with the git CLI) holds topology.yaml for root db1,
# branch db2 and leaf db3. `skyreconcile watch --repo --interval 2` runs in the background:
# - commits (create the cascade, add a table, change the provider of the leaf, pause a node) are
#   each reconciled within a few seconds, and the revision recorded on every node is
#   `git rev-parse HEAD`;
# - an edit in the working tree and the index (never committed) is not applied;
# - drift made by hand in SQL is repaired by the periodic reconcile: a node resumed by hand
#   though the file pauses it, a capture trigger dropped on the root, the leaf's provider
#   changed, a table removed from the leaf's catalog;
# - an invalid commit is not applied (the previous state stays) and its error, with
#   REF:PATH:LINE:COL, is recorded as the last attempted revision; the next good commit applies;
# - --metrics: /metrics passes `promtool check metrics`; the applied revision is HEAD's id and
#   its time moves with a commit; reconciles by outcome (applied, invalid), drift repairs and a
#   lock wait (a second skyreconcile holding the lock) are counted;
# - SIGTERM ends watch with exit 0.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
command -v git >/dev/null || sky_fail "git is not installed"
for p in promtool curl; do
	command -v "$p" >/dev/null || sky_fail "$p is not installed (.ci/deps.sh installs it)"
done
NODES=(db1 db2 db3)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" <<'SQL'
create table public.t (id int primary key, v text);
create table public.u (id int primary key, v text);
SQL
done
sky_psql db1 -c "insert into public.t select g, 'x' from generate_series(1, 100) g;
	insert into public.u select g, 'y' from generate_series(1, 100) g"

REPO=$SKY_TMP/repo
mkdir -p "$REPO"
git -C "$REPO" init -q -b main
git -C "$REPO" config user.email test@example.com
git -C "$REPO" config user.name test
TOPO=$REPO/topology.yaml
commit() { # MESSAGE: commit topology.yaml as it is in the working tree
	git -C "$REPO" add topology.yaml
	git -C "$REPO" commit -q -m "$1"
	HEAD_ID=$(git -C "$REPO" rev-parse HEAD)
	COMMITTED_AT=$SECONDS
	sky_log "commit $(git -C "$REPO" rev-parse --short HEAD): $1"
}
applied() { # NODE: the applied revision recorded there
	sky_psql "$1" -c "select applied_revision from pgq_set.get_revision('$SKY_CASCADE')" 2>/dev/null || true
}
all_applied() { # every node records HEAD_ID as applied
	local n
	for n in "${NODES[@]}"; do
		[ "$(applied "$n")" = "$HEAD_ID" ] || return 1
	done
}
wait_applied() { # WHAT [SECONDS]: every node records HEAD as applied within SECONDS (default 8)
	sky_wait_for "${2:-8}" "$1: revision $HEAD_ID applied on every node" all_applied
	sky_log "reconciled $((SECONDS - COMMITTED_AT))s after the commit"
}
node_field() { sky_psql "$1" -c "select $2 from pgq_set.get_node('$SKY_CASCADE')"; }

sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- public.t
commit "create cascade app"
sky_pgqd_start "${NODES[@]}"
MPORT=$(_sky_port_pick)
sky_bg watch "$RECONCILE" watch --repo "$REPO" --interval 2 --wait-timeout 30 \
	--metrics "127.0.0.1:$MPORT"
scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$SKY_TMP/$1.prom"; }
# metric FILE NAME: the value of the sample NAME (with its labels as written)
metric() { awk -v n="$2" '$1 == n { print $2 }' "$SKY_TMP/$1.prom"; }
promtool_ok() { # FILE
	promtool check metrics <"$SKY_TMP/$1.prom" >"$SKY_TMP/log/promtool.out" 2>&1 ||
		{ cat "$SKY_TMP/$1.prom" "$SKY_TMP/log/promtool.out" >&2; sky_fail "promtool check metrics refused watch's metrics ($1)"; }
}
WATCH_OUT=$SKY_TMP/log/watch.out
wait_applied "create the cascade" 30
# the workers start once their node exists (a worker that finds no pgq_set schema waits 10 s)
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_assert_eq "$(sky_psql db1 -c "select applied_subject || ' / ' || (attempted_error is null)
	from pgq_set.get_revision('$SKY_CASCADE')")" "create cascade app / true" "the subject is recorded, no error"
sky_wait_all_tables_ok 60 db2 db3

sky_check "watch --metrics: promtool accepts it, the applied revision is HEAD"
# the revision is recorded on the nodes before the reconcile's end is counted
m_applied() { scrape m1 && [ "$(metric m1 "skyreconcile_applied_revision_info{revision=\"$HEAD_ID\"}")" = 1 ]; }
sky_wait_for 5 "the metrics name HEAD as the applied revision" m_applied
promtool_ok m1
sky_assert_eq "$(metric m1 skyreconcile_up)" 1 "skyreconcile_up"
sky_assert_eq "$(metric m1 "skyreconcile_watch_info{cascade=\"$SKY_CASCADE\"}")" 1 "skyreconcile_watch_info"
(($(metric m1 'skyreconcile_reconciles_total{outcome="applied"}') >= 1)) ||
	sky_fail "skyreconcile_reconciles_total{outcome=\"applied\"} is not counted"
T1=$(metric m1 skyreconcile_applied_revision_timestamp_seconds)
A1=$(metric m1 'skyreconcile_reconciles_total{outcome="applied"}')
sky_ok "promtool accepts it; up, info, applied revision $HEAD_ID at $T1"

sky_check "commit: add table public.u"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- public.t public.u
commit "add table u"
wait_applied "add table u" 5
sky_assert_eq "$(sky_table_state db3 public.u | sed 's/copying\|catching-up\|ok/registered/;s/pending/registered/')" \
	registered "public.u is registered on the leaf"
sky_wait_all_tables_ok 60 db2 db3

sky_check "watch --metrics: the counters move with the commit"
m_moved() { scrape m2 && [ "$(metric m2 "skyreconcile_applied_revision_info{revision=\"$HEAD_ID\"}")" = 1 ]; }
sky_wait_for 5 "the metrics name the new HEAD" m_moved
A2=$(metric m2 'skyreconcile_reconciles_total{outcome="applied"}')
T2=$(metric m2 skyreconcile_applied_revision_timestamp_seconds)
((A2 > A1)) || sky_fail "skyreconcile_reconciles_total{outcome=\"applied\"} did not grow: $A1 -> $A2"
awk -v a="$T1" -v b="$T2" 'BEGIN { exit !(b > a) }' ||
	sky_fail "skyreconcile_applied_revision_timestamp_seconds did not move: $T1 -> $T2"
(($(metric m2 'skyreconcile_operations_total{kind="add_table",result="done"}') >= 1)) ||
	sky_fail "the add_table operations are not counted"
sky_ok "applied reconciles $A1 -> $A2, revision time $T1 -> $T2, add_table counted"

sky_check "commit: the leaf db3 moves from db2 to db1"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db1" -- public.t public.u
commit "db3 pulls from db1"
wait_applied "change provider" 10
sky_assert_eq "$(node_field db3 "provider_node || ' ' || paused")" "db1 false" "db3 pulls from db1, not paused"

sky_check "commit: pause db2"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1|paused: true" "db3 leaf db1" -- public.t public.u
commit "pause db2"
wait_applied "pause db2" 10
sky_assert_eq "$(node_field db2 paused)" t "db2 is paused"
sky_assert_contains "$WATCH_OUT" "Revision: $(git -C "$REPO" rev-parse --short HEAD) pause db2" \
	"watch names the revision it applies"

sky_check "the working tree and the index are never read"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1|paused: true" "db3 leaf db1|paused: true" -- public.t public.u
git -C "$REPO" add topology.yaml
# meanwhile a second skyreconcile holds the lock for 2.5 s: watch's periodic reconcile waits
sky_bg holder env SKY_RECONCILE_LOCK_HOLD_MS=2500 "$RECONCILE" --repo "$REPO" --lock-timeout 20
sleep 5 # more than two periodic reconciles
sky_bg_wait holder || sky_fail "the second skyreconcile failed (see $SKY_TMP/log/holder.out)"
sky_assert_eq "$(node_field db3 paused)" f "an uncommitted (staged) edit is not applied"
sky_assert_eq "$(applied db3)" "$HEAD_ID" "the applied revision is still HEAD"
git -C "$REPO" checkout -q HEAD -- topology.yaml
git -C "$REPO" reset -q

sky_check "drift: db2 resumed by hand"
sky_psql db2 -c "select pgq_set.set_paused('$SKY_CASCADE', false)" >/dev/null
is_field() { [ "$(node_field "$1" "$2")" = "$3" ]; } # NODE EXPR VALUE
sky_wait_for 10 "db2 paused again by the periodic reconcile" is_field db2 paused t

sky_check "drift: a capture trigger dropped by hand on the root"
trig=$(sky_psql db1 -c "select pgq_set.trigger_name('$SKY_CASCADE', (pgq_set.capture_kinds())[1])")
sky_psql db1 -c "drop trigger \"$trig\" on public.t"
has_trigger() { [ "$(sky_psql db1 -c "select count(*) from pg_trigger where tgrelid = 'public.t'::regclass and tgname = '$trig'")" = 1 ]; }
sky_wait_for 10 "the capture trigger is back" has_trigger
sky_psql db1 -c "insert into public.t values (1001, 'after repair')"
row_on_leaf() { [ "$(sky_psql db3 -c "select count(*) from public.t where id = 1001")" = 1 ]; }
sky_wait_for 30 "a row written after the repair reaches the leaf" row_on_leaf

sky_check "drift: the leaf's provider changed by hand"
sky_psql db3 -c "select pgq_set.set_provider('$SKY_CASCADE', 'db2')" >/dev/null
sky_wait_for 20 "db3 pulls from db1 again" is_field db3 "provider_node || ' ' || paused" "db1 false"

sky_check "drift: a table removed by hand from the leaf's catalog"
sky_psql db3 -c "select pgq_set.remove_table('$SKY_CASCADE', 'public.u')" >/dev/null
u_registered() { [ -n "$(sky_table_state db3 public.u)" ]; }
sky_wait_for 10 "public.u is registered on db3 again" u_registered
sky_wait_all_tables_ok 60 db3

sky_check "an invalid commit is not applied; the next good one is"
GOOD_ID=$HEAD_ID
printf 'cascade: %s\nnodes:\n  db1: {role: root, dsn: "x"\n' "$SKY_CASCADE" >"$TOPO"
commit "broken topology"
BAD_ID=$HEAD_ID
attempt() { sky_psql db1 -c "select attempted_revision || ' ' || coalesce(attempted_error, '')
	from pgq_set.get_revision('$SKY_CASCADE')"; }
bad_recorded() { [ "$(attempt | cut -d' ' -f1)" = "$BAD_ID" ]; }
sky_wait_for 10 "the failed attempt is recorded on db1" bad_recorded
attempt_text=$(attempt)
sky_log "db1 records: $attempt_text"
[[ $attempt_text == *"HEAD:topology.yaml:"[0-9]*:[0-9]*:* ]] ||
	sky_fail "the error names HEAD:topology.yaml:LINE:COL: $attempt_text"
sky_ok "the recorded error names HEAD:topology.yaml:LINE:COL"
sky_assert_eq "$(applied db1)" "$GOOD_ID" "the applied revision stays the last good one"
sky_assert_eq "$(node_field db2 paused)" t "the previous state stays"
grep -q "invalid, not applied" "$WATCH_OUT" || sky_fail "watch logs the invalid revision"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db1" -- public.t public.u
commit "resume db2"
wait_applied "the good commit after the bad one" 10
sky_assert_eq "$(node_field db2 paused)" f "db2 resumed"
sky_assert_eq "$(attempt)" "$HEAD_ID " "the last attempt is the good one, without an error"

sky_check "watch --metrics: invalid revisions, drift repairs and lock waits are counted"
scrape m3
promtool_ok m3
(($(metric m3 'skyreconcile_reconciles_total{outcome="invalid"}') >= 1)) ||
	sky_fail "the invalid commit is not counted"
(($(metric m3 skyreconcile_drift_repairs_total) >= 3)) ||
	sky_fail "skyreconcile_drift_repairs_total: $(metric m3 skyreconcile_drift_repairs_total), expected >= 3 (four repairs above)"
(($(metric m3 skyreconcile_lock_waits_total) >= 1)) ||
	sky_fail "the wait for the second skyreconcile's lock is not counted"
sky_assert_eq "$(metric m3 'skyreconcile_failovers_total{mode="manual"}')" 0 "no failover"
sky_ok "invalid $(metric m3 'skyreconcile_reconciles_total{outcome="invalid"}'), drift repairs $(metric m3 skyreconcile_drift_repairs_total), lock waits $(metric m3 skyreconcile_lock_waits_total) ($(metric m3 skyreconcile_lock_wait_seconds_total) s)"

sky_check "one log line per reconcile: revision, changes, outcome"
grep -E "reconcile \((start|commit|interval|retry)\): revision [0-9a-f]{7} \"[^\"]*\": ([0-9]+ changes, applied|no changes, ok)" \
	"$WATCH_OUT" | tail -n 3 | sed 's/^/  /'
[ "$(grep -cE "reconcile \(commit\): revision [0-9a-f]{7} \"[^\"]*\": [0-9]+ changes, applied" "$WATCH_OUT")" -ge 4 ] ||
	sky_fail "every commit is logged as applied"
sky_ok "every good commit is logged with its changes and outcome"

sky_check "SIGTERM ends watch with exit 0"
kill -TERM "${SKY_BG_PID[watch]}"
rc=0
sky_bg_wait watch || rc=$?
sky_assert_eq "$rc" 0 "watch exit status after SIGTERM"
sky_assert_contains "$WATCH_OUT" "stopped by a signal" "watch says why it stopped"
sky_check_workers
sky_ok "watch follows the repository and repairs drift"
