create or replace function pgq_set.publish_watermark(i_cascade text)
returns bigint
language plpgsql
as $$
-- On the root: compute the global watermark (the lowest position anywhere in the cascade,
-- as reported up the tree), pin it locally and, when it moved, queue a pgq_set.watermark
-- event that carries it down to every node (on an idle queue at most once per
-- ticker_idle_period). Returns the watermark published.
declare
	v_node pgq_set.node%rowtype;
	v_wm   bigint;
	v_old  record;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found or v_node.node_role <> 'root' then
		raise exception 'this database is not the root of cascade "%"', i_cascade;
	end if;
	-- sequences that follow the root (a no-op before pgq_set 5 created their tables)
	if to_regclass('pgq_set.sequence_state') is not null then
		perform pgq_set.publish_sequences(i_cascade);
	end if;
	v_wm := pgq_set.local_watermark(i_cascade);
	if v_wm is null or v_wm is not distinct from v_node.global_watermark then
		return v_wm;
	end if;
	-- An idle cascade: the watermark moved only because the subscribers applied ticks that
	-- hold nothing but the previous watermark event. Publishing again would queue an event,
	-- hence a tick (ticker_max_lag later), hence a new watermark: a tick a second forever.
	-- Then publish only once the published one is ticker_idle_period old, so an idle queue
	-- still rotates.
	if v_node.global_watermark is not null then
		select o.tick_event_seq, o.tick_time, q.queue_ticker_idle_period,
		       (select n.tick_event_seq from pgq.tick n
			 where n.tick_queue = q.queue_id and n.tick_id = v_wm) as new_seq
		  into v_old
		  from pgq.queue q join pgq.tick o on o.tick_queue = q.queue_id
		 where q.queue_name = i_cascade and o.tick_id = v_node.global_watermark;
		if found and v_old.new_seq - v_old.tick_event_seq <= 1
		   and now() - v_old.tick_time < v_old.queue_ticker_idle_period then
			return v_node.global_watermark;
		end if;
	end if;
	perform pgq_set.set_global_watermark(i_cascade, v_wm);
	perform pgq.insert_event(i_cascade, 'pgq_set.watermark', v_wm::text);
	return v_wm;
end;
$$;
