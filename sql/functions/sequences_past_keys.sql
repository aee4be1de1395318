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
		select o.seq_fq as seq, o.table_fq as tbl, o.column_name as attname
		  from pgq_set.owned_sequences(i_cascade) o
	loop
		execute format('select max(%I)::bigint from %s', v_s.attname, v_s.tbl) into v_max;
		perform pgq.seq_setval(v_s.seq, coalesce(v_max, 0) + i_margin);
		v_n := v_n + 1;
	end loop;
	return v_n;
end;
$$;
