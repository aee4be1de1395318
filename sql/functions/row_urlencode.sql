create or replace function pgq_set.row_urlencode(i_table regclass, i_row text)
returns text
language plpgsql stable
-- the settings of pgq_set.logutriga: the row's text form is read and its columns printed the
-- way logutriga prints them, whatever the caller's settings
set datestyle = 'ISO, YMD'
set intervalstyle = 'postgres'
set extra_float_digits = 3
set bytea_output = 'hex'
set timezone = 'UTC'
set lc_monetary = 'C'
as $$
-- Urlencode a row of i_table, given as its text form (record::text), in the logutriga
-- format: name=value&... in column order, each value as its type's output function prints it,
-- a NULL as the bare name.
declare
	v_col   record;
	v_value text;
	v_out   text := '';
	v_row   text := i_row;
begin
	for v_col in
		select a.attname
		  from pg_attribute a
		 where a.attrelid = i_table and a.attnum > 0 and not a.attisdropped
		 order by a.attnum
	loop
		-- printed by the type's output function, as logutriga prints it (a cast to text
		-- may print otherwise: true, not t)
		execute format('select pg_catalog.format(''%%s'', v) from (select ($1::%s).%I as v) s where v is not null',
			       i_table, v_col.attname)
			into v_value using v_row;
		if v_out <> '' then
			v_out := v_out || '&';
		end if;
		v_out := v_out || pgq_set.urlencode(v_col.attname);
		if v_value is not null then
			v_out := v_out || '=' || pgq_set.urlencode(v_value);
		end if;
	end loop;
	return v_out;
end;
$$;
