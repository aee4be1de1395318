create or replace function pgq_set.fence(i_cascade text)
returns integer
language plpgsql
as $$
-- On a node marked dead in the topology (failover), as soon as it is reachable: it must
-- never act as part of the cascade again until it rejoins. Its replicated tables refuse
-- application writes (deny_writes), its queue takes no ticks or events (external ticker,
-- inserts disabled: pgqd and capture stop), its worker is paused and refuses to run (its own
-- member row says dead: worker_state raises SQLSTATE SK003). Its data and queue stay, for the
-- rejoin to report what never reached the survivors. Safe to re-run. Returns 1 when something
-- changed.
declare
	v_node pgq_set.node%rowtype;
	v_n    integer := 0;
	v_cnt  integer;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade
			using errcode = 'no_data_found';
	end if;
	update pgq_set.node set paused = true where cascade = i_cascade and not paused;
	get diagnostics v_cnt = row_count;
	v_n := v_n + v_cnt;
	insert into pgq_set.member as m (cascade, node_name, location, dead)
	values (i_cascade, v_node.node_name, '', true)
	on conflict (cascade, node_name) do update set dead = true where not m.dead;
	get diagnostics v_cnt = row_count;
	v_n := v_n + v_cnt;
	update pgq.queue set queue_external_ticker = true, queue_disable_insert = true
	 where queue_name = i_cascade and not (queue_external_ticker and queue_disable_insert);
	get diagnostics v_cnt = row_count;
	v_n := v_n + v_cnt;
	v_n := v_n + pgq_set.deny_writes(i_cascade);
	return case when v_n > 0 then 1 else 0 end;
end;
$$;
