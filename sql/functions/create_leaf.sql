create or replace function pgq_set.create_leaf(
	i_cascade text, i_node_name text, i_provider text, i_tick_id bigint)
returns integer
language plpgsql
as $$
-- Make this database a leaf of cascade i_cascade at the provider's tick i_tick_id. A leaf
-- applies events and keeps no queue. Returns 1 when created, 0 when it already was.
declare
	v_node pgq_set.node%rowtype;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if found then
		if v_node.node_name = i_node_name and v_node.node_role = 'leaf'
		   and v_node.provider_node = i_provider then
			return 0;
		end if;
		raise exception 'cascade "%" already has node "%" (%) on this database',
			i_cascade, v_node.node_name, v_node.node_role;
	end if;
	insert into pgq_set.node (cascade, node_name, node_role, provider_node, last_tick)
	values (i_cascade, i_node_name, 'leaf', i_provider, i_tick_id);
	return 1;
end;
$$;
