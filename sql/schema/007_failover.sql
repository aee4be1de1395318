-- pgq_set catalog, version 7: the automated failover policy (docs/topology.md, "Failover
-- policy"). Runs once, guarded by pgq_set.schema_version.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 7) then
		return;
	end if;

	-- per cascade, on a node with a provider: what its worker sees of that provider (the
	-- witness the reconciler reads before it declares the root dead). Written by the worker
	-- with its heartbeat (pgq_set.witness_report), read with pgq_set.get_witness.
	create table pgq_set.witness (
		cascade       text primary key,
		provider_node text not null,
		contact_at    timestamptz,  -- the last successful call on the provider
		progress_at   timestamptz,  -- the last time the provider offered a new batch
		provider_tick bigint,       -- the provider's newest tick the worker saw
		reported_at   timestamptz not null
	);

	-- per cascade: a failover the policy of skyreconcile watch declined to make (no candidate,
	-- anti-flap budget spent), for skyreconcile status; no row when there is none
	create table pgq_set.failover_state (
		cascade    text primary key,
		state      text not null check (state in ('blocked', 'exhausted')),
		dead_node  text not null,
		reason     text not null,
		evidence   text,
		host       text,
		decided_at timestamptz not null
	);

	insert into pgq_set.schema_version (version) values (7);
end
$body$;
