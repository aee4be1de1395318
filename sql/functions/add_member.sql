create or replace function pgq_set.add_member(
	i_cascade text, i_node_name text, i_location text, i_dead boolean default false)
returns integer
language plpgsql
as $$
-- Insert or update a member row. Returns 1 when something changed, 0 otherwise.
begin
	insert into pgq_set.member as m (cascade, node_name, location, dead)
	values (i_cascade, i_node_name, i_location, coalesce(i_dead, false))
	on conflict (cascade, node_name) do update
		set location = excluded.location, dead = excluded.dead
		where m.location is distinct from excluded.location
		   or m.dead is distinct from excluded.dead;
	if found then
		return 1;
	end if;
	return 0;
end;
$$;
