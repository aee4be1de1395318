-- pgq_set: the cascade layer over PgQ and the replication layer of skycascade.
--
-- Install or upgrade a node's database:  psql -v ON_ERROR_STOP=1 -d DB -f sql/install.sql
-- (skyreconcile runs the same script, compiled into it). Running it again is a no-op:
-- table DDL lives in numbered, guarded steps (schema/NNN_*.sql) that each run once, so a
-- fresh install and an upgrade end with the same schema; functions are create or replace.
-- skyreconcile also re-runs it on a node at its version whose functions came from another
-- script (it records a digest of the script it ran as the comment on schema pgq_set).
begin;
-- one installer at a time per database
set local client_min_messages = warning;
do $$ begin perform pg_advisory_xact_lock(hashtext('pgq_set install')); end $$;
create extension if not exists pgq;
\ir schema/001_base.sql
\ir schema/002_table_copy.sql
\ir schema/005_sequences.sql
\ir schema/006_tick_identity.sql
\ir schema/007_failover.sql
\ir functions/add_member.sql
\ir functions/add_sequence.sql
\ir functions/add_table.sql
\ir functions/capture_key_change.sql
\ir functions/claim_copies.sql
\ir functions/complete_batch.sql
\ir functions/consumer_tick.sql
\ir functions/copy_done.sql
\ir functions/copy_failed.sql
\ir functions/copy_progress.sql
\ir functions/create_branch.sql
\ir functions/create_leaf.sql
\ir functions/create_root.sql
\ir functions/create_tick.sql
\ir functions/demote_root.sql
\ir functions/deny_write.sql
\ir functions/deny_writes.sql
\ir functions/drop_member.sql
\ir functions/drop_table_triggers.sql
\ir functions/fence.sql
\ir functions/final_tick.sql
\ir functions/fit_capture_triggers.sql
\ir functions/finish_catch_up.sql
\ir functions/get_apply_tables.sql
\ir functions/get_failover.sql
\ir functions/get_members.sql
\ir functions/get_node.sql
\ir functions/get_reconciler.sql
\ir functions/get_revision.sql
\ir functions/get_sequences.sql
\ir functions/get_subscribers.sql
\ir functions/get_tables.sql
\ir functions/get_ticker.sql
\ir functions/get_witness.sql
\ir functions/is_fenced.sql
\ir functions/local_watermark.sql
\ir functions/lock_writers.sql
\ir functions/logutriga.sql
\ir functions/lost_events.sql
\ir functions/owned_sequences.sql
\ir functions/pause_ack.sql
\ir functions/pk_columns.sql
\ir functions/promote_root.sql
\ir functions/publish_sequences.sql
\ir functions/publish_watermark.sql
\ir functions/put_trigger.sql
\ir functions/queue_event_table.sql
\ir functions/record_failover.sql
\ir functions/record_revision.sql
\ir functions/register_subscriber.sql
\ir functions/register_subscriber_at.sql
\ir functions/remove_sequence.sql
\ir functions/remove_table.sql
\ir functions/rename_node.sql
\ir functions/report_watermark.sql
\ir functions/reset_node.sql
\ir functions/retrigger_tables.sql
\ir functions/row_urlencode.sql
\ir functions/seq_set_logged.sql
\ir functions/sequence_positions.sql
\ir functions/sequences_past_keys.sql
\ir functions/set_global_watermark.sql
\ir functions/set_parallel_copies.sql
\ir functions/set_paused.sql
\ir functions/set_provider.sql
\ir functions/set_reconciler.sql
\ir functions/set_ticker.sql
\ir functions/set_worker_error.sql
\ir functions/table_ddl.sql
\ir functions/take_backlog.sql
\ir functions/tick_xmin.sql
\ir functions/trigger_name.sql
\ir functions/unregister_subscriber.sql
\ir functions/urlencode.sql
\ir functions/version.sql
\ir functions/witness_report.sql
\ir functions/worker_heartbeat.sql
\ir functions/worker_running.sql
\ir functions/worker_state.sql
\ir functions/writers_locked.sql
-- steps that need the functions above
\ir schema/003_capture_triggers.sql
\ir schema/004_revision.sql
-- the capture triggers of a root follow pgq_set.logutriga's body, which this run may have
-- changed (its library installed or removed since the last run): fit them to it
do $$
begin
	perform pgq_set.fit_capture_triggers(n.cascade, c.oid)
	   from pgq_set.node n
	   join pgq_set.table_info ti on ti.cascade = n.cascade
	   join pg_namespace s on s.nspname = ti.schema_name
	   join pg_class c on c.relnamespace = s.oid and c.relname = ti.rel_name
	  where n.node_role = 'root'
	  order by n.cascade, ti.table_name;
end $$;
commit;
