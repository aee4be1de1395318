create or replace function pgq_set.reset_node(i_cascade text)
returns integer
language plpgsql
as $$
-- Rejoin, after the lost events were saved: forget this node's place in the cascade so that
-- it can be created again under a live provider (and its tables copied afresh). Drops the
-- cascade's triggers from its tables (capture, write-deny, fencing locks), its table states,
-- set-aside events and subscribers, the queue (with its consumers), and the node row; its own
-- member row is marked alive. Member rows stay (the provider's location is needed). Table
-- data stays until the copies replace it. Safe to re-run. Returns 1 when the node existed.
declare
	v_node pgq_set.node%rowtype;
	v_t    record;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		return 0;
	end if;
	for v_t in select schema_name, rel_name from pgq_set.table_info where cascade = i_cascade
	loop
		if to_regclass(format('%I.%I', v_t.schema_name, v_t.rel_name)) is not null then
			perform pgq_set.drop_table_triggers(i_cascade,
				format('%I.%I', v_t.schema_name, v_t.rel_name)::regclass);
		end if;
	end loop;
	delete from pgq_set.copy_backlog where cascade = i_cascade;
	delete from pgq_set.table_info where cascade = i_cascade;
	delete from pgq_set.subscriber where cascade = i_cascade;
	if exists (select 1 from pgq.queue where queue_name = i_cascade) then
		perform pgq.drop_queue(i_cascade, true);
	end if;
	update pgq_set.member set dead = false
	 where cascade = i_cascade and node_name = v_node.node_name;
	delete from pgq_set.node where cascade = i_cascade;
	return 1;
end;
$$;
