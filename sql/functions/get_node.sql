create or replace function pgq_set.get_node(
	i_cascade text,
	out node_name text, out node_role text, out provider_node text, out last_tick bigint,
	out paused boolean, out paused_ack boolean, out worker_error text,
	out error_time timestamptz, out worker_seen timestamptz, out global_watermark bigint,
	out parallel_copies integer)
returns setof record
language sql stable
as $$
	-- This node's row for the cascade; no row when the node is not created yet.
	select n.node_name, n.node_role, n.provider_node, n.last_tick, n.paused, n.paused_ack,
	       n.worker_error, n.error_time, n.worker_seen, n.global_watermark, n.parallel_copies
	  from pgq_set.node n
	 where n.cascade = i_cascade;
$$;
