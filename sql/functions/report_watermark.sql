create or replace function pgq_set.report_watermark(i_cascade text, i_subscriber text, i_watermark bigint)
returns integer
language plpgsql
as $$
-- On a provider: subscriber i_subscriber reports the lowest position it and its own
-- subscribers still need.
begin
	update pgq_set.subscriber set watermark = i_watermark
	 where cascade = i_cascade and node_name = i_subscriber
	   and watermark is distinct from i_watermark;
	return case when found then 1 else 0 end;
end;
$$;
