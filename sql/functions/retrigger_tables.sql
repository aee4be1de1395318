create or replace function pgq_set.retrigger_tables(i_cascade text)
returns integer
language plpgsql
as $$
-- After this node changed role (promote_root, demote_root): every replicated table gets the
-- triggers of the new role, capture on a root and write-deny elsewhere. Ours are dropped,
-- whatever their kind (a switchover's writer lock too), and add_table puts back those of the
-- role. Returns the tables done.
declare
	v_t record;
	v_n integer := 0;
begin
	for v_t in select table_name, to_regclass(format('%I.%I', schema_name, rel_name)) as rel
		     from pgq_set.table_info where cascade = i_cascade order by table_name
	loop
		if v_t.rel is null then
			continue;
		end if;
		perform pgq_set.drop_table_triggers(i_cascade, v_t.rel);
		perform pgq_set.add_table(i_cascade, v_t.table_name);
		v_n := v_n + 1;
	end loop;
	return v_n;
end;
$$;
