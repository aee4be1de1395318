create or replace function pgq_set.set_paused(i_cascade text, i_paused boolean)
returns integer
language plpgsql
as $$
-- Admin: pause (true) or resume (false) this node's worker. Pausing takes effect between
-- batches: the worker finishes the batch in flight, stops its table copies, then acknowledges
-- with paused_ack = true (pgq_set.pause_ack); the admin polls get_node until paused_ack.
-- Resuming clears paused_ack at once. Safe to re-run: pausing a paused node keeps its
-- acknowledgement. Returns 1 when something changed.
begin
	if i_paused is null then
		raise exception 'set_paused: paused must be true or false';
	end if;
	if not exists (select 1 from pgq_set.node where cascade = i_cascade) then
		raise exception 'this database is not a node of cascade "%"', i_cascade
			using errcode = 'no_data_found';
	end if;
	update pgq_set.node
	   set paused = i_paused,
	       paused_ack = i_paused and paused and paused_ack
	 where cascade = i_cascade
	   and (paused <> i_paused or (not i_paused and paused_ack));
	return case when found then 1 else 0 end;
end;
$$;
