#!/usr/bin/env bash
# 32: pgq_set.logutriga's C body (sql/capture/pgq_set_capture.c) writes the events PgQ's own
# logutriga writes, byte for byte, and hands PgQ's trigger what it does not do itself.
# - one node; queue "ours" is fed by pgq_set.logutriga (one row trigger, as pgq_set.capture_kinds
#   gives it with this body), queue "ref" by PgQ's C trigger with the same settings and
#   pgq_set.capture_key_change for key changes (the layout of PgQ's body), both on the same
#   tables, so every row change gives the same events in each queue;
# - tables: a type zoo (dates, times, intervals, floats, numeric, money, bytea, json, arrays,
#   ranges, non-ASCII text, NULLs) and the same without money (printed with the settings'
#   variables set directly, not through the GUC machinery), a table in a schema and with column names that need quoting
#   and urlencoding, a two-column key in another order than the columns, a key with an INCLUDE
#   column, a dropped column, a stored generated column;
# - writes: inserts, multi-row updates and deletes, key changes (one and two-column keys, a
#   statement moving several keys), a rolled-back savepoint, from a session
#   with hostile settings (German dates, extra_float_digits 0, escape bytea, another timezone),
#   and from a role with no right on PgQ's tables;
# - compared: ev_type, ev_data, ev_extra1-4, ev_txid and ev_time of the two queues, pairwise in
#   event order; the writing session's settings are as they were after the triggers ran;
# - handed to PgQ: TRUNCATE, a table with a _pgq_ev_ column, a key change of a key with an
#   INCLUDE column (PgQ's error), a queue that refuses inserts (PgQ's error);
# - the queue rotating under a session that has written to it before: the next event goes to
#   the new current table; rotating under a transaction that has written to it: its later
#   events go to the table its first one found (the lookup is kept for the transaction), and a
#   consumer's batch holds them all;
# - a role with no right on PgQ: its writes are queued all the same (PgQ's trigger needs
#   pgq_writer);
# - a server that does not find the library: pgq_set.logutriga is PgQ's trigger, and captures;
#   a root's table gets that body's four triggers; once the library is found and the installer
#   runs again, the same trigger runs the C body and the root's table has its two triggers; the
#   library gone again and the installer run: the four again; each layout queues a key change;
#   a root table whose primary key was dropped since does not stop the installer;
# - a writer whose search_path puts its own now(), nextval(), txid_current() and = first: none
#   of them runs in the statements the trigger runs as the owner.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

sky_pg_new db1
sky_psql db1 -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null
lib=$(sky_psql db1 -c "select pgq_set.capture_library()")
sky_assert_eq "$lib" pgq_set_capture "pgq_set.logutriga's library (built in $SKY_BUILD_DIR)"

sky_psql db1 >/dev/null <<'SQL'
select pgq.create_queue('ours');
select pgq.create_queue('ref');
create function public.ref_logutriga() returns trigger language c
	set datestyle = 'ISO, YMD' set intervalstyle = 'postgres' set extra_float_digits = 3
	set bytea_output = 'hex' set timezone = 'UTC' set lc_monetary = 'C'
	as '$libdir/pgq_triggers', 'pgq_logutriga';
create table public.zoo (
	id int primary key,
	d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
	f4 real, f8 double precision, num numeric, m money, b bytea, t text, js json, jsb jsonb,
	da date[], tsa timestamptz[], iva interval[], f8a float8[], r tstzrange, dr daterange,
	flag boolean, u uuid, ip inet, gone text, twice int generated always as (id * 2) stored
);
alter table public.zoo drop column gone;
create schema "Odd Schema";
create table "Odd Schema"."Tab le&=" (
	"Col=&+%" text, k2 text, "K 1" int, v varchar(20),
	primary key (k2, "K 1")
);
create table public.zoo_plain (
	id int primary key,
	d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
	f4 real, f8 double precision, num numeric, b bytea, t text, js json, jsb jsonb,
	da date[], tsa timestamptz[], iva interval[], f8a float8[], r tstzrange, dr daterange,
	flag boolean, u uuid, ip inet
);
create table public.magic (id int primary key, _pgq_ev_extra4 text, v text);
create table public.incl (v text, id int, w text, primary key (id) include (v));
SQL
# TABLE|KEY CHANGED (a WHEN condition, as add_table writes it for PgQ's body)
for tk in "public.zoo|old.id is distinct from new.id" "public.zoo_plain|old.id is distinct from new.id" \
	'"Odd Schema"."Tab le&="|old.k2 is distinct from new.k2 or old."K 1" is distinct from new."K 1"' \
	"public.magic|old.id is distinct from new.id" "public.incl|old.id is distinct from new.id"; do
	t=${tk%%|*} changed=${tk#*|}
	sky_psql db1 -c "create trigger a_ours after insert or update or delete on $t
			for each row execute function pgq_set.logutriga('ours');
		create trigger b_ref after insert or delete on $t
			for each row execute function public.ref_logutriga('ref');
		create trigger b_ref_upd after update on $t
			for each row when (not ($changed)) execute function public.ref_logutriga('ref');
		create trigger b_ref_key after update on $t
			for each row when ($changed) execute function pgq_set.capture_key_change('ref');
		create trigger c_ours_trunc after truncate on $t
			for each statement execute function pgq_set.logutriga('ours');
		create trigger d_ref_trunc after truncate on $t
			for each statement execute function public.ref_logutriga('ref');"
done

sky_check "writes from a session with hostile settings"
PGOPTIONS="-c datestyle=German,DMY -c extra_float_digits=0 -c bytea_output=escape -c timezone=Asia/Kolkata -c intervalstyle=sql_standard" \
	sky_psql db1 >/dev/null <<'SQL'
insert into public.zoo (id, d, ts, tstz, tm, tmtz, iv, f4, f8, num, m, b, t, js, jsb, da, tsa,
	iva, f8a, r, dr, flag, u, ip)
select i, date '2024-02-29' + i, timestamp '2024-02-29 13:14:15.123456' + i * interval '1 day',
	timestamptz '2024-02-29 13:14:15.5+05:45' + i * interval '1 hour', time '23:59:59.999999',
	timetz '12:00:00+03:30', interval '1 year 2 mons 3 days 04:05:06.7' * i, 0.1::real * i,
	0.1::float8 + 0.2::float8 * i, 12345678901234567890.123456789 * i, 1234.56 * i,
	decode('00ff2026' || lpad(to_hex(i), 2, '0'), 'hex'),
	'Grüße & =+% ' || i || E' tab\there "quoted" \\ back', '{"a": [1, 2.50, "x y"]}',
	'{"b": {"c": null}, "a": 1}', array[date '2000-01-01', null], array[timestamptz '2020-01-01 00:00+00'],
	array[interval '-1 day 02:00'], array[1e-300, 1.5, 'NaN', '-Infinity']::float8[],
	tstzrange('2024-01-01 00:00+00', null), daterange('2024-01-01', '2024-02-01'),
	i % 2 = 0, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24'
from generate_series(1, 20) i;
insert into public.zoo (id) values (100);
insert into public.zoo_plain select id, d, ts, tstz, tm, tmtz, iv, f4, f8, num, b, t, js, jsb, da,
	tsa, iva, f8a, r, dr, flag, u, ip from public.zoo;
update public.zoo_plain set iv = iv * 2, f8 = f8 / 3, tstz = tstz + interval '1 minute'
	where id % 3 = 0;
insert into "Odd Schema"."Tab le&=" values ('a=b&c', 'k two', 1, 'ä'), (null, 'k', 2, null);
update public.zoo set t = t || ' updated', f8 = f8 * 3 where id <= 10;
delete from public.zoo where id between 15 and 17;
update "Odd Schema"."Tab le&=" set "Col=&+%" = '%%' where "K 1" = 2;
update public.zoo set id = 1000 where id = 100;
update public.zoo set id = id + 50, t = 'moved' where id between 2 and 4;
update public.zoo_plain set id = -id where id in (5, 6);
update "Odd Schema"."Tab le&=" set k2 = 'k 2 new' where "K 1" = 2;
begin;
insert into public.zoo (id, t) values (200, 'kept');
savepoint s;
insert into public.zoo (id, t) values (201, 'rolled back');
update public.zoo set t = 'rolled back' where id = 1;
rollback to savepoint s;
insert into public.zoo (id, t) values (202, 'kept too');
commit;
insert into public.magic values (1, 'x4', 'magic');
insert into public.incl values ('included', 1, 'w'), (null, 2, null);
update public.incl set w = 'w2';
delete from public.incl where id = 2;
truncate public.magic;
SQL

sky_check "the writing session's own settings are as they were after the triggers ran"
HOSTILE="-c datestyle=German,DMY -c extra_float_digits=0 -c bytea_output=escape -c timezone=Asia/Kolkata -c intervalstyle=sql_standard -c lc_monetary=C.UTF-8"
PROBE="select current_setting('datestyle') || ' ' || current_setting('timezone') || ' '
	|| current_setting('extra_float_digits') || ' ' || current_setting('bytea_output') || ' '
	|| current_setting('intervalstyle') || ' ' || now()::date::text || ' ' || 0.1::float8::text
	|| ' ' || '\\x01'::bytea::text || ' ' || interval '1 day 2 hours'"
probes=$(PGOPTIONS="$HOSTILE" sky_psql db1 -c "$PROBE" \
	-c "insert into public.zoo_plain (id, ts, f8) values (900, now(), 0.1)" \
	-c "insert into public.zoo (id, m) values (900, 1.5)" -c "$PROBE")
[ "$(sed -n 1p <<<"$probes")" = "$(sed -n 2p <<<"$probes")" ] ||
	sky_fail "the session's settings changed under the triggers: $probes"
sky_ok "unchanged: $(sed -n 1p <<<"$probes")"

sky_check "writes from a role that may only write the tables (and call PgQ's insert, for PgQ's trigger)"
sky_psql db1 -c "create role writer login; grant usage on schema \"Odd Schema\" to writer;
	grant insert, update, delete, select on public.zoo, \"Odd Schema\".\"Tab le&=\" to writer;
	grant pgq_writer to writer"
as_writer() {
	"$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(sky_port db1)" -U writer \
		-d app "$@"
}
as_writer -c "insert into public.zoo (id, t) values (300, 'by writer')" \
	-c "update \"Odd Schema\".\"Tab le&=\" set v = 'w' where k2 = 'k'" ||
	sky_fail "a write by role writer failed"

sky_check "handed to PgQ: a key change of a key with an INCLUDE column, a queue refusing inserts: PgQ's errors"
err_ours=$(sky_psql db1 -c "alter table public.incl disable trigger b_ref_key;
	update public.incl set v = 'changed' where id = 1" 2>&1 || true)
sky_psql db1 -c "alter table public.incl enable trigger b_ref_key;
	alter table public.incl disable trigger a_ours;
	create trigger b_ref_all after update on public.incl
		for each row execute function public.ref_logutriga('ref')"
err_ref=$(sky_psql db1 -c "update public.incl set v = 'changed' where id = 1" 2>&1 || true)
sky_psql db1 -c "alter table public.incl enable trigger a_ours; drop trigger b_ref_all on public.incl"
grep -qF "primary key update not allowed" <<<"$err_ours" ||
	sky_fail "a key change of a key with an INCLUDE column through pgq_set.logutriga: no PgQ error ($err_ours)"
sky_assert_eq "$err_ours" "$err_ref" "the same error as PgQ's trigger"
sky_psql db1 -c "update pgq.queue set queue_disable_insert = true where queue_name = 'ours'"
err_ours=$(sky_psql db1 -c "insert into public.zoo (id) values (400)" 2>&1 || true)
sky_psql db1 -c "update pgq.queue set queue_disable_insert = false where queue_name = 'ours'"
grep -qF "Insert into queue disallowed" <<<"$err_ours" ||
	sky_fail "a queue refusing inserts: no PgQ error ($err_ours)"
sky_ok "a queue refusing inserts: $err_ours"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from public.zoo where id = 400")" 0 "nothing written"

sky_check "the queue rotates under a session that wrote to it: the next event is in the new table"
rot=$(sky_psql db1 <<'SQL'
update pgq.queue set queue_rotation_period = '0' where queue_name in ('ours', 'ref');
insert into public.zoo (id, t) values (500, 'before rotation');
select pgq.current_event_table('ours');
select pgq.maint_rotate_tables_step1('ours'), pgq.maint_rotate_tables_step1('ref');
select pgq.maint_rotate_tables_step2();
insert into public.zoo (id, t) values (501, 'after rotation');
select pgq.current_event_table('ours');
SQL
)
before=$(sed -n 1p <<<"$rot")
after=$(sed -n 4p <<<"$rot")
[ "$before" != "$after" ] || sky_fail "the queue did not rotate ($rot)"
sky_assert_eq "$(sky_psql db1 -c "select ev_data from $after")" \
	"$(sky_psql db1 -c "select ev_data from $after where ev_data like 'id=501&%'")" \
	"the event after the rotation is in $after"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from $after")" 1 "one event in $after"
sky_ok "the rotation moved the session's inserts from $before to $after"

sky_check "a transaction that wrote before a rotation keeps its table; a consumer reads all its events"
tick_ours() { sky_psql db1 -c "select pgq.force_tick('ours')" -c "select pgq.ticker('ours')" >/dev/null; }
tick_ours
sky_psql db1 -c "select pgq.register_consumer('ours', 'rotcheck')" >/dev/null
rot=$(sky_psql db1 <<SQL
begin;
insert into public.zoo (id, t) values (800, 'in the transaction, before the rotation');
select pgq.current_event_table('ours');
\! "$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$(sky_dsn db1)" -c "select pgq.maint_rotate_tables_step1('ours')" -c "select pgq.maint_rotate_tables_step2()" >/dev/null
select pgq.current_event_table('ours');
insert into public.zoo (id, t) values (801, 'in the transaction, after the rotation');
commit;
SQL
)
before=$(sed -n 1p <<<"$rot")
after=$(sed -n 2p <<<"$rot")
[ "$before" != "$after" ] || sky_fail "the queue did not rotate during the transaction ($rot)"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from $before where ev_data like 'id=80_&%'")" 2 \
	"both events of the transaction in $before, the table its first event found"
tick_ours
got=$(sky_psql db1 -c "select ev_data from pgq.get_batch_events(pgq.next_batch('ours', 'rotcheck'))
	where ev_data like 'id=80_&%' order by ev_id")
sky_assert_eq "$(grep -c . <<<"$got")" 2 "the consumer's batch holds both events ($got)"
sky_psql db1 -c "select pgq.finish_batch(pgq.next_batch('ours', 'rotcheck'))" \
	-c "select pgq.unregister_consumer('ours', 'rotcheck')" >/dev/null
sky_ok "the events before and after the rotation both in $before and both in the consumer's batch"

sky_check "the two queues hold the same events"
events() {
	sky_psql db1 -c "select ev_txid, ev_time, ev_type, ev_data, ev_extra1, ev_extra2, ev_extra3,
		ev_extra4 from pgq.event_$(sky_psql db1 -c "select queue_id from pgq.queue
		where queue_name = '$1'") order by ev_id"
}
events ours >"$SKY_TMP/ours.txt"
events ref >"$SKY_TMP/ref.txt"
n=$(wc -l <"$SKY_TMP/ours.txt")
[ "$n" -ge 40 ] || sky_fail "only $n events in queue ours"
if ! diff "$SKY_TMP/ref.txt" "$SKY_TMP/ours.txt" >"$SKY_TMP/events.diff"; then
	head -20 "$SKY_TMP/events.diff" >&2
	sky_fail "the events of pgq_set.logutriga differ from PgQ's logutriga's"
fi
grep -q 'rolled+back' "$SKY_TMP/ours.txt" && sky_fail "an event of the rolled-back savepoint was kept"
grep -q '^[0-9]*|[^|]*|R|' "$SKY_TMP/ours.txt" || sky_fail "no TRUNCATE event"
grep -q 'extra4\|x4' "$SKY_TMP/ours.txt" || sky_fail "no event of table magic"
sky_ok "$n events, pairwise equal (txid, time, type, data, extra1-4), the rolled-back savepoint's left out"

sky_check "a role with no right on PgQ at all: pgq_set.logutriga still queues its writes"
sky_psql db1 -c "revoke pgq_writer from writer; alter table public.zoo disable trigger b_ref"
as_writer -c "insert into public.zoo (id, t) values (600, 'no right on PgQ')" ||
	sky_fail "a write by a role without rights on PgQ failed"
sky_assert_eq "$(sky_psql db1 -c "select ev_type || ' ' || ev_extra1 from pgq.event_$(sky_psql db1 \
	-c "select queue_id from pgq.queue where queue_name = 'ours'") where ev_data like 'id=600&%'")" \
	"I:id public.zoo" "the event of the write by a role without rights on PgQ"

sky_check "a server without the library: pgq_set.logutriga is PgQ's trigger, and captures"
# no $libdir in the path: a pgq_set_capture.so installed by the package stays unseen too
SKY_CAPTURE_PATH=$SKY_TMP/no-such-dir sky_pg_new db2
sky_psql db2 -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null
sky_assert_eq "$(sky_psql db2 -c "select pgq_set.capture_library()")" '$libdir/pgq_triggers' \
	"pgq_set.logutriga's library where pgq_set_capture is not found"
sky_psql db2 >/dev/null -c "select pgq.create_queue('ours');
	create table public.t (id int primary key, v text);
	create trigger a_ours after insert or update or delete on public.t
		for each row execute function pgq_set.logutriga('ours');
	insert into public.t values (1, 'a b')"
sky_assert_eq "$(sky_psql db2 -c "select ev_type || ' ' || ev_data || ' ' || ev_extra1 from pgq.event_1")" \
	"I:id id=1&v=a+b public.t" "the event PgQ's trigger wrote"
# layout LABEL: a root's table has the capture triggers of the body the node has, and a key
# change through them is queued as a delete and an insert
sky_psql db2 >/dev/null -c "select pgq_set.create_root('c2', 'n2');
	create table public.t2 (id int primary key, v text);
	select pgq_set.add_table('c2', 'public.t2')"
layout() {
	local want got k
	want=$(sky_psql db2 -c "select string_agg(pgq_set.trigger_name('c2', k), ' ' order by pgq_set.trigger_name('c2', k))
		from unnest(pgq_set.capture_kinds()) k")
	got=$(sky_psql db2 -c "select string_agg(tgname, ' ' order by tgname) from pg_trigger
		where tgrelid = 'public.t2'::regclass")
	sky_assert_eq "$got" "$want" "the capture triggers of public.t2, $1"
	k=$(sky_psql db2 -c "select coalesce(max(abs(id)), 0) + 1 from public.t2")
	sky_psql db2 -c "insert into public.t2 values ($k, 'k')" -c "update public.t2 set id = -id where id = $k"
	sky_assert_eq "$(sky_psql db2 -c "select string_agg(ev_type || ' ' || ev_data, ' / ' order by ev_id)
		from pgq.event_2 where ev_data in ('id=$k&v=k', 'id=-$k&v=k')")" \
		"I:id id=$k&v=k / D:id id=$k&v=k / I:id id=-$k&v=k" "the key change's events, $1"
}
layout "PgQ's body"
sky_assert_eq "$(sky_psql db2 -c "select array_length(pgq_set.capture_kinds(), 1)")" 4 \
	"four capture triggers with PgQ's body"

sky_check "the library made available later: the installer run again switches the body and the root's triggers"
sky_pg_conf db2 "dynamic_library_path = '$SKY_BUILD_DIR/sql/capture'"
sky_psql db2 -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null
sky_assert_eq "$(sky_psql db2 -c "select pgq_set.capture_library()")" pgq_set_capture \
	"pgq_set.logutriga's library after the installer ran again"
sky_psql db2 -c "create role nopgq login; grant insert on public.t to nopgq"
"$SKY_PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(sky_port db2)" -U nopgq -d app \
	-c "insert into public.t values (2, 'c d')" ||
	sky_fail "the existing trigger did not run the C body (a role without rights on PgQ could not write)"
sky_assert_eq "$(sky_psql db2 -c "select string_agg(ev_type || ' ' || ev_data, ' / ' order by ev_id)
	from pgq.event_1")" "I:id id=1&v=a+b / I:id id=2&v=c+d" "the events of both bodies"
layout "C body"
sky_assert_eq "$(sky_psql db2 -c "select pgq_set.capture_kinds()::text")" "{capture_row,capture_trunc}" \
	"one row trigger and the TRUNCATE trigger with the C body"

sky_check "the library gone again: the installer run again gives PgQ's body and its triggers back"
sky_pg_conf db2 "dynamic_library_path = '$SKY_TMP/no-such-dir'"
sky_psql db2 -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null
sky_assert_eq "$(sky_psql db2 -c "select pgq_set.capture_library()")" '$libdir/pgq_triggers' \
	"pgq_set.logutriga's library after the installer ran without the library"
layout "PgQ's body again"

sky_check "a root table whose primary key was dropped since does not stop the installer"
sky_psql db2 >/dev/null -c "create table public.t3 (id int primary key, v text);
	select pgq_set.add_table('c2', 'public.t3')"
sky_psql db2 -c "alter table public.t3 drop constraint t3_pkey"
sky_psql db2 -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null ||
	sky_fail "the installer failed on a root table without a primary key"
sky_ok "the installer ran; public.t3 keeps its triggers: $(sky_psql db2 -c "select count(*) from pg_trigger
	where tgrelid = 'public.t3'::regclass")"

sky_check "the writer's search_path cannot put its own functions into the insert run as the owner"
sky_psql db1 -c "grant create on database app to writer"
as_writer >/dev/null <<'SQL'
create schema evil;
create function evil.now() returns timestamptz language plpgsql as
	$$ begin raise exception 'evil.now() ran as %', current_user; end $$;
create function evil.nextval(regclass) returns bigint language plpgsql as
	$$ begin raise exception 'evil.nextval() ran as %', current_user; end $$;
create function evil.txid_current() returns bigint language plpgsql as
	$$ begin raise exception 'evil.txid_current() ran as %', current_user; end $$;
create function evil.texteq(text, text) returns boolean language plpgsql as
	$$ begin raise exception 'evil.= ran as %', current_user; end $$;
create operator evil.= (leftarg = text, rightarg = text, function = evil.texteq);
SQL
as_writer -c "set search_path = evil, pg_catalog, public" \
	-c "insert into public.zoo (id, t) values (700, 'search_path')" ||
	sky_fail "a write with the writer's functions first in search_path failed (output above)"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pgq.event_$(sky_psql db1 \
	-c "select queue_id from pgq.queue where queue_name = 'ours'") where ev_data like 'id=700&%'")" \
	1 "the write's event, none of the writer's functions called"
