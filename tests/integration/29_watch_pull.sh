#!/usr/bin/env bash
# 29: skyreconcile watch --pull: watchers on two clones of one remote follow what is pushed there.
# A bare repository "origin" holds topology.yaml (root db1, branch db2); clone1 and clone2 each
# have their own `skyreconcile watch --repo CLONE --pull origin --pull-interval 1`; a third clone
# (a person's) pushes. Nobody pulls by hand:
# - --pull-timeout 0, or above --interval: a usage error (exit 1), said why;
# - the person's pushed commit (a table added) is fetched and fast-forwarded by both watchers,
#   both clones' branches reach it, it is applied, and public.t and public.u are md5-equal on
#   root and branch afterwards;
# - a local commit in clone2 that is not on origin, then a new push: clone1 follows it, clone2
#   is diverged, says so once (log, skyreconcile_pull_diverged 1) and keeps its own commit
#   (never merged, never reset);
# - origin gone for a while: one log line for the streak, and the next push after it is back is
#   followed (skyreconcile_pulls_total counts the failures);
# - watch2 ends on SIGTERM (exit 0); clone1's origin is pointed at a peer that accepts TCP
#   connections and never answers: the fetch runs in the background, so a local commit pausing
#   db2, made once watch1's fetch is connected to that peer, is applied within a few seconds
#   and before the fetch is given up (--pull-timeout 6: a loop waiting for the fetch could
#   not); the fetch is given up at 6 s and logged once; origin made normal again: the fetch
#   works again (logged, after 1 failure), and no quarantine directory or lock file is left;
# - SIGTERM ends watch1 with exit 0.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
command -v git >/dev/null || sky_fail "git is not installed"
command -v curl >/dev/null || sky_fail "curl is not installed (.ci/deps.sh installs it)"
NODES=(db1 db2)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" <<'SQL'
create table public.t (id int primary key, v text);
create table public.u (id int primary key, v text);
SQL
done
sky_psql db1 -c "insert into public.t select g, 'x' from generate_series(1, 100) g;
	insert into public.u select g, 'y' from generate_series(1, 100) g"

ORIGIN=$SKY_TMP/origin.git
PERSON=$SKY_TMP/person
git init -q --bare -b main "$ORIGIN"
git clone -q "$ORIGIN" "$PERSON" 2>/dev/null
git -C "$PERSON" config user.email person@example.com
git -C "$PERSON" config user.name person
push() { # MESSAGE: the person commits topology.yaml as it is and pushes it to origin
	git -C "$PERSON" add topology.yaml
	git -C "$PERSON" commit -q -m "$1"
	git -C "$PERSON" push -q origin main
	HEAD_ID=$(git -C "$PERSON" rev-parse HEAD)
	PUSHED_AT=$SECONDS
	sky_log "pushed $(git -C "$PERSON" rev-parse --short HEAD): $1"
}
sky_topology_write_nodes "$PERSON/topology.yaml" "db1 root" "db2 branch db1" -- public.t
push "create cascade app"
for c in clone1 clone2; do
	git clone -q "$ORIGIN" "$SKY_TMP/$c"
	git -C "$SKY_TMP/$c" config user.email "$c@example.com"
	git -C "$SKY_TMP/$c" config user.name "$c"
done

applied() { sky_psql "$1" -c "select applied_revision from pgq_set.get_revision('$SKY_CASCADE')" 2>/dev/null || true; }
at_head() { # CLONE...: the clones' main is HEAD_ID
	local c
	for c in "$@"; do
		[ "$(git -C "$SKY_TMP/$c" rev-parse main)" = "$HEAD_ID" ] || return 1
	done
}
all_applied() { [ "$(applied db1)" = "$HEAD_ID" ] && [ "$(applied db2)" = "$HEAD_ID" ]; }

for bad in "0|needs a number of seconds" "31|is longer than --interval 30"; do
	rc=0
	"$RECONCILE" watch --repo "$SKY_TMP/clone1" --pull origin --pull-timeout "${bad%%|*}" \
		2>"$SKY_TMP/usage.err" || rc=$?
	sky_assert_eq "$rc" 1 "--pull-timeout ${bad%%|*}: a usage error"
	sky_assert_contains "$SKY_TMP/usage.err" "${bad#*|}" "--pull-timeout ${bad%%|*} says why"
done

sky_pgqd_start "${NODES[@]}"
MPORT=$(_sky_port_pick)
sky_bg watch1 "$RECONCILE" watch --repo "$SKY_TMP/clone1" --pull origin --pull-interval 1 \
	--pull-timeout 6 --interval 30 --wait-timeout 30
sky_bg watch2 "$RECONCILE" watch --repo "$SKY_TMP/clone2" --remote origin --pull-interval 1 \
	--interval 30 --wait-timeout 30 --metrics "127.0.0.1:$MPORT"
scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$SKY_TMP/$1.prom"; }
metric() { awk -v n="$2" '$1 == n { print $2 }' "$SKY_TMP/$1.prom"; }
sky_wait_for 30 "the first commit applied" all_applied
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 30 db2

sky_check "a commit pushed to origin by a third clone is followed by both watchers"
sky_topology_write_nodes "$PERSON/topology.yaml" "db1 root" "db2 branch db1" -- public.t public.u
push "add table u"
sky_wait_for 8 "both clones' main at the pushed commit" at_head clone1 clone2
sky_wait_for 8 "the pushed commit applied on db1 and db2" all_applied
sky_log "applied $((SECONDS - PUSHED_AT))s after the push"
pulled_reconciled() { # both watchers logged their reconcile of the pulled commit
	grep -q "reconcile (pull): revision ${HEAD_ID:0:7}" "$SKY_TMP/log/watch1.out" &&
		grep -q "reconcile (pull): revision ${HEAD_ID:0:7}" "$SKY_TMP/log/watch2.out"
}
sky_wait_for 30 "both watchers reconciled the pulled commit" pulled_reconciled
sky_wait_tables_ok db2 30 public.u
sky_psql db1 -c "insert into public.t select g, 'new' from generate_series(101, 150) g;
	update public.u set v = 'z' where id % 3 = 0"
sky_wait_caught_up 30 db2
sky_assert_tables_equal public.t db1 db2
sky_assert_tables_equal public.u db1 db2

sky_check "a local commit not on origin: clone2 diverges and keeps it, clone1 follows origin"
echo "# clone2's own note" >>"$SKY_TMP/clone2/topology.yaml"
git -C "$SKY_TMP/clone2" commit -q -am "clone2's local commit"
MINE=$(git -C "$SKY_TMP/clone2" rev-parse main)
echo "# the person's note" >>"$PERSON/topology.yaml"
push "a note"
sky_wait_for 8 "clone1's main at the pushed commit" at_head clone1
diverged_seen() { grep -q "have diverged" "$SKY_TMP/log/watch2.out"; }
sky_wait_for 5 "watch2 reports the divergence" diverged_seen
sky_assert_eq "$(git -C "$SKY_TMP/clone2" rev-parse main)" "$MINE" "clone2's own commit stays (no reset)"
sky_assert_eq "$(git -C "$SKY_TMP/clone2" rev-list --count --merges main)" 0 "nothing merged"
sky_assert_eq "$(git -C "$SKY_TMP/clone2" rev-parse origin/main)" "$HEAD_ID" "clone2 knows origin's commit"
sleep 1.2 # more pulls: still one line
sky_assert_eq "$(grep -c "have diverged" "$SKY_TMP/log/watch2.out")" 1 "the divergence is logged once"
scrape m1
sky_assert_eq "$(metric m1 skyreconcile_pull_diverged)" 1 "skyreconcile_pull_diverged"
# the person reconciles by hand: clone2 back on origin's branch
git -C "$SKY_TMP/clone2" reset -q --hard origin/main

sky_check "origin unreachable for a while: logged once, followed again when it is back"
mv "$ORIGIN" "$ORIGIN.away"
fetch_failed() { [ "$(grep -c "pull: could not fetch" "$SKY_TMP/log/watch1.out")" -ge 1 ]; }
sky_wait_for 5 "watch1 logs the failed fetch" fetch_failed
sleep 1.2 # one more failed pull at least
mv "$ORIGIN.away" "$ORIGIN"
sky_assert_eq "$(grep -c "pull: could not fetch" "$SKY_TMP/log/watch1.out")" 1 "one line for the streak"
sky_topology_write_nodes "$PERSON/topology.yaml" "db1 root" "db2 branch db1" -- public.u public.t
push "tables in another order"
sky_wait_for 8 "both clones' main at the commit pushed after the outage" at_head clone1 clone2
sky_wait_for 8 "that commit applied" all_applied
sky_assert_contains "$SKY_TMP/log/watch1.out" "works again after" "watch1 says the fetch works again"
scrape m2
(($(metric m2 'skyreconcile_pulls_total{result="failed"}') >= 2)) ||
	sky_fail "the failed fetches are not counted: $(metric m2 'skyreconcile_pulls_total{result="failed"}')"
(($(metric m2 'skyreconcile_pulls_total{result="forwarded"}') >= 2)) ||
	sky_fail "the fast-forwards are not counted"
sky_assert_eq "$(metric m2 skyreconcile_pull_diverged)" 0 "no longer diverged"
sky_assert_eq "$(metric m2 skyreconcile_pull_consecutive_failures)" 0 "fetching works"

sky_check "SIGTERM ends watch2 with exit 0"
kill -TERM "${SKY_BG_PID[watch2]}"
rc=0
sky_bg_wait watch2 || rc=$?
sky_assert_eq "$rc" 0 "watch2 exit status after SIGTERM"

sky_check "origin hangs for clone1: the fetch runs in the background, a local commit is applied meanwhile"
HPORT=$(_sky_port_pick)
# accepts every connection and never sends a byte; says when it listens and when it accepts
sky_bg hole python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []; print("listening", flush=True)
while True: held.append(s.accept()[0]); print("accepted", flush=True)' "$HPORT"
hole_says() { grep -q "$1" "$SKY_TMP/log/hole.out"; }
sky_wait_for 5 "the black hole listens" hole_says listening
ORIGIN_URL=$(git -C "$SKY_TMP/clone1" remote get-url origin)
git -C "$SKY_TMP/clone1" remote set-url origin "git://127.0.0.1:$HPORT/origin.git"
sky_wait_for 3 "watch1's fetch connected to the black hole (it hangs from now on)" hole_says accepted
HUNG_MS=$(sky_now_ms)
sky_topology_write_nodes "$SKY_TMP/clone1/topology.yaml" "db1 root" "db2 branch db1|paused: true" \
	-- public.u public.t
git -C "$SKY_TMP/clone1" commit -q -am "pause db2 while origin hangs"
HEAD_ID=$(git -C "$SKY_TMP/clone1" rev-parse main)
# the loop would be held until the fetch is given up (6 s) if it waited for it
sky_wait_for 4 "the local commit applied while the fetch hangs" all_applied
APPLIED_MS=$(sky_now_ms)
sky_log "local commit applied $(((APPLIED_MS - HUNG_MS) / 1000)).$(((APPLIED_MS - HUNG_MS) % 1000 / 100))s after the hanging fetch started"
grep -q "reconcile (commit): revision ${HEAD_ID:0:7}" "$SKY_TMP/log/watch1.out" ||
	sky_fail "watch1 did not log its reconcile of the local commit"
sky_assert_eq "$(grep -c "no answer within" "$SKY_TMP/log/watch1.out" || true)" 0 \
	"the fetch was still in flight when the commit was applied"
db2_paused() { [ "$(sky_psql db2 -c "select paused_ack from pgq_set.get_node('$SKY_CASCADE')")" = t ]; }
sky_wait_for 5 "db2 paused" db2_paused

sky_check "the hanging fetch is given up at --pull-timeout, logged once; origin back: fetching works again"
timed_out() { grep -q "pull: could not fetch .*no answer within 6 s (given up)" "$SKY_TMP/log/watch1.out"; }
sky_wait_for 10 "watch1 gives the hanging fetch up" timed_out
GIVEN_UP_MS=$(sky_now_ms)
sky_log "given up $(((GIVEN_UP_MS - HUNG_MS) / 1000)).$(((GIVEN_UP_MS - HUNG_MS) % 1000 / 100))s after it started"
(((GIVEN_UP_MS - HUNG_MS) >= 5000)) || sky_fail "the fetch was given up before --pull-timeout 6"
git -C "$SKY_TMP/clone1" remote set-url origin "$ORIGIN_URL"
kill -TERM "${SKY_BG_PID[hole]}"
sky_bg_wait hole || true
works_again() { [ "$(grep -c "works again after" "$SKY_TMP/log/watch1.out")" -ge 2 ]; }
sky_wait_for 5 "watch1 says the fetch works again" works_again
sky_assert_eq "$(grep -c "no answer within" "$SKY_TMP/log/watch1.out")" 1 "the timeout is logged once"
sky_assert_contains "$SKY_TMP/log/watch1.out" "works again after 1 failure" "one failure in that streak"
leftovers=$(find "$SKY_TMP/clone1/.git" -name 'tmp_skyreconcile_fetch_*' -o -name '*.lock' -o -name 'pack_git2_*')
sky_assert_eq "$leftovers" "" "nothing left behind by the given-up fetch"

sky_check "SIGTERM ends watch1 with exit 0"
kill -TERM "${SKY_BG_PID[watch1]}"
rc=0
sky_bg_wait watch1 || rc=$?
sky_assert_eq "$rc" 0 "watch1 exit status after SIGTERM"
sky_check_workers
sky_ok "watch --pull follows the remote"
