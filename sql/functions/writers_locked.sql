create or replace function pgq_set.writers_locked(i_cascade text, i_table regclass)
returns boolean
language sql stable
as $$
	-- Does table i_table refuse application writes for cascade i_cascade (a write-deny
	-- trigger of the cascade on it, whatever its name)?
	select exists (
		select 1
		  from pg_trigger t
		 where t.tgrelid = i_table and not t.tgisinternal
		   and t.tgfoid = 'pgq_set.deny_write()'::regprocedure
		   and t.tgnargs >= 1
		   and convert_from(substring(t.tgargs from 1 for position('\x00'::bytea in t.tgargs) - 1),
				    'SQL_ASCII') = i_cascade);
$$;
