create or replace function pgq_set.claim_copies(i_cascade text)
returns setof text
language plpgsql
as $$
-- Called by the worker's batch loop between batches (or at the start of its apply
-- transaction): move pending tables to 'copying' while fewer than parallel_copies are
-- copying, oldest first. From the commit on, the batch loop sets the table's events aside,
-- so every event the copy's snapshot will not contain is kept. Returns the tables claimed.
declare
	v_node pgq_set.node%rowtype;
	v_busy integer;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	-- a paused node claims nothing: its worker is idle until it is resumed
	if not found or v_node.node_role = 'root' or v_node.paused then
		return;
	end if;
	select count(*) into v_busy from pgq_set.table_info
	 where cascade = i_cascade and state = 'copying';
	-- one statement: a table removed meanwhile (remove_table) is neither claimed nor reported
	return query
	update pgq_set.table_info t
	   set state = 'copying', rows_copied = null, rows_estimate = null,
	       copy_started = null, copy_finished = null, copy_error = null,
	       copy_snapshot = null, copy_tick = null
	 where t.cascade = i_cascade and t.state = 'pending'
	   and t.table_name in (select p.table_name from pgq_set.table_info p
				 where p.cascade = i_cascade and p.state = 'pending'
				 order by p.added_at, p.table_name
				 limit greatest(v_node.parallel_copies - v_busy, 0))
	returning t.table_name;
end;
$$;
