create or replace function pgq_set.set_ticker(
	i_cascade text, i_max_count integer, i_max_lag interval, i_idle_period interval)
returns integer
language plpgsql
as $$
-- On the root: the thresholds of the cascade's queue that decide when pgqd's ticker makes a
-- tick (PgQ's queue_ticker_max_count, queue_ticker_max_lag, queue_ticker_idle_period): a
-- tick once max_count events wait, or events wait and the last tick is max_lag old, and on
-- an idle queue at intervals growing up to idle_period. A NULL argument keeps that value.
-- Returns 1 when something changed. Branches tick from their provider and keep PgQ's
-- defaults (a promotion keeps the old queue settings; the reconciler sets them again).
declare
	v_node pgq_set.node%rowtype;
	v_n    integer;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade;
	if not found or v_node.node_role <> 'root' then
		raise exception 'this database is not the root of cascade "%"', i_cascade;
	end if;
	if i_max_count is not null and i_max_count < 1 then
		raise exception 'ticker_max_count must be at least 1, not %', i_max_count;
	end if;
	if i_max_lag is not null and i_max_lag < interval '0' then
		raise exception 'ticker_max_lag must not be negative, not %', i_max_lag;
	end if;
	if i_idle_period is not null and i_idle_period <= interval '0' then
		raise exception 'ticker_idle_period must be positive, not %', i_idle_period;
	end if;
	update pgq.queue
	   set queue_ticker_max_count = coalesce(i_max_count, queue_ticker_max_count),
	       queue_ticker_max_lag = coalesce(i_max_lag, queue_ticker_max_lag),
	       queue_ticker_idle_period = coalesce(i_idle_period, queue_ticker_idle_period)
	 where queue_name = i_cascade
	   and (queue_ticker_max_count, queue_ticker_max_lag, queue_ticker_idle_period)
	       is distinct from
	       (coalesce(i_max_count, queue_ticker_max_count),
		coalesce(i_max_lag, queue_ticker_max_lag),
		coalesce(i_idle_period, queue_ticker_idle_period));
	get diagnostics v_n = row_count;
	return v_n;
end;
$$;
