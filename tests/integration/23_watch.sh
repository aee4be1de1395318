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
# - SIGTERM ends watch with exit 0.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
command -v git >/dev/null || sky_fail "git is not installed"
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
sky_bg watch "$RECONCILE" watch --repo "$REPO" --interval 2 --wait-timeout 30
WATCH_OUT=$SKY_TMP/log/watch.out
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
wait_applied "create the cascade" 30
sky_assert_eq "$(sky_psql db1 -c "select applied_subject || ' / ' || (attempted_error is null)
	from pgq_set.get_revision('$SKY_CASCADE')")" "create cascade app / true" "the subject is recorded, no error"
sky_wait_all_tables_ok 60 db2 db3

sky_check "commit: add table public.u"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 leaf db2" -- public.t public.u
commit "add table u"
wait_applied "add table u" 5
sky_assert_eq "$(sky_table_state db3 public.u | sed 's/copying\|catching-up\|ok/registered/;s/pending/registered/')" \
	registered "public.u is registered on the leaf"
sky_wait_all_tables_ok 60 db2 db3

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
sleep 5 # more than two periodic reconciles
sky_assert_eq "$(node_field db3 paused)" f "an uncommitted (staged) edit is not applied"
sky_assert_eq "$(applied db3)" "$HEAD_ID" "the applied revision is still HEAD"
git -C "$REPO" checkout -q HEAD -- topology.yaml
git -C "$REPO" reset -q

sky_check "drift: db2 resumed by hand"
sky_psql db2 -c "select pgq_set.set_paused('$SKY_CASCADE', false)" >/dev/null
is_field() { [ "$(node_field "$1" "$2")" = "$3" ]; } # NODE EXPR VALUE
sky_wait_for 10 "db2 paused again by the periodic reconcile" is_field db2 paused t

sky_check "drift: a capture trigger dropped by hand on the root"
trig=$(sky_psql db1 -c "select pgq_set.trigger_name('$SKY_CASCADE', 'capture')")
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
