create or replace function pgq_set.add_sequence(i_cascade text, i_seq_name text)
returns integer
language plpgsql
as $$
-- Register sequence i_seq_name ("schema.name", unquoted) as following the root: the root
-- publishes its position through the queue, and a node promoted to root moves it past the
-- last published value (promote_root). The sequence need not exist on this node (it is
-- checked where it is used). Returns 1 when newly registered.
begin
	insert into pgq_set.sequence_info (cascade, seq_name) values (i_cascade, i_seq_name)
	on conflict do nothing;
	return case when found then 1 else 0 end;
end;
$$;
