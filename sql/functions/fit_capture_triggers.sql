create or replace function pgq_set.fit_capture_triggers(i_cascade text, i_table regclass)
returns integer
language plpgsql
as $$
-- Give table i_table the capture triggers of cascade i_cascade that the body of
-- pgq_set.logutriga calls for (pgq_set.capture_kinds) and drop those of the other layout, under
-- today's names or the names versions before 3 gave them (cut to 63 bytes). The new ones are
-- created before the old ones go, in this transaction: no write is captured twice or missed.
-- Run by add_table on the root, and by the installer for every table of a root, since a body
-- that changed (the library installed or removed since) changes the layout. Returns the
-- triggers created and dropped.
declare
	v_kinds text[] := pgq_set.capture_kinds();
	v_fq    text;
	v_pk    text[];
	v_same  text;
	v_diff  text;
	v_k     text;
	v_name  text;
	v_n     integer := 0;
begin
	select format('%I.%I', n.nspname, c.relname) into v_fq
	  from pg_class c join pg_namespace n on n.oid = c.relnamespace
	 where c.oid = i_table;
	v_pk := pgq_set.pk_columns(i_table);
	if v_pk is null then
		-- add_table refuses such a table; one whose key was dropped since is left as it is
		-- (the installer fits every root table and must not fail on it)
		return 0;
	end if;
	select string_agg(format('old.%1$I is not distinct from new.%1$I', k), ' and '),
	       string_agg(format('old.%1$I is distinct from new.%1$I', k), ' or ')
	  into v_same, v_diff
	  from unnest(v_pk) as k;

	foreach v_k in array v_kinds loop
		v_n := v_n + pgq_set.put_trigger(i_table, i_cascade, v_k, case v_k
			when 'capture_row' then format(
				'after insert or update or delete on %s for each row execute function pgq_set.logutriga(%L)',
				v_fq, i_cascade)
			when 'capture' then format(
				'after insert or delete on %s for each row execute function pgq_set.logutriga(%L)',
				v_fq, i_cascade)
			when 'capture_upd' then format(
				'after update on %s for each row when (%s) execute function pgq_set.logutriga(%L)',
				v_fq, v_same, i_cascade)
			when 'capture_key' then format(
				'after update on %s for each row when (%s) execute function pgq_set.capture_key_change(%L)',
				v_fq, v_diff, i_cascade)
			when 'capture_trunc' then format(
				'after truncate on %s for each statement execute function pgq_set.logutriga(%L)',
				v_fq, i_cascade)
			end);
	end loop;
	foreach v_k in array array['capture_row', 'capture', 'capture_upd', 'capture_key'] loop
		continue when v_k = any (v_kinds);
		foreach v_name in array array[pgq_set.trigger_name(i_cascade, v_k),
					     left('_sky_' || i_cascade || '_' || v_k, 63)] loop
			if exists (select 1 from pg_trigger where tgrelid = i_table and tgname = v_name) then
				execute format('drop trigger %I on %s', v_name, v_fq);
				v_n := v_n + 1;
			end if;
		end loop;
	end loop;
	return v_n;
end;
$$;
