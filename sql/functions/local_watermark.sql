create or replace function pgq_set.local_watermark(i_cascade text)
returns bigint
language plpgsql stable
as $$
-- The lowest position this node and everything below it still needs: its own position
-- (the latest tick on the root) and every subscriber's PgQ position and reported watermark.
declare
	v_node pgq_set.node%rowtype;
	v_own  bigint;
	v_sub  bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade;
	if not found then
		return null;
	end if;
	if v_node.node_role = 'root' then
		select max(t.tick_id) into v_own
		  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
		 where q.queue_name = i_cascade;
	else
		v_own := v_node.last_tick;
	end if;
	select min(least(s.watermark, pgq_set.consumer_tick(i_cascade, s.node_name)))
	  into v_sub
	  from pgq_set.subscriber s
	 where s.cascade = i_cascade;
	return least(v_own, v_sub);
end;
$$;
