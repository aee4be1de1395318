create or replace function pgq_set.get_tables(
	i_cascade text, out table_name text, out state text, out schema_name text,
	out rel_name text)
returns setof record
language sql stable
as $$
	-- Replicated tables registered on this node.
	select t.table_name, t.state, t.schema_name, t.rel_name
	  from pgq_set.table_info t
	 where t.cascade = i_cascade
	 order by t.table_name;
$$;
