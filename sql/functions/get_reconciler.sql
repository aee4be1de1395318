create or replace function pgq_set.get_reconciler(
	i_cascade text, out host text, out pid integer, out since timestamptz)
returns setof record
language plpgsql stable
as $$
-- The skyreconcile process holding the reconcile lock of the cascade on this node: no row
-- when nobody holds it, or the holder did not say who it is (a row left by a process that
-- died is not returned: its backend no longer holds the advisory lock).
begin
	return query
	select r.host, r.pid, r.since
	  from pgq_set.reconciler r
	 where r.cascade = i_cascade
	   and exists (select 1
			 from pg_locks l
			where l.locktype = 'advisory'
			  and l.granted
			  and l.pid = r.backend_pid
			  and l.objsubid = 2
			  and l.classid = (hashtext('skyreconcile')::bigint & 4294967295)::oid
			  and l.objid = (hashtext(i_cascade)::bigint & 4294967295)::oid);
end;
$$;
