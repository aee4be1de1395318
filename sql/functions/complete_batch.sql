-- the signature before catalog version 6 (ticks compared by number only): replaced below
drop function if exists pgq_set.complete_batch(text, bigint, bigint);
create or replace function pgq_set.complete_batch(
	i_cascade text, i_prev_tick bigint, i_cur_tick bigint,
	i_prev_tick_time timestamptz default null, i_prev_tick_event_seq bigint default null,
	i_cur_tick_time timestamptz default null, i_cur_tick_event_seq bigint default null)
returns integer
language plpgsql
as $$
-- In the worker's apply transaction: record that the batch (i_prev_tick, i_cur_tick] is
-- applied. Refuses unless the completed tick is i_prev_tick, so a batch can never be
-- applied twice or skipped, whoever calls. The ticks' time and event sequence (as the
-- provider has them) are their identity: when both the node and the caller know prev's, they
-- must be equal too, or the provider's tick i_prev_tick is another tick with the same number
-- (a divergent history: a demoted or dead root's own ticks). cur's are recorded for the next
-- batch. Both refusals are SQLSTATE SK004 (lost position).
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
	if v_node.last_tick_time is not null and i_prev_tick_time is not null
	   and (v_node.last_tick_time, v_node.last_tick_event_seq)
		is distinct from (i_prev_tick_time, i_prev_tick_event_seq) then
		raise exception 'lost position: node "%" completed tick % of %, event seq %, but the provider''s tick % is of %, event seq %: another history',
			v_node.node_name, v_node.last_tick, v_node.last_tick_time,
			v_node.last_tick_event_seq, i_prev_tick, i_prev_tick_time, i_prev_tick_event_seq
			using errcode = 'SK004';
	end if;
	update pgq_set.node
	   set last_tick = i_cur_tick, last_tick_time = i_cur_tick_time,
	       last_tick_event_seq = i_cur_tick_event_seq, worker_seen = now()
	 where cascade = i_cascade;
	return 1;
end;
$$;
