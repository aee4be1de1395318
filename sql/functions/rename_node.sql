create or replace function pgq_set.rename_node(i_cascade text, i_old text, i_new text)
returns integer
language plpgsql
as $$
-- Rename node i_old to i_new in this database's catalog, wherever the name is stored: the
-- node's own row (when this is the node), the member row, the provider of this node, the
-- subscriber row and the PgQ consumer on a provider. Positions, subscribers and table states
-- stay. Run on every node; safe to re-run. Returns the number of places renamed.
declare
	v_n     integer := 0;
	v_count  integer;
	v_old_co integer;
	v_new_co integer;
begin
	if i_new like '.%' or i_old like '.%' then
		raise exception 'consumer names starting with "." are internal to pgq_set'
			using errcode = 'invalid_parameter_value';
	end if;
	if exists (select 1 from pgq_set.member where cascade = i_cascade and node_name = i_new)
	   and exists (select 1 from pgq_set.member where cascade = i_cascade and node_name = i_old) then
		raise exception 'cannot rename "%" to "%": both are members of cascade "%"',
			i_old, i_new, i_cascade using errcode = 'unique_violation';
	end if;
	update pgq_set.member set node_name = i_new where cascade = i_cascade and node_name = i_old;
	get diagnostics v_count = row_count;
	v_n := v_n + v_count;
	update pgq_set.node set node_name = i_new where cascade = i_cascade and node_name = i_old;
	get diagnostics v_count = row_count;
	v_n := v_n + v_count;
	update pgq_set.node set provider_node = i_new
	 where cascade = i_cascade and provider_node = i_old;
	get diagnostics v_count = row_count;
	v_n := v_n + v_count;
	update pgq_set.subscriber set node_name = i_new
	 where cascade = i_cascade and node_name = i_old;
	get diagnostics v_count = row_count;
	v_n := v_n + v_count;
	-- the PgQ consumer's subscription to this queue (position, batch in flight) moves to a
	-- consumer of the new name; the consumer name is shared by all queues of the database
	select s.sub_consumer into v_old_co
	  from pgq.subscription s
	  join pgq.queue q on q.queue_id = s.sub_queue
	  join pgq.consumer c on c.co_id = s.sub_consumer
	 where q.queue_name = i_cascade and c.co_name = i_old;
	if found then
		if pgq_set.consumer_tick(i_cascade, i_new) is not null then
			raise exception 'cannot rename consumer "%" to "%" of queue "%": the name is registered',
				i_old, i_new, i_cascade using errcode = 'unique_violation';
		end if;
		select co_id into v_new_co from pgq.consumer where co_name = i_new;
		if not found then
			insert into pgq.consumer (co_name) values (i_new) returning co_id into v_new_co;
		end if;
		update pgq.subscription set sub_consumer = v_new_co
		 where sub_consumer = v_old_co
		   and sub_queue = (select queue_id from pgq.queue where queue_name = i_cascade);
		if not exists (select 1 from pgq.subscription where sub_consumer = v_old_co) then
			delete from pgq.consumer where co_id = v_old_co;
		end if;
		v_n := v_n + 1;
	end if;
	return v_n;
end;
$$;
