-- pgq_set catalog, version 3: no table changes. The step marks a change of functions that a
-- node at version 2 must get: skyreconcile re-runs the installer (every function is create or
-- replace) only when a node's version is below its own, so a change under functions/ that
-- nodes need comes with a new step. Version 3: add_table refuses a partitioned table,
-- remove_table also stops copies reading the table from this node, copy_done stamps the copy's
-- end with clock_timestamp(), claim_copies never reports a table removed meanwhile, table_ddl
-- keeps exclusion constraints.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 3) then
		return;
	end if;
	insert into pgq_set.schema_version (version) values (3);
end
$body$;
