create or replace function pgq_set.sequence_positions(i_cascade text)
returns jsonb
language sql stable
as $$
	-- The last values of the sequences owned by columns of this node's replicated tables
	-- (serial, identity), as {"schema.name": last_value}: what a new root must stay ahead of.
	select coalesce(jsonb_object_agg(s.schemaname || '.' || s.sequencename,
					 coalesce(s.last_value, 0)), '{}'::jsonb)
	  from pgq_set.table_info ti
	  join pg_namespace n on n.nspname = ti.schema_name
	  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name
	  join pg_depend d on d.refobjid = c.oid and d.refclassid = 'pg_class'::regclass
			  and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
	  join pg_class sc on sc.oid = d.objid and sc.relkind = 'S'
	  join pg_sequences s on s.schemaname = (select nspname from pg_namespace where oid = sc.relnamespace)
			     and s.sequencename = sc.relname
	 where ti.cascade = i_cascade;
$$;
