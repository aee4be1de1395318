create or replace function pgq_set.worker_heartbeat(i_cascade text)
returns integer
language sql
as $$
	-- The worker is alive.
	update pgq_set.node set worker_seen = now() where cascade = i_cascade;
	select 1;
$$;
