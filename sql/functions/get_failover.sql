create or replace function pgq_set.get_failover(
	i_cascade text, out state text, out dead_node text, out reason text, out evidence text,
	out host text, out decided_at timestamptz)
returns setof record
language plpgsql stable
as $$
-- The failover skyreconcile watch declined to make (pgq_set.record_failover); no row when none.
begin
	return query
	select f.state, f.dead_node, f.reason, f.evidence, f.host, f.decided_at
	  from pgq_set.failover_state f
	 where f.cascade = i_cascade;
end;
$$;
