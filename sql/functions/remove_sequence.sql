create or replace function pgq_set.remove_sequence(i_cascade text, i_seq_name text)
returns integer
language sql
as $$
	-- Forget a listed sequence (the sequence itself stays). Returns 1 when it was listed.
	with d as (delete from pgq_set.sequence_info
		    where cascade = i_cascade and seq_name = i_seq_name returning 1)
	select count(*)::integer from d;
$$;
