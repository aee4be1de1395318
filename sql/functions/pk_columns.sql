create or replace function pgq_set.pk_columns(i_table regclass)
returns text[]
language sql stable
as $$
	-- The columns of i_table's primary key, in key order; NULL when it has none.
	select array_agg(a.attname::text order by array_position(c.conkey, a.attnum))
	  from pg_constraint c
	  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
	 where c.conrelid = i_table and c.contype = 'p';
$$;
