-- pgq_set catalog, version 4: what skyreconcile applied here, and who is reconciling.
-- Runs once, guarded by pgq_set.schema_version.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 4) then
		return;
	end if;

	-- per cascade: the revision of topology.yaml last applied on this node (the cascade
	-- matched it afterwards), and the last one attempted with its error when it failed
	create table pgq_set.revision (
		cascade           text primary key,
		applied_revision  text,           -- commit id, or "file:<blob id>"
		applied_subject   text,           -- the commit's subject, or the file name
		applied_at        timestamptz,
		attempted_revision text,
		attempted_subject text,
		attempted_at      timestamptz,
		attempted_error   text            -- NULL when the last attempt succeeded
	);

	-- per cascade: the skyreconcile process that took the reconcile lock last (the lock itself
	-- is a session advisory lock; a row is only believed while its backend holds that lock)
	create table pgq_set.reconciler (
		cascade     text primary key,
		host        text not null,
		pid         integer not null,
		since       timestamptz not null,
		backend_pid integer not null
	);

	insert into pgq_set.schema_version (version) values (4);
end
$body$;
