create or replace function pgq_set.owned_sequences(
	i_cascade text, out seq_fq text, out seq_name text, out table_fq text, out column_name text)
returns setof record
language sql stable
as $$
	-- The sequences owned by columns of this node's replicated tables (serial, identity):
	-- quoted and plain names, and the owning table (quoted) and column.
	select format('%I.%I', sn.nspname, sc.relname), sn.nspname || '.' || sc.relname,
	       format('%I.%I', ti.schema_name, ti.rel_name), a.attname::text
	  from pgq_set.table_info ti
	  join pg_namespace n on n.nspname = ti.schema_name
	  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name
	  join pg_depend d on d.refobjid = c.oid and d.refclassid = 'pg_class'::regclass
			  and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
	  join pg_class sc on sc.oid = d.objid and sc.relkind = 'S'
	  join pg_namespace sn on sn.oid = sc.relnamespace
	  join pg_attribute a on a.attrelid = c.oid and a.attnum = d.refobjsubid
	 where ti.cascade = i_cascade;
$$;
