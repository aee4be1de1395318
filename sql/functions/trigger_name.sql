create or replace function pgq_set.trigger_name(i_cascade text, i_kind text)
returns text
language sql immutable strict
as $$
	-- The name of our trigger of kind i_kind (capture_row, capture, capture_upd, capture_key,
	-- capture_trunc, deny, lock; 13 characters at most) for cascade i_cascade.
	-- '_sky_<cascade>_<kind>' while the longest such name fits in
	-- an identifier (63 bytes: cascades of up to 44 characters), so triggers created before keep
	-- their names; for a longer cascade (PostgreSQL would cut the name, and for 49 characters or
	-- more cut two kinds to the same name) '_sky_<first 24 characters>_<12 hex digits of
	-- md5(cascade)>_<kind>', at most 56 bytes, stable and distinct per cascade.
	select '_sky_'
	       || case when octet_length(i_cascade) <= 44 then i_cascade
		       else left(i_cascade, 24) || '_' || left(md5(i_cascade), 12) end
	       || '_' || i_kind;
$$;
