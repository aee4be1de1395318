create or replace function pgq_set.sequences_past_keys(i_cascade text, i_margin bigint)
returns integer
language plpgsql
as $$
-- Failover: move every sequence owned by a column of a replicated table (serial, identity)
-- past the column's highest value plus i_margin, never back. The dead root's own positions
-- are lost; keys it handed out after the last surviving tick are at most i_margin above what
-- survived, for i_margin rows. Returns the sequences moved.
declare
	v_s   record;
	v_max bigint;
	v_n   integer := 0;
begin
	for v_s in
		select format('%I.%I', sn.nspname, sc.relname) as seq,
		       format('%I.%I', ti.schema_name, ti.rel_name) as tbl, a.attname
		  from pgq_set.table_info ti
		  join pg_namespace n on n.nspname = ti.schema_name
		  join pg_class c on c.relnamespace = n.oid and c.relname = ti.rel_name
		  join pg_depend d on d.refobjid = c.oid and d.refclassid = 'pg_class'::regclass
				  and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
		  join pg_class sc on sc.oid = d.objid and sc.relkind = 'S'
		  join pg_namespace sn on sn.oid = sc.relnamespace
		  join pg_attribute a on a.attrelid = c.oid and a.attnum = d.refobjsubid
		 where ti.cascade = i_cascade
	loop
		execute format('select max(%I)::bigint from %s', v_s.attname, v_s.tbl) into v_max;
		perform pgq.seq_setval(v_s.seq, coalesce(v_max, 0) + i_margin);
		v_n := v_n + 1;
	end loop;
	return v_n;
end;
$$;
