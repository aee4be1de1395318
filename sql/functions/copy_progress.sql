create or replace function pgq_set.copy_progress(
	i_cascade text, i_table_name text, i_rows bigint, i_estimate bigint)
returns integer
language sql
as $$
	-- A running copy reports its progress (autocommit, from the copy's own connection).
	-- The first report of an attempt (i_rows 0) also stamps its start and clears old errors.
	update pgq_set.table_info
	   set rows_copied = i_rows,
	       rows_estimate = coalesce(i_estimate, rows_estimate),
	       copy_started = case when i_rows = 0 then now() else copy_started end,
	       copy_error = case when i_rows = 0 then null else copy_error end
	 where cascade = i_cascade and table_name = i_table_name and state = 'copying';
	select 1;
$$;
