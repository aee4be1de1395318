create or replace function pgq_set.create_tick(
	i_cascade text, i_tick_id bigint, i_tick_time timestamptz, i_tick_event_seq bigint)
returns integer
language plpgsql
as $$
-- On a branch, after the apply transaction of a batch committed: put the provider's tick
-- into the local queue (same id, time and event sequence), so the local batch boundaries
-- are the provider's. Returns 1 when inserted, 0 when it was there already. A local tick with
-- that id but another time or event sequence is not the provider's tick (a divergent history,
-- e.g. a demoted root's own ticks): refused with SQLSTATE SK004 (lost position), never taken.
declare
	v_t pgq.tick%rowtype;
begin
	select t.* into v_t from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = i_cascade and t.tick_id = i_tick_id;
	if found then
		if (v_t.tick_time, v_t.tick_event_seq) is distinct from (i_tick_time, i_tick_event_seq) then
			raise exception 'lost position: tick % of queue "%" here is of %, event seq %, but the provider''s is of %, event seq %: another history',
				i_tick_id, i_cascade, v_t.tick_time, v_t.tick_event_seq,
				i_tick_time, i_tick_event_seq
				using errcode = 'SK004';
		end if;
		return 0;
	end if;
	perform pgq.ticker(i_cascade, i_tick_id, i_tick_time, i_tick_event_seq);
	return 1;
end;
$$;
