create or replace function pgq_set.set_worker_error(i_cascade text, i_error text)
returns integer
language sql
as $$
	-- Record the worker's permanent error (NULL clears it); read by skyreconcile.
	update pgq_set.node
	   set worker_error = i_error,
	       error_time = case when i_error is null then null else now() end,
	       worker_seen = now()
	 where cascade = i_cascade;
	select 1;
$$;
