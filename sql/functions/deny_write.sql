create or replace function pgq_set.deny_write()
returns trigger
language plpgsql
as $$
-- Statement trigger on a replicated table of a branch or leaf: application writes are
-- refused. The worker applies with session_replication_role = replica, where this
-- trigger does not fire. TG_ARGV[0] is the cascade name.
begin
	raise exception 'table "%.%" is replicated by cascade "%": writes are allowed only on the root',
		TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0]
		using errcode = 'read_only_sql_transaction';
end;
$$;
