create or replace function pgq_set.get_ticker(
	i_cascade text,
	out max_count integer, out max_lag_s double precision, out idle_period_s double precision)
returns setof record
language sql stable
as $$
	-- The ticker thresholds of the cascade's queue on this database (seconds as numbers);
	-- no row when the queue does not exist here.
	select q.queue_ticker_max_count,
	       extract(epoch from q.queue_ticker_max_lag)::double precision,
	       extract(epoch from q.queue_ticker_idle_period)::double precision
	  from pgq.queue q
	 where q.queue_name = i_cascade;
$$;
