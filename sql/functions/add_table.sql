create or replace function pgq_set.add_table(i_cascade text, i_table_name text, i_create boolean default false)
returns integer
language plpgsql
as $$
-- Register table i_table_name ("schema.relname", unquoted) as replicated on this node.
-- Root: row changes are captured into the queue from now on (pgq_set.fit_capture_triggers:
-- the triggers of pgq_set.logutriga's body, pgq_set.capture_kinds); the table is 'ok' at once.
-- Branch or leaf: application writes are refused and the table starts 'pending': the worker
-- copies it from its provider. A missing table is an error unless i_create, in which case
-- the worker creates its structure from the provider's before the copy.
-- Safe to re-run: a registered table keeps its state, missing triggers are put back. Trigger
-- names come from pgq_set.trigger_name (pgq_set.put_trigger).
-- Returns 1 when newly registered.
declare
	v_node  pgq_set.node%rowtype;
	v_oid   oid;
	v_nsp   text;
	v_rel   text;
	v_fq    text;
	v_new   integer := 0;
begin
	select * into v_node from pgq_set.node where cascade = i_cascade;
	if not found then
		raise exception 'node for cascade "%" is not created on this database', i_cascade;
	end if;

	select c.oid, n.nspname, c.relname into v_oid, v_nsp, v_rel
	  from pg_class c join pg_namespace n on n.oid = c.relnamespace
	 where n.nspname || '.' || c.relname = i_table_name and c.relkind in ('r', 'p');
	if not found then
		if v_node.node_role = 'root' or not coalesce(i_create, false) then
			raise exception 'table "%" does not exist', i_table_name
				using errcode = 'undefined_table';
		end if;
		-- created by the worker from the provider's structure; split the name the way
		-- the topology gave it: schema up to the first dot
		insert into pgq_set.table_info (cascade, table_name, schema_name, rel_name, state,
						create_missing)
		values (i_cascade, i_table_name, split_part(i_table_name, '.', 1),
			substr(i_table_name, length(split_part(i_table_name, '.', 1)) + 2), 'pending', true)
		on conflict (cascade, table_name) do nothing;
		return case when found then 1 else 0 end;
	end if;

	-- its rows live in its partitions, and so would its captured events (row triggers on a
	-- partitioned table fire as the partition's): the partitions are what replicates
	if (select c.relkind from pg_class c where c.oid = v_oid) = 'p' then
		raise exception 'table "%" is partitioned: list its partitions in tables: instead (each is replicated as a table)',
			i_table_name using errcode = 'wrong_object_type';
	end if;

	if pgq_set.pk_columns(v_oid) is null then
		raise exception 'table "%" has no primary key: only tables with a primary key can be replicated',
			i_table_name using errcode = 'invalid_table_definition';
	end if;
	-- A deferrable key lets one statement give a key to a row before the row holding it has
	-- moved (update t set id = id + 1 in any row order): the per-row capture then queues
	-- "insert 2" before "delete 2", and the worker, which applies the last event of each key,
	-- loses the row. An immediately checked key makes that order impossible. The worker's
	-- ON CONFLICT cannot use a deferrable key as its arbiter either. Refused on every node.
	if exists (select 1 from pg_constraint c
		    where c.conrelid = v_oid and c.contype = 'p' and c.condeferrable) then
		raise exception 'table "%" has a deferrable primary key: only a primary key checked immediately can be replicated',
			i_table_name using errcode = 'SK001',
			hint = 'Drop the primary key constraint and add it again without DEFERRABLE.';
	end if;
	-- INCLUDE columns of the key's index: PgQ's logutriga lists them in the event's key list
	-- (as subscribers would then read the key) and refuses an UPDATE that changes one as a key
	-- change, so the application's update would fail on the root. Refused on every node.
	if exists (select 1 from pg_constraint c join pg_index x on x.indexrelid = c.conindid
		    where c.conrelid = v_oid and c.contype = 'p' and x.indnatts > x.indnkeyatts) then
		raise exception 'table "%" has a primary key with INCLUDE columns: only a primary key of key columns alone can be replicated',
			i_table_name using errcode = 'SK005',
			hint = 'Drop the primary key constraint and add it again without INCLUDE (a separate index can cover those columns).';
	end if;

	insert into pgq_set.table_info (cascade, table_name, schema_name, rel_name, state, create_missing)
	values (i_cascade, i_table_name, v_nsp, v_rel,
		case when v_node.node_role = 'root' then 'ok' else 'pending' end, coalesce(i_create, false))
	on conflict (cascade, table_name) do nothing;
	if found then
		v_new := 1;
	end if;

	v_fq := format('%I.%I', v_nsp, v_rel);
	if v_node.node_role = 'root' then
		perform pgq_set.fit_capture_triggers(i_cascade, v_oid);
	else
		perform pgq_set.put_trigger(v_oid, i_cascade, 'deny', format(
			'before insert or update or delete or truncate on %s for each statement '
			'execute function pgq_set.deny_write(%L)', v_fq, i_cascade));
	end if;
	return v_new;
end;
$$;
