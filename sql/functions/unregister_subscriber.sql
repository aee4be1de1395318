create or replace function pgq_set.unregister_subscriber(i_cascade text, i_node_name text)
returns integer
language plpgsql
as $$
-- On a provider: node i_node_name no longer pulls from here (it moved to another provider
-- or was dropped). Its PgQ consumer and its subscriber row go, so it stops pinning
-- retention here and in the global watermark. Safe to re-run. Returns 1 when something was
-- registered.
declare
	v_gone integer := 0;
begin
	if i_node_name like '.%' then
		raise exception 'consumer "%" is internal to pgq_set', i_node_name
			using errcode = 'invalid_parameter_value';
	end if;
	delete from pgq_set.subscriber where cascade = i_cascade and node_name = i_node_name;
	if found then
		v_gone := 1;
	end if;
	if exists (select 1 from pgq.queue where queue_name = i_cascade)
	   and pgq_set.consumer_tick(i_cascade, i_node_name) is not null then
		perform pgq.unregister_consumer(i_cascade, i_node_name);
		v_gone := 1;
	end if;
	return v_gone;
end;
$$;
