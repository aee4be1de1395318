create or replace function pgq_set.copy_failed(i_cascade text, i_table_name text, i_error text)
returns integer
language sql
as $$
	-- A copy attempt failed; the table stays 'copying' and the worker tries again later.
	update pgq_set.table_info set copy_error = i_error
	 where cascade = i_cascade and table_name = i_table_name and state = 'copying';
	select 1;
$$;
