create or replace function pgq_set.get_sequences(i_cascade text, out seq_name text)
returns setof text
language sql stable
as $$
	-- The sequences listed for cascade i_cascade on this node.
	select s.seq_name from pgq_set.sequence_info s where s.cascade = i_cascade order by 1;
$$;
