create or replace function pgq_set.get_apply_tables(
	i_cascade text, out table_name text, out schema_name text, out rel_name text,
	out state text)
returns setof record
language sql stable
as $$
	-- Tables whose events the worker of this node applies.
	select t.table_name, t.schema_name, t.rel_name, t.state
	  from pgq_set.table_info t
	 where t.cascade = i_cascade and t.state = 'ok'
	 order by t.table_name;
$$;
