#!/usr/bin/env bash
# 28: the automated failover policy when it must not, or cannot alone, act; and a stalled root.
# root db1, branches db2, db3, db4 under it; failover.mode automatic, detect_after 2 s, 1
# witness, at most 1 automatic failover per hour. One watcher follows the repository, whose
# history already holds one automatic failover (a commit with the trailer).
# - anti-flap: db1's postmaster and backends are stopped (SIGSTOP): the budget is spent, no
#   failover; the watcher logs it and `status` (text and --json) says so, exit 1;
# - no candidate: a commit raises the budget but puts every branch in failover.never: still no
#   failover, status says why;
# - override: `skyreconcile failover --to db2 --force` commits the edit (trailer "override"),
#   the watcher applies it: db2 the root, db3 and db4 under it, status clean;
# - db1 resumed (SIGCONT) is fenced by the watcher's next reconcile: it refuses writes;
# - a stalled root failed over automatically: with never emptied, db2 is stopped (SIGSTOP): its
#   subscribers' workers give their stalled calls up (witnesses), the watcher fails over to the
#   most advanced of db3 and db4 (db3 on a tie, by priority), queues the fence on its open
#   session to db2, and db2 fences itself as soon as it resumes; writes on the new root reach
#   the other.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
command -v git >/dev/null || sky_fail "git is not installed"
NODES=(db1 db2 db3 db4)
for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t (id int primary key, v text)"
done
sky_psql db1 -c "insert into public.t select g, 'x' from generate_series(1, 100) g"
export PGCONNECT_TIMEOUT=2

REPO=$SKY_TMP/repo
mkdir -p "$REPO"
git -C "$REPO" init -q -b main
git -C "$REPO" config user.email test@example.com
git -C "$REPO" config user.name test
TOPO=$REPO/topology.yaml
SKY_TOPO_EXTRA='failover:
  mode: automatic
  detect_after: 2
  witnesses: 1
  candidates: {db2: 10, db3: 5}
  never: []
  max_failovers: 1
  window: 3600'
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db3 branch db1" "db4 branch db1" -- public.t
commit() { # MESSAGE: commit the working file
	git -C "$REPO" add topology.yaml
	git -C "$REPO" commit -q -m "$1"
	sky_log "commit $(git -C "$REPO" rev-parse --short HEAD): $1"
}
edit() { # SED-EXPRESSION MESSAGE: edit the file as committed, commit
	git -C "$REPO" reset -q --hard
	sed -i "$1" "$TOPO"
	commit "$2"
}
commit "cascade app, automatic failover"
git -C "$REPO" commit -q --allow-empty -m "failover: an earlier one

Skycascade-Failover: automatic"
applied() { # NODE...: every NODE records HEAD as applied
	local n h
	h=$(git -C "$REPO" rev-parse HEAD)
	for n in "$@"; do
		[ "$(sky_psql "$n" -c "select applied_revision from pgq_set.get_revision('$SKY_CASCADE')" 2>/dev/null)" = "$h" ] || return 1
	done
}
count_trailer() { git -C "$REPO" log --format=%H --grep="^Skycascade-Failover: $1\$" | wc -l; }
in_log() { grep -q -- "$1" "$SKY_TMP/log/watch.out"; }
# the postmaster of NODE and its children (all of them ours: the test started that server)
pg_procs() {
	local pm
	pm=$(head -n 1 "$SKY_TMP/$1/data/postmaster.pid")
	echo "$pm" $(ps -o pid= --ppid "$pm")
}
role() { sky_psql "$1" -c "select node_role || coalesce(' of ' || provider_node, '') from pgq_set.get_node('$SKY_CASCADE')"; }
is_fenced() { [ "$(sky_psql "$1" -c "select pgq_set.is_fenced('$SKY_CASCADE')")" = t ]; }
status_json() { "$RECONCILE" status --repo "$REPO" --json --timeout 2 >"$SKY_TMP/log/status.json" 2>/dev/null || true; }
json_failover() { python3 -c "import json,sys; f=json.load(open(sys.argv[1]))['failover']; print(f and f['state'])" "$SKY_TMP/log/status.json"; }

sky_bg watch "$RECONCILE" watch --repo "$REPO" --interval 2 --wait-timeout 20 -v
sky_wait_for 60 "the watcher created the cascade" applied "${NODES[@]}"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 60 db2 db3 db4

sky_check "anti-flap: db1 stopped (SIGSTOP), the budget is spent: no failover"
sky_worker_release db1 # it exits once db1 is fenced
DB1_PROCS=$(pg_procs db1)
kill -STOP $DB1_PROCS
sky_wait_for 40 "the watcher declines: the anti-flap budget is spent" in_log "anti-flap budget is spent"
status_json
sky_assert_eq "$(json_failover)" exhausted "status --json: failover.state"
"$RECONCILE" status --repo "$REPO" --timeout 2 >"$SKY_TMP/log/status.txt" 2>&1 && sky_fail "status exits 0 with a declined failover"
sky_assert_contains "$SKY_TMP/log/status.txt" 'failover of "db1" not made: anti-flap budget spent' "status says why"
sky_assert_eq "$(count_trailer automatic)" 1 "no new automatic failover commit"

sky_check "no candidate within the policy: no failover, status says why"
edit 's/^  never: \[\]/  never: [db2, db3, db4]/; s/^  candidates: .*/  candidates: {}/; s/^  max_failovers: 1/  max_failovers: 5/' \
	"policy: never promote db2, db3, db4"
sky_wait_for 40 "the watcher declines: no candidate" in_log 'no candidate: no surviving branch'
status_json
sky_assert_eq "$(json_failover)" blocked "status --json: failover.state"
"$RECONCILE" status --repo "$REPO" --timeout 2 >"$SKY_TMP/log/status.txt" 2>&1 && sky_fail "status exits 0 with a declined failover"
sky_assert_contains "$SKY_TMP/log/status.txt" 'failover of "db1" not made: no candidate' "status says why"
sky_assert_eq "$(count_trailer automatic)" 1 "no new automatic failover commit"

sky_check "override: skyreconcile failover --to db2 --force"
git -C "$REPO" reset -q --hard
sky_run override "$RECONCILE" failover --to db2 --force --repo "$REPO" --identity "Op <op@example.com>"
sky_expect_rc 0 "the override commits"
sky_assert_contains "$SKY_OUT" "failover: db1 is dead, db2 is the new root (operator override)" "it says what it committed"
sky_assert_eq "$(count_trailer override)" 1 "one override commit"
sky_assert_eq "$(git -C "$REPO" log -1 --format='%an <%ae>')" "Op <op@example.com>" "by the operator's identity"
repointed() { [ "$(role db2)" = root ] && [ "$(role db3)" = "branch of db2" ] && [ "$(role db4)" = "branch of db2" ]; }
sky_wait_for 40 "the watcher applied it: db2 the root, db3 and db4 under it" repointed
cleared() { status_json; [ "$(json_failover)" = None ]; }
sky_wait_for 20 "status no longer reports a declined failover" cleared

sky_check "db1 resumes (SIGCONT): fenced by the next reconcile"
kill -CONT $DB1_PROCS
sky_wait_for 20 "db1 is fenced" is_fenced db1
sky_assert_write_refused db1 "insert into public.t values (1001, 'on the old root')"

sky_check "a stalled root (SIGSTOP) is failed over automatically and fenced when it resumes"
edit 's/^  never: \[db2, db3, db4\]/  never: []/; s/^  candidates: {}/  candidates: {db3: 5}/' \
	"policy: every branch may be promoted, db3 first"
sky_wait_for 20 "the policy change is applied" applied db2 db3 db4
sky_worker_release db2 # it exits once db2 is fenced
SKY_ROOT=db2
sky_wait_caught_up db3 db4 30
DB2_PROCS=$(pg_procs db2)
kill -STOP $DB2_PROCS
t_stop=$(sky_now_ms)
two() { [ "$(count_trailer automatic)" = 2 ]; }
sky_wait_for 40 "an automatic failover commit" two
sky_log "stopped -> commit $(($(sky_now_ms) - t_stop)) ms"
# the most advanced survivor wins, then the priority (db3 on a tie): read the choice from the commit
NEW=$(git -C "$REPO" log -1 --format=%B --grep='^Skycascade-Failover: automatic$' | sed -n 's/^Skycascade-Root: //p')
case $NEW in
db3) OTHER=db4 ;;
db4) OTHER=db3 ;;
*) sky_fail "the failover chose \"$NEW\", not db3 or db4" ;;
esac
sky_log "the policy chose $NEW: $(git -C "$REPO" log -1 --format=%B --grep='^Skycascade-Root: ' | grep '^Chosen:')"
repointed3() { [ "$(role "$NEW")" = root ] && [ "$(role "$OTHER")" = "branch of $NEW" ]; }
sky_wait_for 30 "$NEW is the root, $OTHER under it" repointed3
sky_assert_contains "$SKY_TMP/log/watch.out" 'fence of "db2" queued on its open session' "the fence was queued on the open session"
kill -CONT $DB2_PROCS
sky_wait_for 10 "db2 fences itself once it resumes" is_fenced db2
sky_wait_for 10 "the watcher saw the queued fence run" in_log 'answered again and ran its queued fence'
sky_assert_write_refused db2 "insert into public.t values (1002, 'on the stalled root')"
SKY_ROOT=$NEW
sky_psql "$NEW" -c "insert into public.t values (1003, 'on the new root')"
sky_wait_caught_up "$OTHER" 30
sky_assert_tables_equal public.t db3 db4
kill -TERM "${SKY_BG_PID[watch]}"
sky_bg_wait watch || sky_fail "watch exited with an error"
sky_check_workers
sky_ok "anti-flap, no candidate, override, stalled root"
