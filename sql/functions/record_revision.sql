create or replace function pgq_set.record_revision(
	i_cascade text, i_revision text, i_subject text, i_ok boolean, i_error text)
returns void
language plpgsql
as $$
-- skyreconcile, after reconciling with one revision of topology.yaml: the attempt is recorded;
-- when it succeeded (i_ok) the revision is also the applied one and the error is cleared.
-- The applied revision stays what it was when an attempt fails.
begin
	if i_revision is null or i_ok is null then
		raise exception 'record_revision: revision and ok must not be null';
	end if;
	insert into pgq_set.revision as r (cascade, attempted_revision, attempted_subject,
					   attempted_at, attempted_error)
	values (i_cascade, i_revision, i_subject, now(),
		case when i_ok then null else coalesce(i_error, 'failed') end)
	on conflict (cascade) do update
	   set attempted_revision = excluded.attempted_revision,
	       attempted_subject = excluded.attempted_subject,
	       attempted_at = excluded.attempted_at,
	       attempted_error = excluded.attempted_error;
	if i_ok then
		update pgq_set.revision
		   set applied_revision = i_revision, applied_subject = i_subject, applied_at = now()
		 where cascade = i_cascade;
	end if;
end;
$$;
