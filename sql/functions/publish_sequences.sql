create or replace function pgq_set.publish_sequences(i_cascade text)
returns integer
language plpgsql
as $$
-- On the root (called with publish_watermark, about once a second): queue the positions of
-- the sequences that follow the root (sequence_positions) as a pgq_set.sequences event when
-- they changed, and at least once a minute, so a branch's queue copy always holds a recent
-- one: a failover moves the new root's sequences past them. Returns 1 when published.
declare
	v_pos  jsonb := pgq_set.sequence_positions(i_cascade);
	v_last pgq_set.sequence_state%rowtype;
begin
	if v_pos = '{}'::jsonb then
		return 0;
	end if;
	select * into v_last from pgq_set.sequence_state where cascade = i_cascade;
	if found and v_last.positions = v_pos and v_last.published_at > now() - interval '60 seconds' then
		return 0;
	end if;
	perform pgq.insert_event(i_cascade, 'pgq_set.sequences', v_pos::text);
	insert into pgq_set.sequence_state (cascade, positions, published_at)
	values (i_cascade, v_pos, now())
	on conflict (cascade) do update set positions = excluded.positions,
					     published_at = excluded.published_at;
	return 1;
end;
$$;
