create or replace function pgq_set.table_ddl(i_table_name text)
returns setof text
language plpgsql stable
as $$
-- On a provider: the statements that create table i_table_name's structure elsewhere: its
-- schema, columns (types, collations, not-null, defaults that need no sequence), primary key
-- unique and exclusion constraints, and indexes. Foreign keys, triggers and grants are not included.
declare
	v_oid  oid;
	v_nsp  text;
	v_rel  text;
	v_cols text;
	v_stmt text;
begin
	select c.oid, n.nspname, c.relname into v_oid, v_nsp, v_rel
	  from pg_class c join pg_namespace n on n.oid = c.relnamespace
	 where n.nspname || '.' || c.relname = i_table_name and c.relkind in ('r', 'p');
	if not found then
		raise exception 'table "%" does not exist on the provider', i_table_name
			using errcode = 'undefined_table';
	end if;

	select string_agg(format('%I %s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
			case when a.attcollation <> t.typcollation and a.attcollation <> 0
			     then ' collate ' || (select format('%I.%I', cn.nspname, co.collname)
						   from pg_collation co join pg_namespace cn on cn.oid = co.collnamespace
						  where co.oid = a.attcollation)
			     else '' end,
			case when a.attnotnull then ' not null' else '' end,
			case when d.adbin is not null and a.attgenerated = ''
			      and pg_get_expr(d.adbin, d.adrelid) not like '%nextval(%'
			     then ' default ' || pg_get_expr(d.adbin, d.adrelid)
			     when a.attgenerated = 's'
			     then ' generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
			     else '' end), ', ' order by a.attnum)
	  into v_cols
	  from pg_attribute a
	  join pg_type t on t.oid = a.atttypid
	  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
	 where a.attrelid = v_oid and a.attnum > 0 and not a.attisdropped;

	return next format('create schema if not exists %I', v_nsp);
	return next format('create table %I.%I (%s)', v_nsp, v_rel, v_cols);
	for v_stmt in
		select format('alter table %I.%I add constraint %I %s', v_nsp, v_rel, co.conname,
			      pg_get_constraintdef(co.oid))
		  from pg_constraint co
		 where co.conrelid = v_oid and co.contype in ('p', 'u', 'x')
		 order by co.contype, co.conname
	loop
		return next v_stmt;
	end loop;
	for v_stmt in
		select pg_get_indexdef(i.indexrelid)
		  from pg_index i
		 where i.indrelid = v_oid
		   and not exists (select 1 from pg_constraint co where co.conindid = i.indexrelid)
		 order by i.indexrelid
	loop
		return next v_stmt;
	end loop;
end;
$$;
