create or replace function pgq_set.set_provider(i_cascade text, i_provider text)
returns integer
language plpgsql
as $$
-- On a branch or leaf: pull from node i_provider from now on, at this node's own position.
-- The worker picks the change up between batches (worker_state). Returns 1 when changed.
declare
	v_node pgq_set.node%rowtype;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade
			using errcode = 'no_data_found';
	end if;
	if v_node.node_role = 'root' then
		raise exception 'node "%" is the root: it has no provider', v_node.node_name;
	end if;
	if i_provider = v_node.node_name then
		raise exception 'node "%" cannot be its own provider', i_provider;
	end if;
	if not exists (select 1 from pgq_set.member
		       where cascade = i_cascade and node_name = i_provider) then
		raise exception 'provider "%" is not a member of cascade "%" on node "%"',
			i_provider, i_cascade, v_node.node_name;
	end if;
	if v_node.provider_node = i_provider then
		return 0;
	end if;
	update pgq_set.node set provider_node = i_provider where cascade = i_cascade;
	return 1;
end;
$$;
