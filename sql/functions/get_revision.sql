create or replace function pgq_set.get_revision(
	i_cascade text,
	out applied_revision text, out applied_subject text, out applied_at timestamptz,
	out attempted_revision text, out attempted_subject text, out attempted_at timestamptz,
	out attempted_error text)
returns setof record
language plpgsql stable
as $$
-- The revisions skyreconcile recorded here for the cascade; no row before the first one.
begin
	return query
	select r.applied_revision, r.applied_subject, r.applied_at, r.attempted_revision,
	       r.attempted_subject, r.attempted_at, r.attempted_error
	  from pgq_set.revision r
	 where r.cascade = i_cascade;
end;
$$;
