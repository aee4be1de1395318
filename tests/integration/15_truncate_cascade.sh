#!/usr/bin/env bash
# 15: TRUNCATE ... CASCADE on the root never stalls a subscriber, whatever becomes of the events of
# the referencing table there. Every table has a child with a foreign key to it on every node; the
# workers fetch one event at a time (--fetch-size 1), so the parent's and the child's truncate
# events never share a chunk.
# - split: p1/c1 both replicated: the truncate of p1 and the one of c1 are applied in different
#   chunks of the same batch;
# - narrowed: c3 is replicated to [db1, db2] only; on the leaf the child is its own table;
# - copying: c2 is added while the root truncates p2 cascade: the branch's copy of c2 waits for
#   the truncate's lock and its snapshot holds the truncate, so the event of c2 is never applied
#   there (set aside, then skipped as part of the copy). The root session commits only once it sees
#   the copy session waiting for a lock on c2 (deterministic).
# Each time: the subscribers catch up and the tables equal the root's.
# SKY_TRUNCATE_CASES (default "split narrowed copying") runs some of the cases only;
# SKY_TRUNCATE_FETCH (default 1) is the workers' --fetch-size.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
SKY_WORKER_ARGS=(-v --poll-interval 0.2 --fetch-size "${SKY_TRUNCATE_FETCH:-1}")
CASES=" ${SKY_TRUNCATE_CASES:-split narrowed copying} "
want() { [[ $CASES == *" $1 "* ]]; }

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	for k in 1 2 3; do
		sky_psql "$n" -c "create table public.p$k (id int primary key, v text not null)"
		sky_psql "$n" -c "create table public.c$k (id int primary key,
			p_id int not null references public.p$k, v text)"
	done
done
for k in 1 2 3; do
	sky_psql db1 -c "insert into public.p$k select g, 'p' || g from generate_series(1, 100) g"
	sky_psql db1 -c "insert into public.c$k select g, 1 + g % 100, 'c' || g from generate_series(1, 200) g"
done

TOPO=$SKY_TMP/topology.yaml
NARROW='{name: public.c3, nodes: [db1, db2]}'
sky_topology_write_items "$TOPO" db1 db2 db3 public.p1 public.c1 public.p2 public.p3 "$NARROW"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_replicate "${NODES[@]}"
sky_assert_eq "$(sky_table_state db3 public.c3)" "" "public.c3 registered on the leaf"

# refill K: new rows in pK and cK after the truncate
refill() {
	sky_psql db1 -c "insert into public.p$1 select g, 'new' || g from generate_series(1, 20) g"
	sky_psql db1 -c "insert into public.c$1 select g, 1 + g % 20, 'new' || g from generate_series(1, 30) g"
}

if want split; then
	sky_check "split: truncate p1 cascade, the two truncate events in different chunks"
	sky_psql db1 -c "truncate public.p1 cascade"
	refill 1
	sky_wait_caught_up db2 db3 90
	sky_assert_tables_equal public.p1 db1 db2 db3
	sky_assert_tables_equal public.c1 db1 db2 db3
fi

if want narrowed; then
	sky_check "narrowed: truncate p3 cascade while c3 is not replicated on the leaf"
	sky_psql db1 -c "truncate public.p3 cascade"
	sky_psql db1 -c "insert into public.p3 select g, 'new' || g from generate_series(1, 20) g"
	sky_wait_caught_up db2 db3 90
	sky_assert_tables_equal public.p3 db1 db2 db3
	sky_assert_tables_equal public.c3 db1 db2
	sky_assert_eq "$(sky_table_count db3 public.c3)" 0 "rows of the leaf's own c3"
fi

if want copying; then
	sky_check "copying: c2 is added and its copy waits while the root truncates p2 cascade"
	sky_worker_stop db2
	sky_topology_write_items "$TOPO" db1 db2 db3 public.p1 public.c1 public.p2 public.c2 public.p3 "$NARROW"
	sky_run reconcile-add "$RECONCILE" -f "$TOPO"
	sky_expect_rc 0 "skyreconcile adding public.c2"
	sky_assert_eq "$(sky_table_state db2 public.c2)" pending "public.c2 on the branch"
	cat >"$SKY_TMP/holder.sql" <<'SQL'
\set ON_ERROR_STOP 1
begin;
truncate public.p2 cascade;
select 'truncated';
do $$
declare
	v_deadline timestamptz := clock_timestamp() + interval '60 s';
begin
	loop
		perform pg_catalog.pg_stat_clear_snapshot();
		exit when exists (select 1 from pg_catalog.pg_locks l
				    join pg_catalog.pg_stat_activity a on a.pid = l.pid
				   where l.relation = 'public.c2'::regclass and not l.granted
				     and a.application_name = 'skyworker copy');
		if clock_timestamp() > v_deadline then
			raise exception 'no copy session waited for public.c2 within 60 s';
		end if;
		perform pg_sleep(0.05);
	end loop;
end $$;
commit;
select 'committed';
SQL
	sky_bg holder "$SKY_PGBIN/psql" -X -At -h 127.0.0.1 -p "$(sky_port db1)" -U postgres -d app \
		-f "$SKY_TMP/holder.sql"
	holder_truncated() { grep -q '^truncated$' "$SKY_TMP/log/holder.out"; }
	sky_wait_for 30 "the root session truncated p2 cascade (not committed)" holder_truncated
	sky_worker_start db2
	sky_bg_wait holder || {
		cat "$SKY_TMP/log/holder.out" >&2
		sky_fail "the truncating session failed"
	}
	sky_assert_contains "$SKY_TMP/log/holder.out" committed "the truncate committed while the copy of c2 waited for it"
	refill 2
fi
sky_wait_all_tables_ok 120 db2 db3
sky_wait_caught_up db2 db3 90
tables=(p1 c1 p2 p3)
if want copying; then
	tables+=(c2)
fi
for t in "${tables[@]}"; do
	sky_assert_tables_equal "public.$t" db1 db2 db3
done
sky_check_workers
for n in db2 db3; do
	sky_assert_eq "$(sky_psql "$n" -c "select coalesce(worker_error, '') from pgq_set.get_node('$SKY_CASCADE')")" "" "worker error on $n"
done
sky_ok "TRUNCATE ... CASCADE replicated in all three cases"
