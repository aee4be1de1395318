create or replace function pgq_set.set_parallel_copies(i_cascade text, i_count integer)
returns integer
language plpgsql
as $$
-- How many tables this node's worker copies at once. Returns 1 when changed.
begin
	if i_count is null or i_count < 1 then
		raise exception 'parallel_copies must be at least 1, not %', i_count;
	end if;
	update pgq_set.node set parallel_copies = i_count
	 where cascade = i_cascade and parallel_copies <> i_count;
	return case when found then 1 else 0 end;
end;
$$;
