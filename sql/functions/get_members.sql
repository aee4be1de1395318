create or replace function pgq_set.get_members(
	i_cascade text, out node_name text, out location text, out dead boolean)
returns setof record
language sql stable
as $$
	-- The members as this node knows them. location may hold a password: never print it.
	select m.node_name, m.location, m.dead
	  from pgq_set.member m
	 where m.cascade = i_cascade
	 order by m.node_name;
$$;
