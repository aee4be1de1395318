create or replace function pgq_set.queue_event_table(i_cascade text)
returns text
language sql stable
as $$
	-- The event table that takes the queue's inserts now (a qualified, safe name), for
	-- the worker's COPY of events copied from the provider.
	select q.queue_data_pfx || '_' || q.queue_cur_table::text
	  from pgq.queue q
	 where q.queue_name = i_cascade;
$$;
