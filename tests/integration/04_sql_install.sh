#!/usr/bin/env bash
# pgq_set install: re-running is a no-op, the version is readable, and the schema a fresh install
# gives (columns, function signatures and bodies, constraints) is the one an install over an
# existing catalog (with data) gives. skyreconcile runs the installer again on a node at its
# version whose functions came from another script (installed by hand, or by another build): the
# plan says so, the apply restores the functions, and a dry-run then finds nothing to do; and on a
# node whose capture body no longer matches its library (found or gone since the installer ran).
set -euo pipefail
# shellcheck source=tests/lib/harness.sh
source "$(dirname "$0")/../lib/harness.sh"

sky_pg_new db1
sky_pg_new db2
install_sql() { sky_psql "$1" -v ON_ERROR_STOP=1 -q -f "$SKY_SOURCE_DIR/sql/install.sql" >/dev/null; }
# the catalog's shape: every pgq_set column and function signature, sorted
schema_of() {
	sky_psql "$1" -At -c "
	select 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
	  from information_schema.columns where table_schema = 'pgq_set'
	union all
	select 'fn ' || p.oid::regprocedure::text || ' -> ' || pg_get_function_result(p.oid)
		|| ' body ' || md5(p.prosrc) || ' config ' || coalesce(array_to_string(p.proconfig, ';'), '')
	  from pg_proc p where p.pronamespace = 'pgq_set'::regnamespace
	union all
	select 'con ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(oid)
	  from pg_constraint where connamespace = 'pgq_set'::regnamespace
	order by 1"
}

# the version is the number of the last schema step
latest=$(find "$SKY_SOURCE_DIR/sql/schema" -name '[0-9][0-9][0-9]_*.sql' -printf '%f\n' | sort | tail -1)
latest=$((10#${latest%%_*}))

sky_check "fresh install, then the version is readable"
install_sql db1
sky_assert_eq "$(sky_psql db1 -At -c 'select pgq_set.version()')" "$latest" "pgq_set.version()"

sky_check "a second install changes nothing: same schema, catalog rows kept"
sky_psql db1 -q -c "select pgq_set.create_root('app', 'db1')" >/dev/null
sky_psql db1 -q -c "select pgq_set.add_member('app', 'db1', 'host=x', false)" >/dev/null
before=$(schema_of db1)
install_sql db1
install_sql db1
after=$(schema_of db1)
sky_assert_eq "$after" "$before" "schema after re-install"
sky_assert_eq "$(sky_psql db1 -At -c "select node_name || ':' || node_role from pgq_set.get_node('app')")" \
	"db1:root" "node row kept across re-install"

sky_check "an upgrade from the first catalog version (with data in it) gives the schema of a fresh install"
sky_psql db2 -v ON_ERROR_STOP=1 -q -c 'create extension if not exists pgq' \
	-f "$SKY_SOURCE_DIR/sql/schema/001_base.sql" >/dev/null
sky_assert_eq "$(sky_psql db2 -At -c 'select max(version) from pgq_set.schema_version')" "1" \
	"version after the first step alone"
sky_psql db2 -v ON_ERROR_STOP=1 -q -c "insert into pgq_set.member values ('app', 'db2', 'host=y', false)" >/dev/null
install_sql db2
sky_assert_eq "$(schema_of db2)" "$after" "upgraded schema equals fresh schema"
sky_assert_eq "$(sky_psql db2 -At -c "select count(*) from pgq_set.member")" "1" "catalog rows kept by the upgrade"
sky_ok "install is idempotent and versioned"

sky_check "a new root's tick sequence stays above its ticks through a crash in its first ticks"
# The test servers run wal_level = minimal. A sequence created and drawn from in one transaction
# (pgq.create_queue makes the queue's first tick) is then logged once at commit, as a page image
# that says 32 values are logged ahead: the next ticks write no WAL for the sequence, and a crash
# put it back below the ticks (pgqd: duplicate key "tick_pkey", 10 s pause, one id a retry).
# create_root and promote_root write the sequences' state (pgq_set.seq_set_logged). db1's "app"
# is a new root (create_root above); "fresh" a branch created at its provider's first tick and
# promoted before it copied another (its tick sequence was never set by a copied tick).
sky_psql db1 -c "select pgq_set.create_branch('fresh', 'db1', 'db0', 1, now(), 1)" \
	-c "select pgq_set.promote_root('fresh')" >/dev/null
ticks=(-c "set synchronous_commit = on") # the ticks must survive the crash
for _ in 1 2 3 4 5; do
	ticks+=(-c "select pgq.force_tick(q) from unnest(array['app', 'fresh']) q"
		-c "select pgq.ticker(q) from unnest(array['app', 'fresh']) q")
done
sky_psql db1 "${ticks[@]}" >/dev/null
queue_ticks() { # "queue last_tick tick_sequence", one line a queue
	sky_psql db1 -c "select q.queue_name, (select max(t.tick_id) from pgq.tick t where t.tick_queue = q.queue_id),
		pgq.seq_getval(q.queue_tick_seq) from pgq.queue q where q.queue_name in ('app', 'fresh') order by 1" | tr '|' ' '
}
sky_assert_eq "$(queue_ticks)" $'app 6 6\nfresh 6 6' "six ticks on each queue before the crash"
sky_pg_stop db1 immediate
sky_pg_start db1
while read -r q last seq; do
	((seq >= last)) || sky_fail "queue $q: its tick sequence went back to $seq below its last tick $last in the crash"
	sky_psql db1 -c "select pgq.force_tick('$q')" >/dev/null
	next=$(sky_psql db1 -c "select pgq.ticker('$q')")
	((next > last)) || sky_fail "queue $q: the tick after the crash is $next, not above $last"
	sky_ok "queue $q: tick sequence at $seq after the crash (last tick $last), the next tick is $next"
done < <(queue_ticks)

sky_check "ticks are known by identity (id, time, event seq), not by number alone"
# db2, a branch of its own cascade "tickid" at tick 5 (no provider needed for these calls)
T5="2026-01-01 00:00:05+00" T6="2026-01-01 00:00:06+00"
sql_state() { # SQL: the SQLSTATE it fails with ("ok" when it succeeds)
	sky_psql db2 -c "do \$\$ begin perform $1; exception when others then raise exception 'state %', sqlstate; end \$\$" \
		>/dev/null 2>"$SKY_TMP/log/sqlstate.err" && echo ok ||
		sed -n 's/.*state \([0-9A-Z]\{5\}\).*/\1/p' "$SKY_TMP/log/sqlstate.err"
}
sky_psql db2 -c "select pgq_set.create_branch('tickid', 'b', 'p', 5, '$T5', 10)" >/dev/null
sky_assert_eq "$(sky_psql db2 -c "select pgq_set.create_tick('tickid', 5, '$T5', 10)")" 0 \
	"create_tick of the same tick 5: already there"
sky_assert_eq "$(sql_state "pgq_set.create_tick('tickid', 5, '$T6', 10)")" SK004 \
	"create_tick of another tick 5 (another time): lost position"
sky_assert_eq "$(sql_state "pgq_set.create_tick('tickid', 5, '$T5', 11)")" SK004 \
	"create_tick of another tick 5 (another event seq): lost position"
sky_assert_eq "$(sql_state "pgq_set.complete_batch('tickid', 5, 6, '$T6', 10, '$T6', 12)")" SK004 \
	"complete_batch from another tick 5: lost position"
sky_assert_eq "$(sql_state "pgq_set.complete_batch('tickid', 5, 6, '$T5', 10, '$T6', 12)")" ok \
	"complete_batch from the node's tick 5"
sky_assert_eq "$(sky_psql db2 -c "select last_tick || ' ' || last_tick_event_seq from pgq_set.node where cascade = 'tickid'")" \
	"6 12" "the completed tick's identity is recorded"
sky_assert_eq "$(sql_state "pgq_set.complete_batch('tickid', 6, 7)")" ok \
	"a caller that does not know the identity compares the number only"
sky_ok "another tick with the same number is refused as lost position (SK004)"

sky_check "skyreconcile re-runs the installer where the functions came from another script"
RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
sky_pg_new db3
install_sql db3
cat >"$SKY_TMP/topology.yaml" <<EOF
cascade: $SKY_CASCADE
nodes:
  db3:
    role: root
    dsn: "$(sky_dsn db3)"
tables: []
EOF
sky_run reconcile-by-hand "$RECONCILE" -f "$SKY_TMP/topology.yaml" --dry-run
sky_expect_rc 2 "dry-run on a node installed by hand"
sky_assert_contains "$SKY_OUT" "~ db3: upgrade pgq_set $latest (installer unknown) -> $latest (installer " \
	"the plan re-runs the installer"
sky_run reconcile-apply "$RECONCILE" -f "$SKY_TMP/topology.yaml"
sky_expect_rc 0 "apply"
sky_run reconcile-again "$RECONCILE" -f "$SKY_TMP/topology.yaml" --dry-run
sky_expect_rc 0 "a dry-run after the apply finds nothing to do"
# another build's functions: one body differs, and so does the recorded digest
sky_psql db3 -q -c "create or replace function pgq_set.version() returns text language sql stable
	as \$\$ select max(version)::text from pgq_set.schema_version where true \$\$" \
	-c "comment on schema pgq_set is 'skycascade installer 0123456789abcdef'" >/dev/null
[ "$(schema_of db3)" != "$after" ] || sky_fail "the changed function body is not seen"
sky_run reconcile-other-build "$RECONCILE" -f "$SKY_TMP/topology.yaml"
sky_expect_rc 0 "apply over another build's functions"
sky_assert_contains "$SKY_OUT" "~ db3: upgrade pgq_set $latest (installer 0123456789abcdef) -> $latest (installer " \
	"the plan re-runs the installer"
sky_assert_eq "$(schema_of db3)" "$after" "functions restored: the schema of a fresh install"
sky_run reconcile-last "$RECONCILE" -f "$SKY_TMP/topology.yaml" --dry-run
sky_expect_rc 0 "then nothing to do"

sky_check "the capture body's library gone, then back: skyreconcile re-runs the installer, which switches the body"
sky_assert_eq "$(sky_psql db3 -c "select pgq_set.capture_library()")" pgq_set_capture "the C body to begin with"
# library_path LABEL PATH WHY BODY: the server's dynamic_library_path set to PATH; the plan re-runs
# the installer because of WHY, the apply leaves body BODY, and then there is nothing to do
library_path() {
	sky_pg_conf db3 "dynamic_library_path = '$2'"
	sky_run "reconcile-$1" "$RECONCILE" -f "$SKY_TMP/topology.yaml" --dry-run
	sky_expect_rc 2 "dry-run with the library $1"
	sky_assert_contains "$SKY_OUT" "~ db3: upgrade pgq_set $latest ($3) -> $latest (installer " \
		"the plan re-runs the installer"
	sky_run "reconcile-$1-apply" "$RECONCILE" -f "$SKY_TMP/topology.yaml"
	sky_expect_rc 0 "apply"
	sky_assert_eq "$(sky_psql db3 -c "select pgq_set.capture_library()")" "$4" "the body after the apply"
	sky_run "reconcile-$1-again" "$RECONCILE" -f "$SKY_TMP/topology.yaml" --dry-run
	sky_expect_rc 0 "then nothing to do"
}
# no $libdir: the package's copy in the server's library directory stays unseen too
library_path gone "$SKY_TMP/no-such-dir" "capture body pgq_set_capture, library not found" '$libdir/pgq_triggers'
library_path back "$SKY_BUILD_DIR/sql/capture" "capture body PgQ's, pgq_set_capture found" pgq_set_capture
