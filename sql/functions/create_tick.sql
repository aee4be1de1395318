create or replace function pgq_set.create_tick(
	i_cascade text, i_tick_id bigint, i_tick_time timestamptz, i_tick_event_seq bigint)
returns integer
language plpgsql
as $$
-- On a branch, after the apply transaction of a batch committed: put the provider's tick
-- into the local queue (same id, time and event sequence), so the local batch boundaries
-- are the provider's. Returns 1 when inserted, 0 when it was there already.
begin
	if exists (select 1 from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
		    where q.queue_name = i_cascade and t.tick_id = i_tick_id) then
		return 0;
	end if;
	perform pgq.ticker(i_cascade, i_tick_id, i_tick_time, i_tick_event_seq);
	return 1;
end;
$$;
