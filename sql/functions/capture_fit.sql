create or replace function pgq_set.settings_free_type(i_type oid)
returns boolean
language plpgsql stable strict
as $$
-- True when every value of type i_type prints the same text whatever the session's datestyle,
-- intervalstyle, extra_float_digits, bytea_output, timezone and lc_monetary: the built-in types
-- listed below, enums, and domains, arrays, ranges and multiranges of such types. Anything
-- else (dates and times, intervals, floats, bytea, money, geometry, composites, types of
-- extensions) is not: its capture keeps the fixed settings of pgq_set.logutriga.
declare
	v_t pg_type%rowtype;
begin
	select * into v_t from pg_type where oid = i_type;
	if not found then
		return false;
	end if;
	if v_t.typtype = 'd' then
		return pgq_set.settings_free_type(v_t.typbasetype);
	elsif v_t.typtype = 'e' then
		return true;
	elsif v_t.typtype = 'r' then
		return pgq_set.settings_free_type((select rngsubtype from pg_range where rngtypid = i_type));
	elsif v_t.typtype = 'm' then
		return pgq_set.settings_free_type((select rngsubtype from pg_range
						   where rngmultitypid = i_type));
	elsif v_t.typcategory = 'A' and v_t.typelem <> 0 then
		return pgq_set.settings_free_type(v_t.typelem);
	end if;
	return i_type in ('bool'::regtype, '"char"'::regtype, 'int2'::regtype, 'int4'::regtype,
			  'int8'::regtype, 'numeric'::regtype, 'oid'::regtype, 'text'::regtype,
			  'varchar'::regtype, 'bpchar'::regtype, 'name'::regtype, 'uuid'::regtype,
			  'json'::regtype, 'jsonb'::regtype, 'inet'::regtype, 'cidr'::regtype,
			  'macaddr'::regtype, 'macaddr8'::regtype, 'bit'::regtype, 'varbit'::regtype);
end;
$$;

create or replace function pgq_set.capture_function(i_table regclass, i_kind text)
returns regprocedure
language sql stable strict
as $$
	-- The function our capture trigger of kind i_kind (capture, capture_upd, capture_trunc) on
	-- table i_table calls: pgq_set.logutriga_plain for a TRUNCATE (no row printed) and for a
	-- table whose every column is of a settings-free type, else pgq_set.logutriga.
	select case when i_kind = 'capture_trunc'
		     or coalesce(bool_and(pgq_set.settings_free_type(a.atttypid)), true)
		    then to_regprocedure('pgq_set.logutriga_plain()')
		    else to_regprocedure('pgq_set.logutriga()') end
	  from pg_attribute a
	 where a.attrelid = i_table and a.attnum > 0 and not a.attisdropped
	   and i_kind <> 'capture_trunc';
$$;

create or replace function pgq_set.fit_capture(i_tables regclass[] default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog
as $$
-- On a root: re-creates each capture trigger of ours (kinds capture, capture_upd,
-- capture_trunc) that calls another function than pgq_set.capture_function gives for its table
-- now, with the same name, events, WHEN clause, arguments and enabled state. i_tables limits it
-- to those tables and the tables that inherit from them (NULL: every replicated table).
-- Triggers calling anything but pgq_set.logutriga / logutriga_plain are left alone. Run by
-- add_table, by install.sql, and by the event trigger pgq_set_capture_fit after every ALTER
-- TABLE. Returns the triggers re-created.
declare
	r     record;
	v_def text;
	v_new text;
	v_n   integer := 0;
begin
	for r in
		with recursive tabs(oid) as (
			select unnest(i_tables)::oid
			union
			select i.inhrelid from pg_inherits i join tabs on tabs.oid = i.inhparent
		)
		select t.oid, t.tgrelid, t.tgname, t.tgenabled, k.kind,
		       pgq_set.capture_function(t.tgrelid::regclass, k.kind) as want
		  from pgq_set.table_info ti
		  join pgq_set.node nd on nd.cascade = ti.cascade and nd.node_role = 'root'
		  join pg_class c on c.relname = ti.rel_name
		  join pg_namespace ns on ns.oid = c.relnamespace and ns.nspname = ti.schema_name
		  cross join unnest(array['capture', 'capture_upd', 'capture_trunc']) as k(kind)
		  join pg_trigger t on t.tgrelid = c.oid
				   and t.tgname = pgq_set.trigger_name(ti.cascade, k.kind)
		 where (i_tables is null or c.oid in (select oid from tabs))
		   and t.tgfoid in ('pgq_set.logutriga()'::regprocedure,
				    'pgq_set.logutriga_plain()'::regprocedure)
		   and t.tgfoid <> pgq_set.capture_function(t.tgrelid::regclass, k.kind)
		 order by t.tgrelid, t.tgname
	loop
		v_def := pg_get_triggerdef(r.oid);
		v_new := regexp_replace(v_def, 'EXECUTE FUNCTION pgq_set\.logutriga(_plain)?\(([^()]*)\)$',
					'EXECUTE FUNCTION ' || r.want::regproc::text || '(\2)');
		if v_new = v_def then
			raise exception 'could not re-point trigger "%" on % to %: %',
				r.tgname, r.tgrelid::regclass, r.want, v_def;
		end if;
		execute format('drop trigger %I on %s', r.tgname, r.tgrelid::regclass);
		execute v_new;
		if r.tgenabled <> 'O' then
			execute format('alter table %s %s trigger %I', r.tgrelid::regclass,
				       case r.tgenabled when 'D' then 'disable'
							when 'A' then 'enable always'
							else 'enable replica' end, r.tgname);
		end if;
		v_n := v_n + 1;
	end loop;
	return v_n;
end;
$$;

create or replace function pgq_set.capture_fit_ddl()
returns event_trigger
language plpgsql
security definer
set search_path = pg_catalog
as $$
-- Event trigger function (pgq_set_capture_fit, on ddl_command_end of ALTER TABLE, enabled
-- always): a column added or retyped may make a table's values depend on the writer's
-- settings (or stop to), so the capture triggers of the altered tables and of their inheritors
-- are fitted in the same transaction, before any row is written with the new column.
declare
	v_tables regclass[];
begin
	if not exists (select 1 from pgq_set.node where node_role = 'root') then
		return;
	end if;
	select array_agg(distinct objid::regclass) into v_tables
	  from pg_event_trigger_ddl_commands()
	 where classid = 'pg_class'::regclass and object_type = 'table';
	if v_tables is not null then
		perform pgq_set.fit_capture(v_tables);
	end if;
end;
$$;
