create or replace function pgq_set.create_branch(
	i_cascade text, i_node_name text, i_provider text,
	i_tick_id bigint, i_tick_time timestamptz, i_tick_event_seq bigint)
returns integer
language plpgsql
as $$
-- Make this database a branch of cascade i_cascade, starting at the provider's tick i_tick_id:
-- a copy of the queue with external ticks and local inserts disabled, holding exactly that
-- tick, the node row at that position, and the .global_watermark consumer.
-- Returns 1 when created, 0 when it already was (same name, role and provider).
declare
	v_node pgq_set.node%rowtype;
	v_qid  integer;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if found then
		if v_node.node_name = i_node_name and v_node.node_role = 'branch'
		   and v_node.provider_node = i_provider then
			return 0;
		end if;
		raise exception 'cascade "%" already has node "%" (%) on this database',
			i_cascade, v_node.node_name, v_node.node_role;
	end if;
	if exists (select 1 from pgq.queue where queue_name = i_cascade) then
		raise exception 'queue "%" already exists on this database but is not a pgq_set branch',
			i_cascade;
	end if;

	perform pgq.create_queue(i_cascade);
	select queue_id into v_qid from pgq.queue where queue_name = i_cascade;
	update pgq.queue
	   set queue_external_ticker = true, queue_disable_insert = true
	 where queue_id = v_qid;
	-- drop the queue's own first tick: this queue carries the provider's ticks only
	delete from pgq.tick where tick_queue = v_qid;
	perform pgq.ticker(i_cascade, i_tick_id, i_tick_time, i_tick_event_seq);

	insert into pgq_set.node (cascade, node_name, node_role, provider_node, last_tick,
				  last_tick_time, last_tick_event_seq, global_watermark)
	values (i_cascade, i_node_name, 'branch', i_provider, i_tick_id, i_tick_time,
		i_tick_event_seq, i_tick_id);
	perform pgq.register_consumer_at(i_cascade, '.global_watermark', i_tick_id);
	return 1;
end;
$$;
