-- pgq_set catalog, version 3: capture triggers run with fixed settings.
-- Runs once, guarded by pgq_set.schema_version, and after the functions (install.sql): it needs
-- pgq_set.logutriga.
--
-- add_table now puts pgq_set.logutriga (PgQ's C logutriga run with fixed datestyle, timezone,
-- extra_float_digits, ...) on a root's tables; before, it put pgq.logutriga, which prints values
-- with the writing session's settings. Every such trigger of ours (named _sky_*, its queue a
-- cascade of this node) is created again, same name, events and WHEN clause, calling
-- pgq_set.logutriga, so an upgraded root has the triggers a fresh add_table gives.
do $body$
declare
	r     record;
	v_def text;
begin
	if exists (select 1 from pgq_set.schema_version where version = 3) then
		return;
	end if;

	for r in
		select t.oid, t.tgrelid, t.tgname, pg_get_triggerdef(t.oid) as def
		  from pg_trigger t
		 where t.tgfoid = 'pgq.logutriga'::regproc
		   and t.tgname like '\_sky\_%'
		   and split_part(encode(t.tgargs, 'escape'), '\000', 1) in (select cascade from pgq_set.node)
		 order by t.tgrelid, t.tgname
	loop
		v_def := regexp_replace(r.def, 'EXECUTE FUNCTION [a-z_."]*logutriga\(([^()]*)\)$',
					'EXECUTE FUNCTION pgq_set.logutriga(\1)');
		if v_def = r.def then
			raise exception 'could not re-point trigger "%" on % to pgq_set.logutriga: %',
				r.tgname, r.tgrelid::regclass, r.def;
		end if;
		execute format('drop trigger %I on %s', r.tgname, r.tgrelid::regclass);
		execute v_def;
	end loop;

	insert into pgq_set.schema_version (version) values (3);
end
$body$;
