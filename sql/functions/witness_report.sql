create or replace function pgq_set.witness_report(
	i_cascade text, i_provider text, i_contact_age double precision,
	i_progress_age double precision, i_provider_tick bigint, i_up_age double precision)
returns void
language plpgsql
as $$
-- The worker, with its heartbeat: what it sees of its provider. Ages are seconds on the
-- worker's monotonic clock, turned into times of this server: i_contact_age since the last
-- successful call on the provider, i_progress_age since the provider last offered a new
-- batch, NULL for "not since the worker started" (i_up_age seconds ago): then the time
-- recorded before is kept while the provider is the same, else the worker's start counts as
-- the last contact (a worker that never reached its provider has not seen it for that long).
-- No provider (a root): the row goes.
begin
	if i_provider is null then
		delete from pgq_set.witness where cascade = i_cascade;
		return;
	end if;
	insert into pgq_set.witness as w (cascade, provider_node, contact_at, progress_at,
					  provider_tick, reported_at)
	values (i_cascade, i_provider,
		coalesce(now() - make_interval(secs => i_contact_age),
			 now() - make_interval(secs => coalesce(i_up_age, 0))),
		now() - make_interval(secs => i_progress_age), i_provider_tick, now())
	on conflict (cascade) do update
	   set contact_at = case
			when i_contact_age is not null then excluded.contact_at
			when w.provider_node = excluded.provider_node and w.contact_at is not null
			then w.contact_at
			else excluded.contact_at end,
	       progress_at = case
			when i_progress_age is not null then excluded.progress_at
			when w.provider_node = excluded.provider_node then w.progress_at
			end,
	       provider_tick = case
			when i_provider_tick is not null then i_provider_tick
			when w.provider_node = excluded.provider_node then w.provider_tick
			end,
	       provider_node = excluded.provider_node,
	       reported_at = excluded.reported_at;
end;
$$;
