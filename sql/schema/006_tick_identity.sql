-- pgq_set catalog, version 6: a node's completed tick is known by its identity, not only its
-- number. Runs once, guarded by pgq_set.schema_version.
--
-- Tick ids mean the same thing everywhere only while there is one history: a divergent old root
-- (failover) or a demoted root's own ticks can carry the same number as another tick. The time
-- and event sequence that PgQ gave a tick travel with it down the cascade (create_tick copies
-- them), so (id, time, event seq) tells the provider's tick N from another tick N. NULL: not
-- known (a node created or completed before version 6): then only the number is compared.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 6) then
		return;
	end if;

	alter table pgq_set.node
		add column last_tick_time      timestamptz,
		add column last_tick_event_seq bigint;

	insert into pgq_set.schema_version (version) values (6);
end
$body$;
