create or replace function pgq_set.drop_member(i_cascade text, i_node_name text)
returns integer
language plpgsql
as $$
-- Forget member i_node_name (a node dropped from the cascade). Refused while this node
-- pulls from it. Safe to re-run. Returns 1 when the row existed.
begin
	if exists (select 1 from pgq_set.node
		    where cascade = i_cascade and provider_node = i_node_name) then
		raise exception 'node "%" is the provider of this node: change the provider first',
			i_node_name using errcode = 'object_in_use';
	end if;
	delete from pgq_set.member where cascade = i_cascade and node_name = i_node_name;
	return case when found then 1 else 0 end;
end;
$$;
