create or replace function pgq_set.remove_table(i_cascade text, i_table_name text)
returns integer
language plpgsql
as $$
-- Stop replicating table i_table_name on this node: drop our triggers (capture on the root,
-- write-deny elsewhere), forget the table and its set-aside events. The table and its data
-- stay. A copy of the table in progress here is stopped: its session (application_name
-- 'skyworker copy', holding a lock on the table) is terminated and rolls back; the worker
-- does not start it again because the table is gone. So is a copy reading the table from here
-- for a node below (its provider session has the same name): the table is gone here, that
-- copy is moot, and a stalled one would otherwise hold this up indefinitely. Safe to re-run.
-- Returns 1 when the table was registered.
declare
	v_info pgq_set.table_info%rowtype;
	v_oid  oid;
begin
	select * into v_info from pgq_set.table_info
	 where cascade = i_cascade and table_name = i_table_name for update;
	if not found then
		return 0;
	end if;
	select c.oid into v_oid
	  from pg_class c join pg_namespace n on n.oid = c.relnamespace
	 where n.nspname = v_info.schema_name and c.relname = v_info.rel_name;
	if v_oid is not null then
		-- a running copy holds the table locked until it commits and would wait for the row
		-- we just locked: stop it rather than deadlock with it
		perform pg_terminate_backend(l.pid)
		   from pg_locks l join pg_stat_activity a on a.pid = l.pid
		  where l.locktype = 'relation' and l.relation = v_oid and l.granted
		    and l.pid <> pg_backend_pid() and a.application_name = 'skyworker copy';
		execute format('lock table %I.%I in access exclusive mode', v_info.schema_name, v_info.rel_name);
		-- every trigger of ours, whatever its name (today's, or cut by versions before 3)
		perform pgq_set.drop_table_triggers(i_cascade, v_oid);
	end if;
	delete from pgq_set.copy_backlog where cascade = i_cascade and table_name = i_table_name;
	delete from pgq_set.table_info where cascade = i_cascade and table_name = i_table_name;
	return 1;
end;
$$;
