create or replace function pgq_set.get_apply_tables(
	i_cascade text, out table_name text, out schema_name text, out rel_name text,
	out state text, out copy_snapshot text, out copy_tick bigint)
returns setof record
language sql stable
as $$
	-- Tables the batch loop of this node deals with: 'ok' (apply), 'copying' (set events
	-- aside in pgq_set.copy_backlog), 'catching-up' (apply the events the copy does not
	-- contain: not visible in copy_snapshot, or in a batch after copy_tick).
	-- 'pending' tables are not listed: their events are not needed (their copy starts later).
	select t.table_name, t.schema_name, t.rel_name, t.state, t.copy_snapshot, t.copy_tick
	  from pgq_set.table_info t
	 where t.cascade = i_cascade and t.state in ('ok', 'copying', 'catching-up')
	 order by t.table_name;
$$;
