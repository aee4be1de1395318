create or replace function pgq_set.get_witness(
	i_cascade text, out provider_node text, out heartbeat_age double precision,
	out contact_age double precision, out progress_age double precision,
	out provider_tick bigint)
returns setof record
language plpgsql stable
as $$
-- What this node's worker sees of its provider, as ages in seconds by this server's clock (so
-- the reader's clock does not matter): since the worker's last heartbeat, its last successful
-- call on the provider and the provider's last new batch (NULL: never seen). No row before the
-- worker first reported, or on a root.
begin
	return query
	select w.provider_node,
	       extract(epoch from now() - n.worker_seen)::double precision,
	       extract(epoch from now() - w.contact_at)::double precision,
	       extract(epoch from now() - w.progress_at)::double precision,
	       w.provider_tick
	  from pgq_set.witness w
	  join pgq_set.node n on n.cascade = w.cascade
	 where w.cascade = i_cascade and n.provider_node is not distinct from w.provider_node;
end;
$$;
