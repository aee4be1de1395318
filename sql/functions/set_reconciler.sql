create or replace function pgq_set.set_reconciler(i_cascade text, i_host text, i_pid integer)
returns void
language plpgsql
as $$
-- skyreconcile, right after it took the reconcile lock of the cascade in this session
-- (pg_try_advisory_lock(hashtext('skyreconcile'), hashtext(cascade))): who holds it, so that
-- another skyreconcile can say so. The row names this session's backend; get_reconciler
-- believes it only while that backend holds the lock.
begin
	insert into pgq_set.reconciler as r (cascade, host, pid, since, backend_pid)
	values (i_cascade, i_host, i_pid, now(), pg_backend_pid())
	on conflict (cascade) do update
	   set host = excluded.host, pid = excluded.pid, since = excluded.since,
	       backend_pid = excluded.backend_pid;
end;
$$;
