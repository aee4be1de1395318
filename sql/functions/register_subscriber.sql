create or replace function pgq_set.register_subscriber(
	i_cascade text, i_node_name text,
	out tick_id bigint, out tick_time timestamptz, out tick_event_seq bigint)
returns record
language plpgsql
as $$
-- On a provider (root or branch): register node i_node_name as a PgQ consumer of the local
-- queue and as a subscriber. Its position is pinned from here on. Safe to re-run: an
-- existing registration keeps its position. Returns the position and its tick details.
declare
	v_node pgq_set.node%rowtype;
	v_pos  bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade;
	if not found then
		raise exception 'node for cascade "%" is not created on this database', i_cascade;
	end if;
	if v_node.node_role = 'leaf' then
		raise exception 'node "%" is a leaf and cannot be a provider (of "%")',
			v_node.node_name, i_node_name;
	end if;
	if i_node_name like '.%' then
		raise exception 'consumer "%" is internal to pgq_set', i_node_name
			using errcode = 'invalid_parameter_value';
	end if;
	if i_node_name = v_node.node_name then
		raise exception 'node "%" cannot subscribe to itself', i_node_name;
	end if;

	v_pos := pgq_set.consumer_tick(i_cascade, i_node_name);
	if v_pos is null then
		perform pgq.register_consumer(i_cascade, i_node_name);
		v_pos := pgq_set.consumer_tick(i_cascade, i_node_name);
	end if;
	insert into pgq_set.subscriber (cascade, node_name, watermark)
	values (i_cascade, i_node_name, v_pos)
	on conflict (cascade, node_name) do nothing;

	select t.tick_id, t.tick_time, t.tick_event_seq
	  into tick_id, tick_time, tick_event_seq
	  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = i_cascade and t.tick_id = v_pos;
	if not found then
		raise exception 'tick % of subscriber "%" is no longer in queue "%"',
			v_pos, i_node_name, i_cascade;
	end if;
end;
$$;
