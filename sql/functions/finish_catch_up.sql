create or replace function pgq_set.finish_catch_up(
	i_cascade text, i_cur_tick bigint, i_cur_xmin bigint)
returns setof text
language plpgsql
as $$
-- In the batch loop's apply transaction, after batch (prev, i_cur_tick] is applied: hand the
-- tables that caught up from 'catching-up' to 'ok' at this batch boundary. A table copied
-- from a branch has caught up once the batch reaches its copy tick; one copied from the
-- root once every transaction its snapshot saw is older than the batch's end (i_cur_xmin,
-- the xmin of the provider's tick i_cur_tick, is at least the snapshot's xmax), so no later
-- event can be one the copy contains. Returns the tables handed over.
declare
	v_tab text;
begin
	for v_tab in
		select t.table_name from pgq_set.table_info t
		 where t.cascade = i_cascade and t.state = 'catching-up'
		   and ((t.copy_tick is not null and i_cur_tick >= t.copy_tick)
			or (t.copy_snapshot is not null and i_cur_xmin is not null
			    and i_cur_xmin >= txid_snapshot_xmax(t.copy_snapshot::txid_snapshot)))
		   and not exists (select 1 from pgq_set.copy_backlog b
				    where b.cascade = t.cascade and b.table_name = t.table_name)
		 order by t.table_name
	loop
		update pgq_set.table_info set state = 'ok', copy_snapshot = null, copy_tick = null
		 where cascade = i_cascade and table_name = v_tab;
		return next v_tab;
	end loop;
end;
$$;
