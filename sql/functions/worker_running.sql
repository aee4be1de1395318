create or replace function pgq_set.worker_running(i_cascade text)
returns boolean
language sql stable
as $$
	-- Is a worker for cascade i_cascade connected to this database? Every worker holds the
	-- session advisory lock (hashtext('skyworker'), hashtext(cascade)) while it runs
	-- (worker/loop.c); a killed worker's lock goes with its session.
	select exists (
		select 1 from pg_locks l
		 where l.locktype = 'advisory' and l.granted
		   and l.database = (select oid from pg_database where datname = current_database())
		   and l.classid = hashtext('skyworker')::oid
		   and l.objid = hashtext(i_cascade)::oid
		   and l.objsubid = 2);
$$;
