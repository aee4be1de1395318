create or replace function pgq_set.drop_table_triggers(i_cascade text, i_table regclass)
returns integer
language plpgsql
as $$
-- Drop every trigger of cascade i_cascade on table i_table, whatever its name: the capture
-- triggers of a root and the write-deny trigger of a branch or leaf are told by their function
-- (PgQ's logutriga, pgq_set's capture and deny functions) and their first argument, the
-- cascade. Used when a node changes role (add_table then puts the right ones back). Returns
-- the number dropped.
declare
	v_trg text;
	v_n   integer := 0;
begin
	for v_trg in
		select t.tgname
		  from pg_trigger t
		  join pg_proc p on p.oid = t.tgfoid
		  join pg_namespace n on n.oid = p.pronamespace
		 where t.tgrelid = i_table and not t.tgisinternal
		   and ((n.nspname = 'pgq' and p.proname = 'logutriga') or n.nspname = 'pgq_set')
		   and t.tgnargs >= 1
		   and convert_from(substring(t.tgargs from 1 for position('\x00'::bytea in t.tgargs) - 1),
				    'SQL_ASCII') = i_cascade
	loop
		execute format('drop trigger %I on %s', v_trg, i_table);
		v_n := v_n + 1;
	end loop;
	return v_n;
end;
$$;
