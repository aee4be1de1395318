create or replace function pgq_set.consumer_tick(i_cascade text, i_consumer text)
returns bigint
language sql stable
as $$
	-- The PgQ position of consumer i_consumer on the local queue i_cascade (NULL if none).
	select s.sub_last_tick
	  from pgq.subscription s
	  join pgq.queue q on q.queue_id = s.sub_queue
	  join pgq.consumer c on c.co_id = s.sub_consumer
	 where q.queue_name = i_cascade and c.co_name = i_consumer;
$$;
