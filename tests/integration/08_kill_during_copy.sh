#!/usr/bin/env bash
# 08: kill -9 during initial copies, and tables with foreign keys (issue 3).
# Root db1 -> branch db2 -> leaf db3.
# - huge_t (5,000,000 rows on the root, empty elsewhere, never written during the test) is added;
#   the branch's worker is killed with SIGKILL 3 times while the branch COPYs huge_t (a COPY into
#   it in pg_stat_progress_copy with rows done, state copying; after the first kill also
#   rows_copied > 0 in get_tables; the copy processes held by SIGSTOP from that check to the kill,
#   so that the kill meets the copy in progress however fast it runs), then the leaf's worker 2
#   times while the leaf copies it; each is restarted at once. The copy processes of a killed
#   worker do not outlive it. get_tables is sampled every 20 ms on both nodes, with the table's
#   row count in the same snapshot whenever the state is catching-up or ok: that count is always
#   the root's (never ok, nor catching-up, with partial data), and the table ends ok and equal
#   everywhere;
# - parent_t / child_t (child_t references parent_t, on delete cascade, on every node) are added at
#   once while the root inserts into both and deletes parents (cascading to children): equal on
#   every node at the end, no orphan child, and the foreign key is present, validated and holds
#   (added again in a rolled-back transaction, which checks every row).
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
HUGE_ROWS=${SKY_KILL_ROWS:-5000000}
BRANCH_KILLS=${SKY_KILL_BRANCH:-3}
LEAF_KILLS=${SKY_KILL_LEAF:-2}

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.small_t (id int primary key, v text);
		create table public.huge_t (id bigint primary key, v text not null, d date not null);
		create table public.parent_t (id bigserial primary key, v text not null);
		create table public.child_t (id bigserial primary key,
			parent_id bigint not null references public.parent_t (id) on delete cascade,
			v text not null);
		create index child_t_parent_idx on public.child_t (parent_id)"
done
sky_log "filling the root: huge_t $HUGE_ROWS rows, parent_t 5000 rows with 3 children each"
sky_psql db1 -c "insert into public.small_t select g, 'row ' || g from generate_series(1, 100) g;
	insert into public.huge_t select g, md5(g::text) || md5((-g)::text), date '2000-01-01' + g % 10000
	  from generate_series(1, $HUGE_ROWS) g;
	insert into public.parent_t (v) select 'parent ' || g from generate_series(1, 5000) g;
	insert into public.child_t (parent_id, v) select p.id, 'child ' || p.id || '/' || k
	  from public.parent_t p, generate_series(1, 3) k;
	analyze"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t
sky_run reconcile-initial "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "initial reconcile (small_t only)"
sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_tables_ok db3 60 public.small_t
sky_wait_caught_up db2 db3 60

# copying_now NODE [progress]: NODE's worker is in the middle of its COPY into huge_t (rows already
# in) and the table is in state copying; with "progress", the catalog also shows rows copied
copying_now() {
	local p rows
	[ "$(sky_psql "$1" -c "select count(*) from pg_stat_progress_copy
		where relid = 'public.huge_t'::regclass and tuples_processed > 0")" -gt 0 ] || return 1
	p=$(sky_table_progress "$1" public.huge_t)
	[[ $p == copying\|* ]] || return 1
	[ "${2:-}" = progress ] || return 0
	IFS='|' read -r _ rows _ _ <<<"$p"
	[ -n "$rows" ] && ((rows > 0))
}

# kill_during_copy NODE [progress]: SIGKILL NODE's worker mid-copy (after a random 0-300 ms), restart
# it at once; its copy processes must not outlive it. They are held (SIGSTOP) for the check that
# the copy is still in progress and the kill, so that the kill always meets the copy in progress
# however fast it runs, and let go (SIGCONT) right after it.
kill_during_copy() {
	local node=$1 children p i left ms
	ms=$((RANDOM % 300))
	sleep "0.$(printf '%03d' "$ms")"
	children=$(sky_copy_hold "$node")
	if [ -z "$children" ] || ! copying_now "$node" "${2:-}"; then
		sky_copy_release $children
		return 1
	fi
	sky_log "kill -9 of $node's worker (and $(wc -w <<<"$children") copy processes) ${ms} ms into the copy: huge_t $(sky_table_progress "$node" public.huge_t) (state|rows|estimate|error)"
	sky_worker_kill9 "$node"
	sky_copy_release $children
	sky_worker_start "$node"
	for ((i = 0; i < 150; i++)); do
		left=""
		for p in $children; do
			if [ -d "/proc/$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q skyworker; then
				left+=" $p"
			fi
		done
		[ -n "$left" ] || break
		sleep 0.1
	done
	[ -z "$left" ] || sky_fail "copy processes of $node's killed worker still run 15 s later:$left"
	return 0
}

sky_check "add huge_t; kill -9 the branch's worker $BRANCH_KILLS times and the leaf's $LEAF_KILLS times during the copy"
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t public.huge_t
sky_watch_tables_bg watch_db2 db2 150 public.huge_t public.huge_t
sky_watch_tables_bg watch_db3 db3 200 public.huge_t public.huge_t
sky_run reconcile-add-huge "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding huge_t"
for node in db2 db3; do
	want=$BRANCH_KILLS
	[ "$node" = db2 ] || want=$LEAF_KILLS
	kills=0
	while ((kills < want)); do
		# the first kill early in the COPY, the others once the catalog shows progress
		phase=""
		((kills == 0)) || phase=progress
		sky_wait_for 90 "$node's worker is copying huge_t${phase:+ (rows_copied > 0)}" copying_now "$node" $phase
		if kill_during_copy "$node" $phase; then
			kills=$((kills + 1))
		else
			[ "$(sky_table_state "$node" public.huge_t)" = copying ] ||
				sky_fail "huge_t was copied on $node before $want kills ($kills): make it bigger (SKY_KILL_ROWS)"
		fi
	done
	sky_ok "$node's worker killed $kills times during the copy"
done
sky_watch_wait watch_db2
sky_watch_wait watch_db3

sky_check "huge_t never catching-up or ok with partial data"
for n in db2 db3; do
	sky_log "huge_t on $n: $(sky_watch_transitions "watch_$n" public.huge_t)"
	counts=$(sky_watch_counts "watch_$n" public.huge_t)
	[ -n "$counts" ] || sky_fail "no sample of huge_t on $n in state catching-up or ok"
	bad=$(awk -v want="$HUGE_ROWS" '$2 != want' <<<"$counts")
	[ -z "$bad" ] || sky_fail "huge_t on $n had the wrong number of rows (want $HUGE_ROWS) in state: $bad"
	sky_ok "huge_t on $n: $(wc -l <<<"$counts") samples in catching-up/ok, all with $HUGE_ROWS rows"
	states=$(sky_watch_transitions "watch_$n" public.huge_t)
	after_ok=${states#*ok}
	[ -z "${after_ok// /}" ] || sky_fail "huge_t on $n left ok again: $states"
	errors=$(sky_watch_errors "watch_$n")
	[ -z "$errors" ] || sky_log "copy errors recorded on $n (retried): $errors"
done
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.huge_t "${NODES[@]}"
sky_assert_tables_equal public.small_t "${NODES[@]}"

sky_check "parent_t and child_t (foreign key, on delete cascade) added at once under DML"
cat >"$SKY_TMP/fk.pgbench" <<'EOF'
\set p random(1, 5000)
BEGIN;
INSERT INTO public.parent_t (v) VALUES ('new parent') RETURNING id AS np \gset
INSERT INTO public.child_t (parent_id, v) VALUES (:np, 'new child 1'), (:np, 'new child 2');
UPDATE public.child_t SET v = v || ' +' WHERE parent_id = :p;
DELETE FROM public.parent_t WHERE id = :p;
END;
EOF
sky_pgbench_bg pgbench db1 -n -c 2 -j 1 -T 8 -R 100 -f "$SKY_TMP/fk.pgbench"
more_parents() { (($(sky_psql db1 -c "select count(*) from public.parent_t where v = 'new parent'") >= 50)); }
sky_wait_for 30 "the root runs the foreign key load" more_parents
sky_topology_write_items "$TOPO" db1 db2 db3 public.small_t public.huge_t public.parent_t public.child_t
sky_run reconcile-add-fk "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "reconcile adding parent_t and child_t"
sky_wait_tables_ok db2 90 public.parent_t public.child_t
sky_wait_tables_ok db3 90 public.parent_t public.child_t
rc=0
sky_bg_wait pgbench || rc=$?
sed 's/^/  [pgbench] /' "$SKY_TMP/log/pgbench.out"
[ "$rc" = 0 ] || sky_fail "the foreign key load on the root failed with status $rc"
deleted=$(sky_psql db1 -c "select 5000 - count(*) from public.parent_t where v like 'parent %'")
((deleted > 100)) || sky_fail "only $deleted parents were deleted on the root"
sky_ok "$deleted parents (and their children) deleted on the root during the copies"
sky_wait_caught_up db2 db3 120
for t in public.parent_t public.child_t; do
	sky_assert_tables_equal "$t" "${NODES[@]}"
done
fk_def() {
	sky_psql "$1" -c "select string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' validated=' || convalidated, '; ')
		from pg_constraint where conrelid = 'public.child_t'::regclass and contype = 'f'"
}
want=$(fk_def db1)
[ -n "$want" ] || sky_fail "the root's child_t has no foreign key"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(fk_def "$n")" "$want" "foreign key of child_t on $n"
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from public.child_t c
		where not exists (select 1 from public.parent_t p where p.id = c.parent_id)")" 0 \
		"children without a parent on $n"
	fk=$(sky_psql "$n" -c "select conname from pg_constraint
		where conrelid = 'public.child_t'::regclass and contype = 'f'")
	sky_psql "$n" -c "begin" -c "alter table public.child_t drop constraint \"$fk\"" \
		-c "alter table public.child_t add constraint \"$fk\" foreign key (parent_id)
			references public.parent_t (id) on delete cascade" -c "rollback" ||
		sky_fail "the foreign key of child_t does not hold on $n"
	sky_ok "the foreign key of child_t holds for every row on $n (checked by adding it again)"
done
sky_check_workers
