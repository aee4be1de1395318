create or replace function pgq_set.urlencode(i_value text)
returns text
language sql immutable strict
as $$
	-- Form-urlencode a value the way PgQ's logutriga does: the bytes of the value in the
	-- server encoding, unreserved characters kept, space as '+', the rest as %xx.
	-- convert_to the database's own encoding is the bytes as stored (textsend would convert
	-- them into the calling session's client_encoding).
	select coalesce(string_agg(
		case
			when b between 48 and 57 or b between 65 and 90 or b between 97 and 122
			     or b in (45, 46, 95) then chr(b)
			when b = 32 then '+'
			else '%' || lpad(to_hex(b), 2, '0')
		end, '' order by i), '')
	from (select i, get_byte(raw, i) as b
	      from (select convert_to(i_value, pg_catalog.getdatabaseencoding()) as raw) r,
		   generate_series(0, octet_length(r.raw) - 1) as i) s;
$$;
