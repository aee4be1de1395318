#!/usr/bin/env bash
# 16: a table copy from the root locks the table before it takes its snapshot. A session on the
# root holds ACCESS EXCLUSIVE on the table while the branch's copy starts; once the copy waits for
# that lock, the session rewrites the table (ALTER TABLE ... TYPE, which queues no events and gives
# every row the rewrite's xid) and commits. A copy whose snapshot was taken before the lock would
# see an empty table and never get the rows; the copy must be complete. Deterministic: the holding
# session commits only after it sees the copy session of the branch waiting for a lock on the table.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.base (id int primary key, v int)"
	sky_psql "$n" -c "create table public.t (id int primary key, v int not null)"
done
sky_psql db1 -c "insert into public.base select g, g from generate_series(1, 100) g"
sky_psql db1 -c "insert into public.t select g, g from generate_series(1, 5000) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.base
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_replicate "${NODES[@]}"

sky_check "public.t is added while the branch's worker is stopped: pending there"
sky_worker_stop db2
sky_topology_write "$TOPO" db1 db2 db3 public.base public.t
sky_run reconcile-add "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile adding public.t"
sky_assert_eq "$(sky_table_state db2 public.t)" pending "public.t on the branch"

sky_check "a root session holds ACCESS EXCLUSIVE on public.t; the branch's copy starts and waits"
# The holder: lock, wait (at most 60 s) until a 'skyworker copy' session waits for a lock on
# public.t, rewrite the table, commit.
cat >"$SKY_TMP/holder.sql" <<'SQL'
\set ON_ERROR_STOP 1
begin;
lock table public.t in access exclusive mode;
select 'locked';
do $$
declare
	v_deadline timestamptz := clock_timestamp() + interval '60 s';
begin
	loop
		perform pg_catalog.pg_stat_clear_snapshot();
		exit when exists (select 1 from pg_catalog.pg_locks l
				    join pg_catalog.pg_stat_activity a on a.pid = l.pid
				   where l.relation = 'public.t'::regclass and not l.granted
				     and a.application_name = 'skyworker copy');
		if clock_timestamp() > v_deadline then
			raise exception 'no copy session waited for public.t within 60 s';
		end if;
		perform pg_sleep(0.05);
	end loop;
end $$;
select 'copy waits';
alter table public.t alter column v type bigint;
commit;
select 'rewritten';
SQL
sky_bg holder "$SKY_PGBIN/psql" -X -At -h 127.0.0.1 -p "$(sky_port db1)" -U postgres -d app \
	-f "$SKY_TMP/holder.sql"
holder_locked() { grep -q '^locked$' "$SKY_TMP/log/holder.out"; }
sky_wait_for 30 "the root session holds the lock" holder_locked
sky_worker_start db2
sky_bg_wait holder || {
	cat "$SKY_TMP/log/holder.out" >&2
	sky_fail "the holding session failed"
}
sky_assert_contains "$SKY_TMP/log/holder.out" "copy waits" "the copy waited for the lock while the table was rewritten"
sky_assert_contains "$SKY_TMP/log/holder.out" "rewritten" "the rewrite committed"

sky_check "the copy holds every row of the rewritten table"
sky_wait_all_tables_ok 120 db2 db3
sky_psql db1 -c "update public.t set v = v + 1 where id % 100 = 0"
sky_wait_caught_up db2 db3 120
sky_assert_eq "$(sky_table_count db2 public.t)" 5000 "rows of public.t on the branch"
sky_assert_tables_equal public.t db1 db2 db3
sky_assert_tables_equal public.base db1 db2 db3
sky_ok "a copy from the root locks the table before its snapshot"
