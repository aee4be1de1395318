create or replace function pgq_set.register_subscriber_at(
	i_cascade text, i_node_name text, i_tick_id bigint)
returns bigint
language plpgsql
as $$
-- On a provider: node i_node_name pulls from here from its own position i_tick_id on (a
-- change of provider). Registers it as a PgQ consumer at that tick, or moves an existing
-- registration there, and records it as a subscriber. The caller makes sure the node's
-- worker is quiescent (paused and acknowledged), so the position cannot move meanwhile.
-- Fails with SQLSTATE SK002 when this node's queue does not have the tick: not there yet
-- (the caller waits) or rotated away (the node cannot move here).
declare
	v_node pgq_set.node%rowtype;
	v_max  bigint;
	v_min  bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade;
	if not found then
		raise exception 'node for cascade "%" is not created on this database', i_cascade;
	end if;
	if v_node.node_role = 'leaf' then
		raise exception 'node "%" is a leaf and cannot be a provider (of "%")',
			v_node.node_name, i_node_name;
	end if;
	if i_node_name = v_node.node_name then
		raise exception 'node "%" cannot subscribe to itself', i_node_name;
	end if;
	select max(t.tick_id), min(t.tick_id) into v_max, v_min
	  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = i_cascade;
	if not exists (select 1 from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
		       where q.queue_name = i_cascade and t.tick_id = i_tick_id) then
		raise exception 'node "%" does not have tick % of node "%" (its ticks: % to %)',
			v_node.node_name, i_tick_id, i_node_name, v_min, v_max
			using errcode = 'SK002',
			      hint = case when i_tick_id > v_max then 'it is behind: wait until it caught up'
					  else 'the tick was rotated away' end;
	end if;
	perform pgq.register_consumer_at(i_cascade, i_node_name, i_tick_id);
	insert into pgq_set.subscriber as s (cascade, node_name, watermark)
	values (i_cascade, i_node_name, i_tick_id)
	on conflict (cascade, node_name) do update set watermark = excluded.watermark;
	return i_tick_id;
end;
$$;
