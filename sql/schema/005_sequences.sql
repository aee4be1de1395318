-- pgq_set catalog, version 5: sequences that follow the root (topology.yaml `sequences:`).
-- Sequences owned by columns of replicated tables follow without being listed.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 5) then
		return;
	end if;

	-- sequences listed in the topology, on every node (any branch may become the root)
	create table pgq_set.sequence_info (
		cascade  text not null,
		seq_name text not null, -- "schema.name", unquoted
		added_at timestamptz not null default now(),
		primary key (cascade, seq_name)
	);

	-- on the root: what publish_sequences last put into the queue
	create table pgq_set.sequence_state (
		cascade      text primary key,
		positions    jsonb not null,
		published_at timestamptz not null
	);

	insert into pgq_set.schema_version (version) values (5);
end
$body$;
