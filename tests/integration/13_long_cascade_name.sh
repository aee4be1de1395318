#!/usr/bin/env bash
# 13: a cascade whose name is 50 characters long (names are [a-z0-9_]+ up to 63 characters; PgQ
# puts no limit on queue names). Our trigger names '_sky_<cascade>_<kind>' would be cut at 63 bytes
# (two kinds to the same name from 49 characters on); pgq_set.trigger_name gives such cascades
# '_sky_<24 characters>_<md5 prefix>_<kind>'.
# - skyreconcile creates the cascade and adds tables (exit 0): four capture triggers on the root,
#   one write-deny trigger on branch and leaf, named by pgq_set.trigger_name; a re-run changes
#   nothing and add_table called again adds no trigger;
# - the data replicates (key changes, truncate included): equal on every node;
# - a table removed from the topology loses its triggers on every node (root writes are no longer
#   queued, the leaf may write it); re-added, it gets them back, is copied again and is equal;
# - triggers under the names older versions gave (cut to 63 bytes, for a 46-character cascade) are
#   replaced by add_table (named by trigger_name, on pgq_set.logutriga) and dropped by
#   remove_table, never duplicated;
# - a cascade of 44 characters keeps the plain names '_sky_<cascade>_<kind>'.
SKY_CASCADE=long_cascade_name_for_trigger_naming_tests_abcdefg
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"
NODES=(db1 db2 db3)
C=$SKY_CASCADE
[ "${#C}" = 50 ] || sky_fail "the cascade name has ${#C} characters, not 50"

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t1 (id int primary key, v text)" \
		-c "create table public.t2 (id int primary key, v text)"
done
sky_psql db1 -c "insert into public.t1 select g, 'one ' || g from generate_series(1, 100) g" \
	-c "insert into public.t2 select g, 'two ' || g from generate_series(1, 100) g"

TOPO=$SKY_TMP/topology.yaml
TOPO1=$SKY_TMP/topology-t2.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.t1 public.t2
sky_topology_write "$TOPO1" db1 db2 db3 public.t2

# triggers NODE TABLE: our triggers on TABLE, "name function" sorted, one line
triggers() {
	sky_psql "$1" -c "select coalesce(string_agg(tgname || ' ' || tgfoid::regproc::text, ', ' order by tgname), '')
		from pg_trigger where tgrelid = '$2'::regclass and tgname like '\_sky\_%'"
}
# expect_triggers TABLE: the root has the capture triggers of its body (pgq_set.capture_kinds),
# branch and leaf the deny trigger
expect_triggers() {
	local t=$1 want n
	want=$(sky_psql db1 -c "select string_agg(pgq_set.trigger_name('$C', k) || ' ' || f, ', '
		order by pgq_set.trigger_name('$C', k))
		from (select k, case k when 'capture_key' then 'pgq_set.capture_key_change'
				       else 'pgq_set.logutriga' end
			from unnest(pgq_set.capture_kinds()) k) v(k, f)")
	sky_assert_eq "$(triggers db1 "$t")" "$want" "capture triggers on $t on db1"
	for n in db2 db3; do
		sky_assert_eq "$(triggers "$n" "$t")" "$(sky_psql db1 -c "select pgq_set.trigger_name('$C', 'deny')") pgq_set.deny_write" \
			"write-deny trigger on $t on $n"
	done
}
expect_no_triggers() {
	local n
	for n in "${NODES[@]}"; do
		sky_assert_eq "$(triggers "$n" "$1")" "" "no trigger of ours on $1 on $n"
	done
}

sky_check "skyreconcile sets up the cascade \"$C\" (${#C} characters)"
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply"
sky_assert_eq "$(sky_psql db1 -c "select max(length(tgname)) <= 56
	and count(*) = array_length(pgq_set.capture_kinds(), 1) from pg_trigger
	where tgrelid = 'public.t1'::regclass")" t "the capture triggers on the root, no name longer than 56"
expect_triggers public.t1
expect_triggers public.t2

sky_check "a re-run changes nothing; add_table again adds no trigger"
sky_run reconcile-again "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "dry-run after the apply"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_psql "$n" -c "select pgq_set.add_table('$C', 'public.t1')")" 0 "add_table re-run on $n"
done
expect_triggers public.t1

sky_pgqd_start "${NODES[@]}"
for n in "${NODES[@]}"; do
	sky_worker_start "$n"
done
sky_wait_all_tables_ok 120 db2 db3
sky_psql db1 -c "update public.t1 set v = v || ' upd' where id % 3 = 0" \
	-c "update public.t1 set id = id + 1000 where id <= 10" \
	-c "delete from public.t2 where id > 90" \
	-c "truncate public.t2" -c "insert into public.t2 values (1, 'after truncate')"
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.t1 "${NODES[@]}"
sky_assert_tables_equal public.t2 "${NODES[@]}"

sky_check "t1 removed: its triggers are gone on every node"
sky_run reconcile-remove "$RECONCILE" -f "$TOPO1"
sky_expect_rc 0 "skyreconcile without t1"
expect_no_triggers public.t1
expect_triggers public.t2
events_before=$(sky_psql db1 -c "select count(*) from pgq.event_template where ev_extra1 = 'public.t1'")
sky_psql db1 -c "update public.t1 set v = 'root only' where id = 50"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pgq.event_template where ev_extra1 = 'public.t1'")" \
	"$events_before" "a write of t1 on the root queues no event"
sky_psql db3 -c "update public.t1 set v = 'leaf may write' where id = 51"
sky_ok "the leaf may write t1"

sky_check "t1 re-added: triggers back, copied again, equal"
sky_run reconcile-readd "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile with t1 again"
expect_triggers public.t1
sky_wait_all_tables_ok 120 db2 db3
sky_psql db1 -c "update public.t1 set id = -id where id between 20 and 25" \
	-c "insert into public.t1 values (5000, 'new')"
sky_wait_caught_up db2 db3 120
sky_assert_tables_equal public.t1 "${NODES[@]}"
sky_assert_tables_equal public.t2 "${NODES[@]}"

L=legacy_cascade_name_of_forty_six_characters_xy
sky_check "triggers named as before (cut to 63 bytes; cascade \"$L\", ${#L} characters) are replaced, not duplicated, and removed"
[ "${#L}" = 46 ] || sky_fail "the legacy cascade name has ${#L} characters, not 46"
sky_psql db1 -c "create table public.legacy_t (id int primary key, v text)" \
	-c "select pgq_set.create_root('$L', 'db1')" >/dev/null
# what add_table did before: '_sky_<cascade>_<kind>', cut by PostgreSQL to 63 bytes
sky_psql db1 2>/dev/null <<SQL
create trigger _sky_${L}_capture after insert or delete on public.legacy_t
  for each row execute function pgq.logutriga('$L');
create trigger _sky_${L}_capture_upd after update on public.legacy_t
  for each row when (old.id is not distinct from new.id) execute function pgq.logutriga('$L');
create trigger _sky_${L}_capture_key after update on public.legacy_t
  for each row when (old.id is distinct from new.id) execute function pgq_set.capture_key_change('$L');
create trigger _sky_${L}_capture_trunc after truncate on public.legacy_t
  for each statement execute function pgq.logutriga('$L');
SQL
legacy=$(triggers db1 public.legacy_t)
sky_log "legacy triggers: $legacy"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger where tgrelid = 'public.legacy_t'::regclass")" 4 \
	"four legacy triggers"
sky_psql db1 -c "select pgq_set.add_table('$L', 'public.legacy_t')" >/dev/null
NK=$(sky_psql db1 -c "select array_length(pgq_set.capture_kinds(), 1)")
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger where tgrelid = 'public.legacy_t'::regclass")" "$NK" \
	"the $NK capture triggers of the node's body after add_table"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger where tgrelid = 'public.legacy_t'::regclass
	and tgname in (select pgq_set.trigger_name('$L', k) from unnest(pgq_set.capture_kinds()) k)")" "$NK" \
	"all $NK named by pgq_set.trigger_name"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger where tgrelid = 'public.legacy_t'::regclass
	and tgfoid = 'pgq.logutriga'::regproc")" 0 "none left on pgq.logutriga"
sky_psql db1 -c "select pgq_set.remove_table('$L', 'public.legacy_t')" >/dev/null
sky_assert_eq "$(triggers db1 public.legacy_t)" "" "remove_table dropped them"
# remove_table also knows the old names
sky_psql db1 -c "select pgq_set.add_table('$L', 'public.legacy_t')" >/dev/null
sky_psql db1 <<SQL
do \$\$
declare r record;
begin
	for r in select k from unnest(pgq_set.capture_kinds()) k loop
		execute format('alter trigger %I on public.legacy_t rename to %I',
			pgq_set.trigger_name('$L', r.k), left('_sky_$L' || '_' || r.k, 63));
	end loop;
end \$\$;
SQL
sky_assert_eq "$(triggers db1 public.legacy_t)" "$(sky_psql db1 -c "select string_agg(n || ' ' || f, ', ' order by n)
	from (select left('_sky_$L' || '_' || k, 63),
		     case k when 'capture_key' then 'pgq_set.capture_key_change' else 'pgq_set.logutriga' end
		from unnest(pgq_set.capture_kinds()) k) v(n, f)")" \
	"triggers under the old names again"
sky_psql db1 -c "select pgq_set.remove_table('$L', 'public.legacy_t')" >/dev/null
sky_assert_eq "$(triggers db1 public.legacy_t)" "" "remove_table drops triggers under the old names"

sky_check "a 44-character cascade keeps the plain names"
S=cascade_name_of_exactly_forty_four_character
[ "${#S}" = 44 ] || sky_fail "the short cascade name has ${#S} characters, not 44"
sky_assert_eq "$(sky_psql db1 -c "select pgq_set.trigger_name('$S', 'capture_trunc')")" "_sky_${S}_capture_trunc" \
	"trigger_name of a 44-character cascade"
sky_check_workers
sky_ok "trigger names of long cascades fit, and add/remove/re-add work"
