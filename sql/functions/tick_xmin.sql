create or replace function pgq_set.tick_xmin(i_cascade text, i_tick_id bigint)
returns bigint
language sql stable
as $$
	-- On a provider: the xmin of tick i_tick_id's snapshot (for the hand-over of a table
	-- copied from the root, see finish_catch_up).
	select txid_snapshot_xmin(t.tick_snapshot)
	  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = i_cascade and t.tick_id = i_tick_id;
$$;
