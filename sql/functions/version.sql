create or replace function pgq_set.version()
returns text
language sql stable
as $$
	-- The installed catalog version (the highest applied schema step).
	select max(version)::text from pgq_set.schema_version;
$$;
