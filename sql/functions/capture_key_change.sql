create or replace function pgq_set.capture_key_change()
returns trigger
language plpgsql
-- the settings of pgq_set.logutriga: values printed the same way whoever writes
set datestyle = 'ISO, YMD'
set intervalstyle = 'postgres'
set extra_float_digits = 3
set bytea_output = 'hex'
set timezone = 'UTC'
set lc_monetary = 'C'
as $$
-- Row trigger on the root for an UPDATE that changes the primary key (which PgQ's
-- logutriga refuses). Queues the change as two logutriga-format events: a delete of the
-- old row followed by an insert of the new one. TG_ARGV[0] is the queue name. OLD::text and
-- NEW::text are printed (and read back by row_urlencode) with the fixed settings above.
declare
	v_table text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
	v_pk    text := array_to_string(pgq_set.pk_columns(TG_RELID), ',');
begin

	perform pgq.insert_event(TG_ARGV[0], 'D:' || v_pk,
		pgq_set.row_urlencode(TG_RELID, OLD::text), v_table, null, null, null);
	perform pgq.insert_event(TG_ARGV[0], 'I:' || v_pk,
		pgq_set.row_urlencode(TG_RELID, NEW::text), v_table, null, null, null);
	return null;
end;
$$;
