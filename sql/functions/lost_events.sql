create or replace function pgq_set.lost_events(
	i_cascade text, i_fork_tick bigint,
	out ev_id bigint, out ev_time timestamptz, out ev_txid bigint, out ev_type text,
	out ev_data text, out ev_table text)
returns setof record
language plpgsql stable
as $$
-- Rejoin of a node that was the root when it died: the events its queue holds that no
-- survivor received, i.e. every committed event not in the snapshot of i_fork_tick, the last
-- tick the survivors share with it (the tick its history forked at). Events of transactions
-- that never committed (cut by the crash) are left out, and so are pgq_set's own events
-- (watermarks, sequence positions). In event order.
declare
	v_q    pgq.queue%rowtype;
	v_snap txid_snapshot;
begin
	select * into v_q from pgq.queue where queue_name = i_cascade;
	if not found then
		return;
	end if;
	select t.tick_snapshot into v_snap from pgq.tick t
	 where t.tick_queue = v_q.queue_id and t.tick_id = i_fork_tick;
	if not found then
		raise exception 'tick % is not in queue "%" here', i_fork_tick, i_cascade
			using errcode = 'SK002';
	end if;
	return query execute format(
		'select e.ev_id, e.ev_time, e.ev_txid, e.ev_type, e.ev_data, e.ev_extra1'
		'  from %s e'
		' where not txid_visible_in_snapshot(e.ev_txid, $1)'
		'   and txid_status(e.ev_txid) = ''committed'''
		'   and e.ev_type not like ''pgq\_set.%%'''
		' order by e.ev_id', pgq.quote_fqname(v_q.queue_data_pfx))
		using v_snap;
end;
$$;
