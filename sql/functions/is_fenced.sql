create or replace function pgq_set.is_fenced(i_cascade text)
returns boolean
language plpgsql stable
as $$
begin
	-- Is this node fenced (pgq_set.fence): marked dead in its own member row, no ticks or
	-- events taken by its queue, every replicated table refusing application writes?
	return (select coalesce((select m.dead from pgq_set.member m
			   where m.cascade = n.cascade and m.node_name = n.node_name), false)
	       and coalesce((select q.queue_external_ticker and q.queue_disable_insert
			       from pgq.queue q where q.queue_name = n.cascade), true)
	       and not exists (
			select 1 from pgq_set.table_info ti
			 where ti.cascade = n.cascade
			   and to_regclass(format('%I.%I', ti.schema_name, ti.rel_name)) is not null
			   and not pgq_set.writers_locked(n.cascade,
							  format('%I.%I', ti.schema_name, ti.rel_name)::regclass))
	  from pgq_set.node n
	 where n.cascade = i_cascade);
end;
$$;
