create or replace function pgq_set.sequence_positions(i_cascade text)
returns jsonb
language plpgsql stable
as $$
-- The last values of the sequences that follow the root, as {"schema.name": last_value}:
-- those owned by columns of this node's replicated tables (serial, identity) and those listed
-- in the topology (sequence_info) that exist here. What a new root must stay ahead of.
declare
	v_out jsonb := '{}'::jsonb;
	v_s   record;
	v_val bigint;
begin
	for v_s in
		select o.seq_fq as fq, o.seq_name as name from pgq_set.owned_sequences(i_cascade) o
		union
		select format('%I.%I', sn.nspname, sc.relname), sn.nspname || '.' || sc.relname
		  from pgq_set.sequence_info si
		  join pg_namespace sn on sn.nspname = split_part(si.seq_name, '.', 1)
		  join pg_class sc on sc.relnamespace = sn.oid and sc.relkind = 'S'
				  and sc.relname = substr(si.seq_name, length(split_part(si.seq_name, '.', 1)) + 2)
		 where si.cascade = i_cascade
	loop
		execute format('select last_value from %s', v_s.fq) into v_val;
		v_out := v_out || jsonb_build_object(v_s.name, v_val);
	end loop;
	return v_out;
end;
$$;
