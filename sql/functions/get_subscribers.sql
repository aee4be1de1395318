create or replace function pgq_set.get_subscribers(
	i_cascade text, out node_name text, out last_tick bigint, out watermark bigint)
returns setof record
language sql stable
as $$
	-- The nodes pulling from this one: their PgQ position here and the watermark they
	-- last reported.
	select s.node_name, sub.sub_last_tick, s.watermark
	  from pgq_set.subscriber s
	  left join pgq.consumer c on c.co_name = s.node_name
	  left join pgq.queue q on q.queue_name = s.cascade
	  left join pgq.subscription sub on sub.sub_consumer = c.co_id and sub.sub_queue = q.queue_id
	 where s.cascade = i_cascade
	 order by s.node_name;
$$;
