create or replace function pgq_set.set_global_watermark(i_cascade text, i_tick bigint)
returns integer
language plpgsql
as $$
-- Apply a global watermark received from the root: no node rotates away ticks above it.
-- Moves the local .global_watermark consumer forward only, never past this node's own
-- position, and only to a tick the local queue has.
declare
	v_node pgq_set.node%rowtype;
	v_tick bigint := i_tick;
	v_cur  bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found or v_tick is null then
		return 0;
	end if;
	if v_node.node_role <> 'root' and v_node.last_tick is not null then
		v_tick := least(v_tick, v_node.last_tick);
	end if;
	if v_node.global_watermark is not null and v_tick <= v_node.global_watermark then
		return 0;
	end if;
	update pgq_set.node set global_watermark = v_tick where cascade = i_cascade;
	if v_node.node_role <> 'leaf' then
		v_cur := pgq_set.consumer_tick(i_cascade, '.global_watermark');
		if (v_cur is null or v_cur < v_tick)
		   and exists (select 1 from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
			       where q.queue_name = i_cascade and t.tick_id = v_tick) then
			perform pgq.register_consumer_at(i_cascade, '.global_watermark', v_tick);
		end if;
	end if;
	return 1;
end;
$$;
