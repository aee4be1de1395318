create or replace function pgq_set.lock_writers(i_cascade text)
returns integer
language plpgsql
as $$
-- Switchover, first step, on the root: from the commit of this call on, application writes to
-- the replicated tables are refused (the write-deny trigger of a branch, next to the capture
-- triggers). Creating the trigger waits for the transactions writing the table and blocks new
-- ones until the commit, so once this returns every change made on the root is in the queue.
-- All tables are locked at once, in name order. Safe to re-run. Returns the tables locked now.
declare
	v_node pgq_set.node%rowtype;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found or v_node.node_role <> 'root' then
		raise exception 'this database is not the root of cascade "%"', i_cascade;
	end if;
	return pgq_set.deny_writes(i_cascade);
end;
$$;
