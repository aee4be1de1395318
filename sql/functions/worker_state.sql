create or replace function pgq_set.worker_state(
	i_cascade text,
	out cascade text, out node_name text, out node_role text, out provider_node text,
	out provider_location text, out last_tick bigint, out paused boolean)
returns record
language plpgsql stable
as $$
-- What the worker of this node needs each loop. With i_cascade NULL: the only cascade of
-- this database. provider_location may hold a password: never print it.
declare
	v_count integer;
begin
	if i_cascade is null then
		select count(*) into v_count from pgq_set.node;
		if v_count = 0 then
			raise exception 'this database is not a node of any cascade' using errcode = 'no_data_found';
		elsif v_count > 1 then
			raise exception 'this database is a node of % cascades: name one with --cascade', v_count;
		end if;
	end if;
	select n.cascade, n.node_name, n.node_role, n.provider_node, m.location, n.last_tick, n.paused
	  into cascade, node_name, node_role, provider_node, provider_location, last_tick, paused
	  from pgq_set.node n
	  left join pgq_set.member m on m.cascade = n.cascade and m.node_name = n.provider_node
	 where i_cascade is null or n.cascade = i_cascade;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade using errcode = 'no_data_found';
	end if;
	if exists (select 1 from pgq_set.member m
		    where m.cascade = worker_state.cascade and m.node_name = worker_state.node_name and m.dead) then
		raise exception 'node "%" is fenced: it is marked dead in cascade "%" (failover); it rejoins when the topology no longer says dead: true',
			node_name, worker_state.cascade using errcode = 'SK003';
	end if;
	if provider_node is not null and provider_location is null then
		raise exception 'node "%": location of provider "%" is unknown', node_name, provider_node;
	end if;
end;
$$;
