-- pgq_set catalog, version 2: initial table copy (pending -> copying -> catching-up -> ok),
-- parallel copies, and the per-table backlog kept while a table is being copied.
do $body$
begin
	if exists (select 1 from pgq_set.schema_version where version = 2) then
		return;
	end if;

	-- how many tables this node's worker copies at once
	alter table pgq_set.node add column parallel_copies integer not null default 1
		check (parallel_copies >= 1);

	alter table pgq_set.table_info
		add column create_missing boolean not null default false, -- create the structure from the provider's
		add column copy_snapshot  text,        -- copied from the root: the root snapshot of the COPY
		add column copy_tick      bigint,      -- copied from a branch: the branch's completed tick at the COPY
		add column rows_copied    bigint,      -- progress of the running copy
		add column rows_estimate  bigint,      -- the provider's estimate of the table's rows
		add column copy_started   timestamptz,
		add column copy_finished  timestamptz,
		add column copy_error     text;        -- why the last attempt failed (the worker retries)

	-- Events of a table in state 'copying', set aside by the worker's batch loop until the copy
	-- has committed; then the ones the copy does not contain are applied (DESIGN invariant 7).
	create table pgq_set.copy_backlog (
		cascade    text not null,
		table_name text not null,
		ev_id      bigint not null,
		ev_txid    bigint not null,
		batch_tick bigint not null,   -- cur tick of the batch the event came in
		ev_type    text,
		ev_data    text,
		primary key (cascade, table_name, ev_id)
	);

	-- add_table gained its create argument: replace the old signature (the function files
	-- that follow create the new one)
	drop function if exists pgq_set.add_table(text, text);
	drop function if exists pgq_set.get_tables(text);
	drop function if exists pgq_set.get_node(text);
	drop function if exists pgq_set.get_apply_tables(text);

	insert into pgq_set.schema_version (version) values (2);
end
$body$;
