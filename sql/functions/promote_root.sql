create or replace function pgq_set.promote_root(i_cascade text, i_sequences jsonb default '{}',
						 i_margin bigint default null)
returns integer
language plpgsql
as $$
-- Make this branch the root of cascade i_cascade (switchover, failover). Its queue copy
-- becomes the queue: pgqd ticks it, inserts are allowed, and its sequences continue above
-- every tick and event id it copied (DESIGN invariant 2). Its replicated tables take writes
-- and are captured (the write-deny triggers give way to capture triggers). Sequences named
-- in i_sequences ({"schema.seq": value}, the old root's positions) are moved at least there;
-- with i_margin (a failover: the old root's positions are lost), every sequence owned by a
-- column of a replicated table is moved to the column's highest value plus i_margin.
-- Every table must be in sync ('ok'). The caller pauses the worker first. Safe to re-run:
-- returns 1 when promoted now, 0 when it is the root already.
declare
	v_node pgq_set.node%rowtype;
	v_q    pgq.queue%rowtype;
	v_t    record;
	v_max  bigint;
	v_seq  record;
	v_pub  text;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade for update;
	if not found then
		raise exception 'this database is not a node of cascade "%"', i_cascade
			using errcode = 'no_data_found';
	end if;
	if v_node.node_role = 'root' then
		return 0;
	end if;
	if v_node.node_role <> 'branch' then
		raise exception 'node "%" is a %: only a branch can become the root',
			v_node.node_name, v_node.node_role;
	end if;
	select table_name, state into v_t from pgq_set.table_info
	 where cascade = i_cascade and state <> 'ok' order by table_name limit 1;
	if found then
		raise exception 'node "%" cannot become the root: table "%" is %',
			v_node.node_name, v_t.table_name, v_t.state;
	end if;
	select * into v_q from pgq.queue where queue_name = i_cascade for update;
	-- ids continue above everything copied: ticks, and events (a batch's events can carry
	-- ids above its tick's event sequence). Their state is written in any case: a queue
	-- created at its provider's first tick never had its tick sequence set by a copied tick,
	-- and under wal_level = minimal it may still hold values not logged (seq_set_logged).
	select max(tick_id) into v_max from pgq.tick where tick_queue = v_q.queue_id;
	perform pgq_set.seq_set_logged(v_q.queue_tick_seq, coalesce(v_max, 1));
	execute format('select max(ev_id) from %s', pgq.quote_fqname(v_q.queue_data_pfx)) into v_max;
	perform pgq_set.seq_set_logged(v_q.queue_event_seq,
				       greatest(coalesce(v_max, 0),
						(select max(tick_event_seq) from pgq.tick where tick_queue = v_q.queue_id)));
	-- the ticker thresholds create_root gives a root (a topology's settings.ticker_* are set
	-- again by the reconciler's next plan)
	update pgq.queue set queue_external_ticker = false, queue_disable_insert = false,
	       queue_ticker_max_count = 500, queue_ticker_max_lag = interval '0.05 s',
	       queue_ticker_idle_period = interval '60 s'
	 where queue_id = v_q.queue_id;
	update pgq_set.node set node_role = 'root', provider_node = null where cascade = i_cascade;
	perform pgq_set.retrigger_tables(i_cascade);
	for v_seq in select key, value from jsonb_each_text(coalesce(i_sequences, '{}'))
	loop
		if to_regclass(v_seq.key) is not null then
			perform pgq.seq_setval(v_seq.key, v_seq.value::bigint);
		end if;
	end loop;
	if i_margin is not null then
		perform pgq_set.sequences_past_keys(i_cascade, i_margin);
		-- and past the last positions the dead root published through the queue
		execute format('select ev_data from %s where ev_type = ''pgq_set.sequences'''
			       ' order by ev_id desc limit 1', pgq.quote_fqname(v_q.queue_data_pfx))
		   into v_pub;
		for v_seq in select key, value from jsonb_each_text(coalesce(v_pub::jsonb, '{}'))
		loop
			if to_regclass(v_seq.key) is not null then
				perform pgq.seq_setval(v_seq.key, v_seq.value::bigint + i_margin);
			end if;
		end loop;
	end if;
	return 1;
end;
$$;
