create or replace function pgq_set.pause_ack(i_cascade text, i_ack boolean)
returns boolean
language sql
as $$
	-- The worker: i_ack true once it is idle while paused (no batch in flight, no table copy
	-- running, none claimed), false once it works again. Acknowledges only while paused is
	-- still set (the admin may have resumed meanwhile). Returns paused_ack afterwards.
	update pgq_set.node set paused_ack = i_ack and paused
	 where cascade = i_cascade
	returning paused_ack;
$$;
