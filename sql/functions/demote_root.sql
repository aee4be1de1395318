create or replace function pgq_set.demote_root(i_cascade text, i_provider text, i_tick_id bigint,
						i_role text default 'branch')
returns integer
language plpgsql
as $$
-- Switchover, on the old root after its final tick i_tick_id reached the new root: become a
-- branch (or, with i_role 'leaf', a leaf) under i_provider at that tick. A branch's queue keeps
-- its ticks (up to the final one) and takes only copied events and ticks from now on (external
-- ticker, inserts disabled); a leaf keeps no queue (its subscribers must have moved); the
-- replicated tables refuse application writes (the capture triggers give way to the
-- write-deny trigger). The caller pauses the worker first and registers this node on
-- i_provider at i_tick_id. Safe to re-run: returns 1 when demoted now, 0 when it is a branch
-- under i_provider already.
declare
	v_node pgq_set.node%rowtype;
	v_q    pgq.queue%rowtype;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade
			using errcode = 'no_data_found';
	end if;
	if i_role not in ('branch', 'leaf') then
		raise exception 'demote_root: role must be branch or leaf, not "%"', i_role;
	end if;
	if v_node.node_role = i_role and v_node.provider_node = i_provider then
		return 0;
	end if;
	if v_node.node_role <> 'root' then
		raise exception 'node "%" is a %, not the root', v_node.node_name, v_node.node_role;
	end if;
	if not exists (select 1 from pgq_set.member where cascade = i_cascade and node_name = i_provider) then
		raise exception 'provider "%" is not a member of cascade "%" on node "%"',
			i_provider, i_cascade, v_node.node_name;
	end if;
	select * into v_q from pgq.queue where queue_name = i_cascade for update;
	if (select max(tick_id) from pgq.tick where tick_queue = v_q.queue_id) is distinct from i_tick_id then
		raise exception 'node "%": tick % is not the last tick of its queue (final_tick first)',
			v_node.node_name, i_tick_id;
	end if;
	update pgq.queue set queue_external_ticker = true, queue_disable_insert = true
	 where queue_id = v_q.queue_id;
	-- the final tick is this queue's own: its time and event seq are the tick's identity
	update pgq_set.node n
	   set node_role = i_role, provider_node = i_provider, last_tick = i_tick_id,
	       last_tick_time = t.tick_time, last_tick_event_seq = t.tick_event_seq
	  from pgq.tick t
	 where n.cascade = i_cascade and t.tick_queue = v_q.queue_id and t.tick_id = i_tick_id;
	if i_role = 'leaf' then
		delete from pgq_set.subscriber where cascade = i_cascade;
		perform pgq.drop_queue(i_cascade, true);
	end if;
	perform pgq_set.retrigger_tables(i_cascade);
	return 1;
end;
$$;
