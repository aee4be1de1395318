create or replace function pgq_set.complete_batch(i_cascade text, i_prev_tick bigint, i_cur_tick bigint)
returns integer
language plpgsql
as $$
-- In the worker's apply transaction: record that the batch (i_prev_tick, i_cur_tick] is
-- applied. Refuses unless the completed tick is i_prev_tick, so a batch can never be
-- applied twice or skipped, whoever calls.
declare
	v_node pgq_set.node%rowtype;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade;
	end if;
	if v_node.last_tick is distinct from i_prev_tick then
		raise exception 'lost position: node "%" completed tick % but the batch is (%, %]',
			v_node.node_name, v_node.last_tick, i_prev_tick, i_cur_tick
			using errcode = 'SK004';
	end if;
	update pgq_set.node set last_tick = i_cur_tick, worker_seen = now()
	 where cascade = i_cascade;
	return 1;
end;
$$;
