create or replace function pgq_set.get_tables(
	i_cascade text, out table_name text, out state text, out schema_name text,
	out rel_name text, out create_missing boolean, out rows_copied bigint,
	out rows_estimate bigint, out copy_error text)
returns setof record
language sql stable
as $$
	-- Replicated tables registered on this node, with the progress of their copy.
	select t.table_name, t.state, t.schema_name, t.rel_name, t.create_missing,
	       t.rows_copied, t.rows_estimate, t.copy_error
	  from pgq_set.table_info t
	 where t.cascade = i_cascade
	 order by t.table_name;
$$;
