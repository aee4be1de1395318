create or replace function pgq_set.copy_done(
	i_cascade text, i_table_name text, i_snapshot text, i_tick bigint, i_rows bigint)
returns integer
language plpgsql
as $$
-- In the copy's local transaction, after the rows are in: the table is now consistent with
-- a queue position of its provider: the root snapshot i_snapshot (copied from the root) or
-- the branch's completed tick i_tick (copied from a branch). It goes 'catching-up'.
-- Raises when the table is no longer 'copying' (removed meanwhile), which rolls the whole
-- copy back.
declare
	v_state text;
begin
	if (i_snapshot is null) = (i_tick is null) then
		raise exception 'copy_done needs either a snapshot or a tick';
	end if;
	select state into v_state from pgq_set.table_info
	 where cascade = i_cascade and table_name = i_table_name for update;
	if v_state is distinct from 'copying' then
		raise exception 'table "%" is no longer being copied (state %)', i_table_name,
			coalesce(v_state, 'removed') using errcode = 'object_not_in_prerequisite_state';
	end if;
	update pgq_set.table_info
	   set state = 'catching-up', copy_snapshot = i_snapshot, copy_tick = i_tick,
	       rows_copied = i_rows, copy_finished = clock_timestamp(), copy_error = null
	 where cascade = i_cascade and table_name = i_table_name;
	return 1;
end;
$$;
