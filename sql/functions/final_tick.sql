create or replace function pgq_set.final_tick(i_cascade text)
returns bigint
language plpgsql
as $$
-- Switchover, on the old root after lock_writers: make one last tick, which holds every event
-- captured here, and hand the queue's ticks over (pgqd stops ticking it: external ticker).
-- Returns the final tick; safe to re-run (then it returns the same tick).
declare
	v_node pgq_set.node%rowtype;
	v_q    pgq.queue%rowtype;
	v_tick bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found or v_node.node_role <> 'root' then
		raise exception 'this database is not the root of cascade "%"', i_cascade;
	end if;
	select * into v_q from pgq.queue where queue_name = i_cascade for update;
	if not v_q.queue_external_ticker then
		perform pgq.force_tick(i_cascade);
		perform pgq.ticker(i_cascade);
		update pgq.queue set queue_external_ticker = true where queue_id = v_q.queue_id;
	end if;
	select max(tick_id) into v_tick from pgq.tick where tick_queue = v_q.queue_id;
	return v_tick;
end;
$$;
