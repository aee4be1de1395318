-- The capture trigger of replicated tables on the root, run with fixed settings instead of the
-- writing session's: the event's bytes are the values printed by their types' output functions,
-- which follow the session: German or SQL datestyle, a timezone abbreviation,
-- extra_float_digits 0 (0.30000000000000004 printed as 0.3), intervalstyle, bytea_output and
-- lc_monetary would otherwise end up in the queue, and a subscriber would misread or refuse
-- them. The worker parses with the same settings (SKY_PG_VALUE_SETTINGS in common/sky_pg.h: keep
-- both lists equal). The bytes are in the server encoding; the worker declares that encoding on
-- its sessions (docs/worker.md).
--
-- Its body is pgq_set_capture (sql/capture/pgq_set_capture.c) where the server finds that
-- library (the package installs it into the server's library directory; else name its directory
-- in dynamic_library_path): the events of PgQ's logutriga, byte for byte, written straight into
-- the queue's current event table (+13 – 20% on the writer's throughput, docs/performance.md),
-- PgQ's trigger called for everything else. Where the library is not found, the body is PgQ's C
-- trigger itself (the code behind pgq.logutriga; it takes the queue from TG_ARGV[0] and does not
-- look at the function's name). pgq_set.capture_library() says which one a node has.
-- The C body applies the same settings itself: for tables whose column types print the same
-- under them whatever else is set, by setting the variables behind them around the row's
-- printing (no GUC machinery: +3.5% writer throughput), else as SET clauses would. PgQ's body is
-- declared with SET clauses; they are applied and undone on every call (about 2 us per row on a
-- 2-core VM; docs/performance.md).
do $do$
begin
	-- the library is loaded (and a missing one found) only when function bodies are checked
	perform set_config('check_function_bodies', 'on', true);
	-- no SET clauses: the C body applies the output settings itself (cheaper, see above)
	create or replace function pgq_set.logutriga()
	returns trigger
	language c
	as 'pgq_set_capture', 'pgq_set_logutriga';
exception when undefined_file then
	create or replace function pgq_set.logutriga()
	returns trigger
	language c
	set datestyle = 'ISO, YMD'
	set intervalstyle = 'postgres'
	set extra_float_digits = 3
	set bytea_output = 'hex'
	set timezone = 'UTC'
	set lc_monetary = 'C'
	as '$libdir/pgq_triggers', 'pgq_logutriga';
end;
$do$;

create or replace function pgq_set.capture_library()
returns text
language sql stable
as $$
	-- The library whose code pgq_set.logutriga() runs: 'pgq_set_capture' (ours) or
	-- '$libdir/pgq_triggers' (PgQ's logutriga).
	select probin from pg_proc where oid = 'pgq_set.logutriga()'::regprocedure;
$$;

create or replace function pgq_set.capture_kinds()
returns text[]
language sql stable
as $$
	-- The capture triggers a replicated table has on the root (kinds for pgq_set.trigger_name),
	-- which follow the body of pgq_set.logutriga (pgq_set.capture_library()):
	-- - our C body: one row trigger for inserts, updates and deletes, 'capture_row' (it queues a
	--   key-changing update as a delete and an insert itself), and 'capture_trunc';
	-- - PgQ's: 'capture' (inserts, deletes), 'capture_upd' (updates keeping the key, a WHEN
	--   clause), 'capture_key' (updates changing it: pgq_set.capture_key_change, which PgQ's
	--   trigger cannot do) and 'capture_trunc'.
	-- A key change in C instead of PL/pgSQL: 100,000 key-changing rows of a 10-column table
	-- 1.7 s against 59 s; pgbench's writer 0 - 3% (docs/performance.md, stop 21).
	select case when pgq_set.capture_library() = 'pgq_set_capture'
		    then array['capture_row', 'capture_trunc']
		    else array['capture', 'capture_upd', 'capture_key', 'capture_trunc'] end;
$$;
