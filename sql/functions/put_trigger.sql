create or replace function pgq_set.put_trigger(i_table regclass, i_cascade text, i_kind text, i_rest text)
returns integer
language plpgsql
as $$
-- Make sure table i_table has our trigger of kind i_kind for cascade i_cascade (named by
-- pgq_set.trigger_name): nothing to do when it exists; otherwise 'create trigger <name> ' ||
-- i_rest is run (i_rest: the definition after the name, identifiers quoted by the caller),
-- after dropping the trigger of that kind under the name versions before 3 gave it (cut to 63
-- bytes by PostgreSQL for cascades of 45 characters or more), so it is replaced, not
-- duplicated, and gets today's definition. Returns 1 when it created one.
declare
	v_name   text := pgq_set.trigger_name(i_cascade, i_kind);
	v_legacy text := left('_sky_' || i_cascade || '_' || i_kind, 63);
begin
	if exists (select 1 from pg_trigger where tgrelid = i_table and tgname = v_name) then
		return 0;
	end if;
	if v_legacy <> v_name
	   and exists (select 1 from pg_trigger where tgrelid = i_table and tgname = v_legacy) then
		execute format('drop trigger %I on %s', v_legacy, i_table);
	end if;
	execute format('create trigger %I ', v_name) || i_rest;
	return 1;
end;
$$;
