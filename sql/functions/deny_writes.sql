create or replace function pgq_set.deny_writes(i_cascade text)
returns integer
language plpgsql
as $$
-- Make every replicated table of this node refuse application writes from the commit of this
-- call on (lock_writers on a root in a switchover, fence on a dead node), whatever its role:
-- a write-deny trigger of kind 'lock' (pgq_set.trigger_name) next to the others. Creating it waits for the transactions writing the
-- table and blocks new ones until the commit. All tables are locked at once, in name order.
-- Safe to re-run. Returns the tables locked now.
declare
	v_t    record;
	v_n    integer := 0;
	v_list text;
begin
	select string_agg(format('%I.%I', schema_name, rel_name), ', ' order by table_name)
	  into v_list
	  from pgq_set.table_info ti
	 where ti.cascade = i_cascade
	   and to_regclass(format('%I.%I', ti.schema_name, ti.rel_name)) is not null;
	if v_list is null then
		return 0;
	end if;
	execute 'lock table ' || v_list || ' in share row exclusive mode';
	for v_t in
		select c.oid, format('%I.%I', ti.schema_name, ti.rel_name) as fq
		  from pgq_set.table_info ti
		  join pg_namespace n on n.nspname = ti.schema_name
		  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name
		 where ti.cascade = i_cascade
		 order by ti.table_name
	loop
		-- a branch's or leaf's own write-deny trigger refuses writes already
		if pgq_set.writers_locked(i_cascade, v_t.oid) then
			continue;
		end if;
		v_n := v_n + pgq_set.put_trigger(v_t.oid, i_cascade, 'lock', format(
			'before insert or update or delete or truncate on %s for each statement '
			'execute function pgq_set.deny_write(%L)', v_t.fq, i_cascade));
	end loop;
	return v_n;
end;
$$;
