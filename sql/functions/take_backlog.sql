create or replace function pgq_set.take_backlog(
	i_cascade text, i_table_name text,
	out ev_id bigint, out ev_txid bigint, out ev_type text, out ev_data text)
returns setof record
language sql
as $$
	-- In the batch loop's apply transaction, for a table that is 'catching-up': remove the
	-- events set aside while it was copied and return, in event order, those its copy does
	-- not contain (not visible in the copy's root snapshot, or from a batch after the
	-- copy's tick). The caller applies them before the batch's own events.
	with taken as (
		delete from pgq_set.copy_backlog b
		 where b.cascade = i_cascade and b.table_name = i_table_name
		returning b.ev_id, b.ev_txid, b.batch_tick, b.ev_type, b.ev_data
	)
	select k.ev_id, k.ev_txid, k.ev_type, k.ev_data
	  from taken k
	  join pgq_set.table_info t on t.cascade = i_cascade and t.table_name = i_table_name
	 where (t.copy_snapshot is null
		or not txid_visible_in_snapshot(k.ev_txid, t.copy_snapshot::txid_snapshot))
	   and (t.copy_tick is null or k.batch_tick > t.copy_tick)
	 order by k.ev_id;
$$;
