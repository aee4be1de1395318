#!/usr/bin/env bash
# 12: captured values do not depend on the writer's session settings, nor copies and applies on the
# settings of the nodes' databases, nor on server encodings.
# - cascade app: db1 (UTF8) root -> db2 (UTF8) branch -> db3 (LATIN1) leaf. Cascade lat: db3
#   (LATIN1) root -> db4 (UTF8) leaf: values cross encodings both ways (characters both can hold).
# - every database's defaults are hostile (ALTER DATABASE: datestyle SQL/German, DMY,
#   extra_float_digits 0, intervalstyle sql_standard, bytea_output escape, a non-UTC timezone, and
#   lc_monetary de_DE when that locale exists), so the initial copies and the workers' sessions see
#   them too; the rows of the type zoo (date, timestamp, timestamptz, time, timetz, interval,
#   float4, float8, numeric, money, bytea, non-ASCII text, json, jsonb, arrays of dates,
#   timestamptz, intervals and floats, ranges, ...) are then written on the roots by sessions with
#   other settings again (German, SQL DMY, Postgres MDY; intervalstyle sql_standard, iso_8601,
#   postgres_verbose; extra_float_digits 0 and -5; bytea_output escape; timezones with half and
#   quarter hour offsets; client_encoding LATIN1), with inserts, updates, key-changing updates
#   (a delete and an insert in the queue) and deletes.
# - every node's table equals its root's, compared as a dump with fixed settings converted to UTF8;
#   the root keeps 0.30000000000000004 and so do the subscribers.
# - an upgrade re-points capture triggers that still call pgq.logutriga (a root installed before
#   pgq_set.logutriga existed) and does not duplicate them; a fresh install and the upgrade end with
#   the same triggers.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_need_bin "$(sky_worker_bin)"

for n in db1 db2 db3 db4; do
	sky_pg_new "$n"
done
sky_log "db3: database app re-created with encoding LATIN1"
sky_psql_db db3 postgres -c "drop database app" \
	-c "create database app encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0"
sky_psql db3 -c "create extension pgq"
sky_assert_eq "$(sky_psql db3 -c "show server_encoding")" LATIN1 "db3's encoding"

MONEY_LOCALE=""
if locale -a 2>/dev/null | grep -qx 'de_DE.utf8'; then
	MONEY_LOCALE=de_DE.utf8
else
	sky_log "locale de_DE.utf8 not installed: lc_monetary stays C (money formatting not exercised)"
fi

ZOO_DDL="create table public.zoo (
	id int primary key,
	d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
	f4 real, f8 double precision, num numeric, m money, b bytea, t text, js json, jsb jsonb,
	da date[], tsa timestamptz[], iva interval[], f8a float8[], r tstzrange, dr daterange,
	flag boolean, u uuid, ip inet
)"
for n in db1 db2 db3 db4; do
	sky_psql "$n" -c "$ZOO_DDL"
done
sky_psql db3 -c "create table public.zl (like public.zoo including all)"
sky_psql db4 -c "create table public.zl (like public.zoo including all)"

# zoo_row(i): the zoo's row i. Built from ISO literals with explicit offsets, so the values do
# not depend on the calling session's settings (only their text forms do). Text holds only
# characters LATIN1 has too. Created with client_encoding UTF8 (the body has non-ASCII text).
for n in db1 db3; do
	sky_psql "$n" <<'SQL'
set client_encoding = 'UTF8';
create function public.zoo_row(i int) returns public.zoo language sql as $$
select i,
       date '2020-03-04' + i,
       timestamp '2020-03-04 01:02:03.456789' + i * interval '1 day 1 hour 1.5 sec',
       timestamptz '2020-03-04 10:00:00.123456+00' + i * interval '7 hours 11 min',
       time '13:14:15.5' + i * interval '1 min',
       timetz '13:14:15.25+05:30',
       interval '1 year 2 mons 3 days 04:05:06.789' * i - interval '10 days 1 hour',
       (i / 3.0)::real,
       0.1::float8 * i + 0.2::float8,
       12345678901234567890.123456789::numeric / (i + 1),
       (i * 1234.56)::numeric::money,
       decode('00ff5c270a' || lpad(to_hex(i), 4, '0'), 'hex'),
       'Grüße, café ñ ÿ £ © « » ' || i || E' tab\t nl\n "q" \\ ' || repeat('é', i % 5),
       ('{"k": [1, 2.50, "x y"], "n": ' || i || ', "s": "ü\"q é"}')::json,
       ('{"k": [1, 2.50, "x y"], "n": ' || i || ', "s": "ü\"q é"}')::jsonb,
       array[date '2020-12-31' + i, null, date '1999-01-13'],
       array[timestamptz '1999-12-31 23:59:59+02' + i * interval '1 hour', timestamptz 'infinity'],
       array[interval '-1 day 2 hours' * i, interval '3 mons -4 sec'],
       array[1.0::float8 / 3, 1e-300::float8 * i, 'Infinity'::float8, -0.0::float8],
       tstzrange(timestamptz '2020-01-01 00:00+01' + i * interval '1 day',
                 timestamptz '2020-06-30 12:00+01' + i * interval '1 day', '[)'),
       daterange(date '2021-01-13' + i, date '2021-02-28' + i),
       i % 2 = 0,
       md5(i::text)::uuid,
       '10.0.0.1'::inet + i
$$;
SQL
done

# hostile defaults for every session of every database, the workers' and copies' included
for n in db1 db2 db3 db4; do
	style=$([ "$n" = db2 ] && echo German || echo "SQL, DMY")
	sky_psql "$n" -c "alter database app set datestyle = '$style'" \
		-c "alter database app set extra_float_digits = 0" \
		-c "alter database app set intervalstyle = 'sql_standard'" \
		-c "alter database app set bytea_output = 'escape'" \
		-c "alter database app set timezone = 'America/St_Johns'"
	# (LATIN1 has no euro sign for de_DE's money)
	if [ -n "$MONEY_LOCALE" ] && [ "$n" != db3 ]; then
		sky_psql "$n" -c "alter database app set lc_monetary = '$MONEY_LOCALE'"
	fi
done
sky_assert_eq "$(sky_psql db1 -c "select 0.1::float8 + 0.2::float8")" 0.3 \
	"db1's sessions print floats with extra_float_digits 0"

# rows that exist before the cascade: they reach branch and leaves through the initial copies
sky_psql db1 -c "insert into public.zoo select (public.zoo_row(g)).* from generate_series(1, 30) g"
sky_psql db3 -c "insert into public.zl select (public.zoo_row(g)).* from generate_series(1, 30) g"

TOPO=$SKY_TMP/topology.yaml
sky_topology_write "$TOPO" db1 db2 db3 public.zoo
cat >"$SKY_TMP/topology-lat.yaml" <<EOF
cascade: lat
nodes:
  db3:
    role: root
    dsn: "$(sky_dsn db3)"
  db4:
    role: leaf
    dsn: "$(sky_dsn db4)"
    provider: db3
tables:
  - public.zl
EOF
sky_run reconcile "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile apply (cascade app)"
sky_run reconcile-lat "$RECONCILE" -f "$SKY_TMP/topology-lat.yaml"
sky_expect_rc 0 "skyreconcile apply (cascade lat)"

sky_pgqd_start db1 db2 db3 db4
sky_worker_start db1 -v --poll-interval 0.2 --cascade app
sky_worker_start db2
sky_worker_start db3 -v --poll-interval 0.2 --cascade app
sky_worker_start db4
sky_wait_all_tables_ok 120 db2 db3
SKY_CASCADE=lat sky_wait_all_tables_ok 120 db4

# writes NODE TABLE FIRST: the sessions with their own settings write rows FIRST.. on TABLE
writes() {
	local node=$1 tbl=$2 a=$3 money=""
	[ -z "$MONEY_LOCALE" ] || [ "$node" = db3 ] || money="set lc_monetary = '$MONEY_LOCALE';"
	sky_psql "$node" <<SQL
set datestyle = 'SQL, DMY'; set extra_float_digits = 0; set intervalstyle = 'sql_standard';
set bytea_output = 'escape'; set timezone = 'America/St_Johns'; $money
insert into $tbl select (public.zoo_row(g)).* from generate_series($a, $a + 39) g;
update $tbl set f8 = f8 + 0.1::float8, d = d + 1, iv = iv * 1.5, m = m + 0.01::numeric::money
 where id % 3 = 0;
update $tbl set id = id + 1000, tstz = tstz + interval '30 min' where id between $a and $a + 4;
SQL
	sky_psql "$node" <<SQL
set datestyle = 'German'; set intervalstyle = 'iso_8601'; set extra_float_digits = -5;
set timezone = 'Asia/Kathmandu'; set bytea_output = 'hex';
update $tbl set f4 = f4 * 7, tm = tm + interval '1 hour', da = da || (d + 400),
       ts = ts - interval '1 year' where id % 4 = 1;
update $tbl set id = -id, f8a = f8a || 2.5e-7::float8 where id between $a + 10 and $a + 12;
delete from $tbl where id between $a + 20 and $a + 22;
SQL
	sky_psql "$node" <<SQL
set client_encoding = 'LATIN1'; set datestyle = 'Postgres, MDY';
set intervalstyle = 'postgres_verbose'; set extra_float_digits = 0; set timezone = 'Pacific/Chatham';
set bytea_output = 'escape';
begin;
update $tbl set r = tstzrange(lower(r) - interval '1 day', upper(r)), dr = daterange(lower(dr), upper(dr) + 3),
       num = num * 3, b = b || '\\x5c00'::bytea, tsa = tsa || timestamptz '2030-02-03 04:05:06.789+13:45'
 where id % 5 = 2;
update $tbl set id = id + 2000 where id between $a + 30 and $a + 31;
update $tbl set t = t || ' ' || chr(233) || chr(255) where id = $a + 33;
commit;
SQL
}

sky_check "sessions with hostile settings write on the roots"
writes db1 public.zoo 100
writes db3 public.zl 100
sky_assert_eq "$(sky_psql db1 -c "set extra_float_digits = 3" -c "select f8 from public.zoo where id = 1")" \
	0.30000000000000004 "the root holds 0.1 + 0.2 with full precision"

# dump_md5 NODE TABLE: md5 of the table's rows in key order printed with fixed settings, as UTF8
dump_md5() {
	sky_psql "$1" -c "set datestyle = 'ISO, YMD'" -c "set intervalstyle = 'postgres'" \
		-c "set extra_float_digits = 3" -c "set bytea_output = 'hex'" -c "set timezone = 'UTC'" \
		-c "set lc_monetary = 'C'" \
		-c "select md5(convert_to(coalesce(string_agg(t::text, E'\n' order by id), ''), 'UTF8'))
		      || ' ' || count(*) from $2 t"
}
dump_rows() {
	sky_psql "$1" -c "set client_encoding = 'UTF8'" -c "set datestyle = 'ISO, YMD'" \
		-c "set intervalstyle = 'postgres'" -c "set extra_float_digits = 3" \
		-c "set bytea_output = 'hex'" -c "set timezone = 'UTC'" -c "set lc_monetary = 'C'" \
		-c "select t::text from $2 t order by id"
}
# assert_dumps_equal TABLE ROOT NODE...
assert_dumps_equal() {
	local tbl=$1 root=$2 want got n
	shift 2
	want=$(dump_md5 "$root" "$tbl")
	for n in "$@"; do
		got=$(dump_md5 "$n" "$tbl")
		if [ "$got" != "$want" ]; then
			dump_rows "$root" "$tbl" >"$SKY_TMP/log/$tbl.$root.dump"
			dump_rows "$n" "$tbl" >"$SKY_TMP/log/$tbl.$n.dump"
			diff "$SKY_TMP/log/$tbl.$root.dump" "$SKY_TMP/log/$tbl.$n.dump" | head -20 >&2 || true
			sky_fail "$tbl on $n ($got) differs from $root ($want)"
		fi
	done
	sky_ok "$tbl equal on $root $* (md5 and rows: $want)"
}

sky_wait_caught_up db2 db3 120
SKY_CASCADE=lat SKY_ROOT=db3 sky_wait_caught_up db4 120
assert_dumps_equal public.zoo db1 db2 db3
sky_assert_queue_matches db1 db2
assert_dumps_equal public.zl db3 db4
sky_assert_eq "$(sky_psql db3 -c "set extra_float_digits = 3" -c "select f8 from public.zoo where id = 1")" \
	0.30000000000000004 "the leaf holds 0.1 + 0.2 with full precision"

sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger
	where tgrelid = 'public.zoo'::regclass and tgfoid = 'pgq_set.logutriga'::regproc")" \
	"$(sky_psql db1 -c "select count(*) from unnest(pgq_set.capture_kinds()) k where k <> 'capture_key'")" \
	"capture triggers on pgq_set.logutriga (those of the node's body)"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_trigger
	where tgrelid = 'public.zoo'::regclass and tgfoid = 'pgq.logutriga'::regproc")" 0 \
	"no capture trigger on pgq.logutriga"
sky_check "an upgrade re-points capture triggers that still call pgq.logutriga"
sky_worker_stop db1
sky_psql db1 <<'SQL'
do $$
declare r record;
begin
	for r in select t.oid, t.tgname, pg_get_triggerdef(t.oid) as def from pg_trigger t
		  where t.tgrelid = 'public.zoo'::regclass and t.tgfoid = 'pgq_set.logutriga'::regproc
	loop
		execute format('drop trigger %I on public.zoo', r.tgname);
		execute replace(r.def, 'pgq_set.logutriga(', 'pgq.logutriga(');
	end loop;
end $$;
delete from pgq_set.schema_version where version = 3;
SQL
before=$(sky_psql db1 -c "select string_agg(tgname || ' ' || tgfoid::regproc::text, ', ' order by tgname)
	from pg_trigger where tgrelid = 'public.zoo'::regclass")
sky_log "triggers as an older install left them: $before"
sky_psql db1 -c "comment on schema pgq_set is null"
sky_run reconcile-upgrade "$RECONCILE" -f "$TOPO"
sky_expect_rc 0 "skyreconcile upgrades db1"
after=$(sky_psql db1 -c "select string_agg(tgname || ' ' || tgfoid::regproc::text, ', ' order by tgname)
	from pg_trigger where tgrelid = 'public.zoo'::regclass")
sky_assert_eq "$after" "${before//pgq.logutriga/pgq_set.logutriga}" "triggers after the upgrade"
sky_worker_start db1 -v --poll-interval 0.2 --cascade app
writes db1 public.zoo 200
sky_wait_caught_up db2 db3 120
assert_dumps_equal public.zoo db1 db2 db3
sky_check_workers
sky_ok "values replicate exactly whatever the sessions' settings and the encodings"
