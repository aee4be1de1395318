create or replace function pgq_set.record_failover(
	i_cascade text, i_state text, i_dead text, i_reason text, i_evidence text, i_host text)
returns void
language plpgsql
as $$
-- skyreconcile watch: a failover its policy declined to make (i_state 'blocked': no
-- candidate; 'exhausted': the anti-flap budget is spent), for skyreconcile status. A NULL
-- i_state clears it (the root is back, or a failover was made).
begin
	if i_state is null then
		delete from pgq_set.failover_state where cascade = i_cascade;
		return;
	end if;
	insert into pgq_set.failover_state as f (cascade, state, dead_node, reason, evidence, host,
						 decided_at)
	values (i_cascade, i_state, i_dead, i_reason, i_evidence, i_host, now())
	on conflict (cascade) do update
	   set state = excluded.state, dead_node = excluded.dead_node,
	       reason = excluded.reason, evidence = excluded.evidence, host = excluded.host,
	       decided_at = excluded.decided_at;
end;
$$;
