create or replace function pgq_set.seq_set_logged(i_seq text, i_at_least bigint default null)
returns bigint
language plpgsql
as $$
-- Like pgq.seq_setval (i_seq as pgq.queue names it; moved to at least i_at_least, never
-- back), but the sequence's state is always written with setval, so no value is ever drawn
-- from it beyond what WAL holds. This matters for a sequence created in the current
-- transaction under wal_level = minimal: such a relation is logged once, at commit, as an
-- image of its page, and when the transaction drew a value (pgq.create_queue makes the
-- queue's first tick) that image says 32 more values are logged ahead. The next 32 nextval
-- calls then write no WAL, and a crash before the 33rd puts the sequence back to the image:
-- on a root's tick sequence, pgqd's next ticks fail with a duplicate key on pgq.tick
-- (docs/operations.md, "A crash in a new root's first ticks"). setval caches nothing ahead.
-- Only where nothing else draws from the sequence until the caller commits (a queue created
-- in this transaction, or one with an external ticker and inserts disabled): a nextval
-- between the read and the setval would be undone. Returns the sequence's value.
declare
	v_fq     text := pgq.quote_fqname(i_seq);
	v_last   bigint;
	v_called boolean;
begin
	execute format('select last_value, is_called from %s', v_fq) into v_last, v_called;
	if i_at_least is not null and i_at_least > v_last then
		v_last := i_at_least;
		v_called := true;
	end if;
	perform setval(v_fq, v_last, v_called);
	return v_last;
end;
$$;
