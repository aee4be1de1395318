create or replace function pgq_set.publish_watermark(i_cascade text)
returns bigint
language plpgsql
as $$
-- On the root: compute the global watermark (the lowest position anywhere in the cascade,
-- as reported up the tree), pin it locally and, when it moved, queue a pgq_set.watermark
-- event that carries it down to every node. Returns the watermark.
declare
	v_node pgq_set.node%rowtype;
	v_wm   bigint;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found or v_node.node_role <> 'root' then
		raise exception 'this database is not the root of cascade "%"', i_cascade;
	end if;
	-- sequences that follow the root (a no-op before pgq_set 5 created their tables)
	if to_regclass('pgq_set.sequence_state') is not null then
		perform pgq_set.publish_sequences(i_cascade);
	end if;
	v_wm := pgq_set.local_watermark(i_cascade);
	if v_wm is null or v_wm is not distinct from v_node.global_watermark then
		return v_wm;
	end if;
	perform pgq_set.set_global_watermark(i_cascade, v_wm);
	perform pgq.insert_event(i_cascade, 'pgq_set.watermark', v_wm::text);
	return v_wm;
end;
$$;
