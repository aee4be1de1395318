create or replace function pgq_set.create_root(i_cascade text, i_node_name text)
returns bigint
language plpgsql
as $$
-- Make this database the root of cascade i_cascade: a PgQ queue of the same name ticked by
-- pgqd (ticker thresholds: 500 events / 0.05 s / 60 s idle, pgq_set.set_ticker changes them),
-- the node row, and the .global_watermark consumer that pins retention.
-- Safe to re-run; refuses when the node exists under another name or role.
-- Returns the queue's latest tick.
declare
	v_node pgq_set.node%rowtype;
	v_tick bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if found then
		if v_node.node_name <> i_node_name or v_node.node_role <> 'root' then
			raise exception 'cascade "%" already has node "%" (%) on this database',
				i_cascade, v_node.node_name, v_node.node_role;
		end if;
	else
		if not exists (select 1 from pgq.queue where queue_name = i_cascade) then
			perform pgq.create_queue(i_cascade);
			-- a tick at pgqd's next round after an event (ticker_period = 0.1; below
			-- the period, so that a round a little early does not skip a tick): PgQ's own
			-- 3 s max lag was most of a cascade's replication lag
			update pgq.queue set queue_ticker_max_count = 500,
			       queue_ticker_max_lag = interval '0.05 s',
			       queue_ticker_idle_period = interval '60 s'
			 where queue_name = i_cascade;
			-- the queue's sequences were created in this transaction, and its first tick
			-- drew from the tick sequence: write their state (wal_level = minimal would
			-- otherwise let a crash put them back below the next ticks, seq_set_logged)
			perform pgq_set.seq_set_logged(queue_tick_seq), pgq_set.seq_set_logged(queue_event_seq)
			   from pgq.queue where queue_name = i_cascade;
		end if;
		insert into pgq_set.node (cascade, node_name, node_role)
		values (i_cascade, i_node_name, 'root');
	end if;
	perform pgq.register_consumer(i_cascade, '.global_watermark');

	select max(t.tick_id) into v_tick
	  from pgq.tick t join pgq.queue q on q.queue_id = t.tick_queue
	 where q.queue_name = i_cascade;
	return v_tick;
end;
$$;
