create or replace function pgq_set.logutriga()
returns trigger
language c
-- The capture trigger of replicated tables on the root: PgQ's own C trigger (the code behind
-- pgq.logutriga; it takes the queue from TG_ARGV[0] and does not look at the function's name),
-- run with fixed settings instead of the writing session's. logutriga prints every column with
-- its type's output function, which follows the session: German or SQL datestyle, a timezone
-- abbreviation, extra_float_digits 0 (0.30000000000000004 printed as 0.3), intervalstyle,
-- bytea_output and lc_monetary would otherwise end up in the queue, and a subscriber would
-- misread or refuse them. The worker parses with the same settings (SKY_PG_VALUE_SETTINGS in
-- common/sky_pg.h: keep both lists equal). The bytes are in the server encoding; the worker
-- declares that encoding on its sessions (docs/worker.md).
-- Cost: the SET clauses are applied and undone on every call (about 2 us per row on a 2-core
-- VM, +20% on logutriga alone; docs/performance.md).
set datestyle = 'ISO, YMD'
set intervalstyle = 'postgres'
set extra_float_digits = 3
set bytea_output = 'hex'
set timezone = 'UTC'
set lc_monetary = 'C'
as '$libdir/pgq_triggers', 'pgq_logutriga';
