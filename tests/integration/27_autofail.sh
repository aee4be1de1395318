#!/usr/bin/env bash
# 27: the automated failover policy of skyreconcile watch (issue 11), one cascade for every
# scenario: root db1, branches db2 and db4, leaf db3 under db2; failover.mode automatic,
# detect_after 2 s, 2 witnesses, db2 preferred. Two watchers follow the same repository. The
# topology's DSNs are PostgreSQL service names: the watchers' service file sends db1 through a
# TCP proxy the test starts (tests/lib/tcp_proxy.py), the workers' goes straight to db1, so the
# reconcilers' link to the root can be cut alone.
# - a blip (the proxy down ~1 s, shorter than detect_after): no failover, the root answers again;
# - the reconcilers' link to the root cut for longer than detect_after while the workers still
#   see the root: no failover (the witnesses do not agree);
# - the root's server stopped with -m immediate under a pgbench load: exactly one commit (two
#   watchers), by the reconciler's identity, with the evidence (witnesses, survivors' ticks,
#   the chosen node, the loss) and the trailer; every node re-pointed to the chosen root (the
#   most advanced of db2 and db4, db2 on a tie), the live nodes md5-equal, counter = log rows
#   (the lost transactions are what db1 holds beyond);
# - db1 started again is fenced by the watchers (refuses writes), and holds every row the
#   survivors have plus exactly the lost transactions.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
command -v git >/dev/null || sky_fail "git is not installed"
command -v python3 >/dev/null || sky_fail "python3 is not installed"
NODES=(db1 db2 db3 db4)
TABLES=("${SKY_COUNTER_TABLES[@]}")
sky_counter_nodes "${NODES[@]}"
SKY_TOPO_EXTRA='sequences: [public.ticket_no]
failover:
  mode: automatic
  detect_after: 2
  witnesses: 2
  candidates: {db2: 10}'

# the service files: the workers (and this shell) reach db1 directly, the watchers via the proxy
PROXY_PORT=$(_sky_port_pick)
SVC_W=$SKY_TMP/pg_service.workers
SVC_R=$SKY_TMP/pg_service.reconciler
for n in "${NODES[@]}"; do
	printf '[%s]\nhost=127.0.0.1\nport=%s\ndbname=app\nuser=postgres\n' "$n" "$(sky_port "$n")" >>"$SVC_W"
	p=$(sky_port "$n")
	[ "$n" != db1 ] || p=$PROXY_PORT
	printf '[%s]\nhost=127.0.0.1\nport=%s\ndbname=app\nuser=postgres\n' "$n" "$p" >>"$SVC_R"
done
export PGSERVICEFILE=$SVC_W
proxy_start() {
	sky_bg proxy python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/tcp_proxy.py" "$PROXY_PORT" "$(sky_port db1)"
	sky_wait_for 10 "the proxy listens" grep -q listening "$SKY_TMP/log/proxy.out"
}
proxy_stop() {
	kill -TERM "${SKY_BG_PID[proxy]}"
	sky_bg_wait proxy || true
}

REPO=$SKY_TMP/repo
mkdir -p "$REPO"
git -C "$REPO" init -q -b main
git -C "$REPO" config user.email test@example.com
git -C "$REPO" config user.name test
TOPO=$REPO/topology.yaml
sky_topology_write_nodes "$TOPO" "db1 root" "db2 branch db1" "db4 branch db1" "db3 leaf db2" -- "${TABLES[@]}"
for n in "${NODES[@]}"; do
	sed -i "s|dsn: \"$(sky_dsn "$n")\"|dsn: \"service=$n\"|" "$TOPO"
done
git -C "$REPO" add topology.yaml
git -C "$REPO" commit -q -m "cascade app, automatic failover"
failover_commits() { git -C "$REPO" log --format=%H --grep='^Skycascade-Failover: automatic$' | wc -l; }

proxy_start
sky_pgqd_start "${NODES[@]}"
for w in watch1 watch2; do
	PGSERVICEFILE=$SVC_R PGCONNECT_TIMEOUT=2 sky_bg "$w" "$RECONCILE" watch --repo "$REPO" \
		--interval 3 --wait-timeout 30 --identity "Failover Bot <bot@example.com>"
done
all_applied() { # NODE...: every NODE records HEAD as applied
	local n h
	h=$(git -C "$REPO" rev-parse HEAD)
	for n in "$@"; do
		[ "$(sky_psql "$n" -c "select applied_revision from pgq_set.get_revision('$SKY_CASCADE')" 2>/dev/null)" = "$h" ] || return 1
	done
}
sky_wait_for 60 "the watchers created the cascade" all_applied "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3 db4
sky_pgbench_bg load db1 -n -f "$SKY_TMP/load.sql" -c 2 -j 1 -T 120 -R 100
sky_wait_caught_up db2 db3 db4 60
witness_fresh() { # NODE: its worker reported a fresh witness about db1
	[ "$(sky_psql "$1" -c "select provider_node = 'db1' and contact_age < 2 from pgq_set.get_witness('$SKY_CASCADE')")" = t ]
}
sky_wait_for 10 "db2 reports that it sees db1 (witness)" witness_fresh db2
sky_wait_for 10 "db4 reports that it sees db1 (witness)" witness_fresh db4

sky_check "a blip shorter than detect_after: no failover"
proxy_stop
sleep 1
proxy_start
answers_again() { cat "$SKY_TMP/log/watch1.out" "$SKY_TMP/log/watch2.out" | grep -q 'root "db1" answers again'; }
sky_wait_for 10 "a watcher saw the root answer again" answers_again
sky_assert_eq "$(failover_commits)" 0 "no failover commit after the blip"

sky_check "only the reconcilers' link to the root cut (workers still see it): no failover"
proxy_stop
declined() { cat "$SKY_TMP/log/watch1.out" "$SKY_TMP/log/watch2.out" | grep -q 'witnesses needed see it dead: no failover'; }
sky_wait_for 15 "a watcher declines: the witnesses see db1 alive" declined
sleep 2
sky_assert_eq "$(failover_commits)" 0 "no failover commit while only the link is cut"
sky_assert_eq "$(sky_psql db2 -c "select node_role from pgq_set.get_node('$SKY_CASCADE')")" branch "db2 is still a branch"
proxy_start
sky_wait_for 10 "the root answers again" answers_again

sky_check "the root dies (immediate shutdown) under load: one automatic failover, one commit"
sky_wait_caught_up db2 db3 db4 60
sky_pg_stop db1 immediate
t_dead=$(sky_now_ms)
sky_bg_wait load || true
one_commit() { [ "$(failover_commits)" -ge 1 ]; }
sky_wait_for 30 "a failover commit in the repository" one_commit
t_commit=$(sky_now_ms)
# the most advanced of db2 and db4 wins, db2 on a tie (priority 10): read the choice
NEW=$(git -C "$REPO" log -1 --format=%B --grep='^Skycascade-Failover: automatic$' | sed -n 's/^Skycascade-Root: //p')
case $NEW in
db2) OTHER=db4 ;;
db4) OTHER=db2 ;;
*) sky_fail "the failover chose \"$NEW\", not db2 or db4" ;;
esac
field() { sky_psql "$1" -c "select $2 from pgq_set.get_node('$SKY_CASCADE')"; }
repointed() { # db3 stays under db2 either way
	[ "$(field "$NEW" node_role)" = root ] && [ "$(field "$OTHER" provider_node)" = "$NEW" ] &&
		[ "$(field db3 provider_node)" = db2 ]
}
sky_wait_for 30 "$NEW is the root, $OTHER pulls from it" repointed
t_done=$(sky_now_ms)
sky_log "root killed -> commit $((t_commit - t_dead)) ms, -> every node re-pointed $((t_done - t_dead)) ms (detect_after 2 s)"
sleep 4 # both watchers reconcile at least once more
sky_assert_eq "$(failover_commits)" 1 "exactly one failover commit (two watchers)"
MSG=$SKY_TMP/log/commit.msg
git -C "$REPO" log -1 --format=%B --grep='^Skycascade-Failover: automatic$' >"$MSG"
sed 's/^/  | /' "$MSG"
sky_assert_eq "$(git -C "$REPO" log -1 --format='%an <%ae>' --grep='^Skycascade-Failover')" \
	"Failover Bot <bot@example.com>" "the commit's author is the reconciler's identity"
sky_assert_contains "$MSG" "failover: db1 is dead, $NEW is the new root" "the subject names the failover"
sky_assert_contains "$MSG" "db2 pulls from db1: last contact" "the witnesses' views"
sky_assert_contains "$MSG" "sees it dead" "a witness saw it dead"
sky_assert_contains "$MSG" "db4 branch tick" "each survivor's tick and lag"
sky_assert_contains "$MSG" "Chosen: $NEW" "the chosen node and why"
sky_assert_contains "$MSG" "Lost: the ticks \"db1\" made after tick" "what was lost"
sky_assert_contains "$MSG" "Skycascade-Dead: db1" "the trailers"
git -C "$REPO" show HEAD:topology.yaml >"$SKY_TMP/after.yaml"
grep -A3 '^  db1:' "$SKY_TMP/after.yaml" | grep -q 'dead: true' || sky_fail "db1 is not marked dead in the commit"
sky_ok "the committed file marks db1 dead"
sky_wait_for 30 "the failover commit is recorded as applied on the survivors" all_applied db2 db3 db4
SKY_ROOT=$NEW
sky_wait_caught_up db3 "$OTHER" 60
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" db2 db3 db4
done
sky_counter_check db2 db3 db4
n_surv=$(sky_psql "$NEW" -c "select n from public.counter")
((n_surv > 0)) || sky_fail "nothing replicated"

sky_check "db1 comes back: the watchers fence it"
sky_psql "$NEW" -c "\\copy (select id, acct from public.log) to '$SKY_TMP/surv_log.txt'"
# db1's worker exits once db1 is fenced: not one of the workers that must stay alive
sky_worker_release db1
sky_pg_start db1
fenced() { [ "$(sky_psql db1 -c "select pgq_set.is_fenced('$SKY_CASCADE')")" = t ]; }
sky_wait_for 20 "db1 is fenced" fenced
sky_assert_ticks_consistent db1
sky_assert_write_refused db1 "insert into public.log (acct) values (1)"
sky_counter_old_root db1 "$SKY_TMP/surv_log.txt" "$n_surv"
sky_assert_eq "$(failover_commits)" 1 "still exactly one failover commit"
for w in watch1 watch2; do
	kill -TERM "${SKY_BG_PID[$w]}"
	sky_bg_wait "$w" || sky_fail "$w exited with an error"
done
proxy_stop
sky_check_workers
sky_ok "automatic failover"
