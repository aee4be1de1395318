#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# bench/capture.sh: what capture costs the writer, against native logical replication and
# against the least that any capture into a queue table has to write (issue 13's tps target).
#
# One source instance (pgbench scale 10, pgbench_history given a key, issue 13's settings:
# fsync and synchronous_commit on) set up both ways at once: pgq_set's capture triggers on the
# four tables (create_root, add_table) and a publication that a second instance subscribes to.
# Then rounds of pgbench tpcb-like (-c 4 -j 2), one phase each of:
#   none     nothing captures: our triggers disabled, the subscription disabled
#   capture  our capture triggers on, no consumer: the writer's own cost (pgq_set.logutriga
#            with its C body, pgq_set_capture.so, from build/ (BENCH_CAPTURE_PATH))
#   pgq      the same with PgQ's C logutriga as pgq_set.logutriga's body (as where the server
#            has no pgq_set_capture.so)
#   native   the subscription on (its walsender decodes, its apply worker applies)
#   floor    triggers off; each transaction ends with ONE multi-row INSERT of its four events,
#            of the sizes the capture phase wrote, straight into the queue's event table: what
#            any capture into the queue must write at least (event rows, their index, their WAL)
#   stmt     the same extra statement without the insert: its round trip and parse, which a
#            trigger would not pay; floor / stmt × none estimates a capture that writes only that
# Custom scripts get -s (pgbench otherwise takes :scale as 1 for them: one branch row, all
# clients on it). The phases alternate within each round; medians over the rounds. Before the native phase the
# subscription's slot is moved past what the other phases wrote (pg_replication_slot_advance),
# so native decodes only its own phase. Nothing is compared between the instances: the figure
# is the writer's throughput.
#
# Not a test and not run by CI. Run as root (servers are started as the postgres OS user) or as
# postgres. See docs/performance.md.

set -euo pipefail

{

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKY_ROOT=$(dirname "$BENCH_HOME")
. "$BENCH_HOME/lib/common.sh"
. "$BENCH_HOME/lib/pg.sh"

ROUNDS=4
LOAD_SECONDS=15
CLIENTS=4
JOBS=2
SCALE=10

usage() {
	cat <<EOF
usage: $0 [options]
  --rounds N     rounds of the six phases, medians reported (default: $ROUNDS)
  --seconds N    pgbench -T of each phase (default: $LOAD_SECONDS)
  --clients N    pgbench clients (default: $CLIENTS; -j $JOBS)
  --scale N      pgbench scale (default: $SCALE)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) LOAD_SECONDS=$2; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--scale) SCALE=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

BENCH_PG_EXTRA="synchronous_commit = on
track_commit_timestamp = on"
BENCH_TABLES=(pgbench_accounts pgbench_tellers pgbench_branches pgbench_history)
export BENCH_PG_EXTRA

bench_start pgbench psql
RESULTS=$BENCH_DIR/results.tsv
printf 'phase\tround\ttps\tloadavg\n' >"$RESULTS"

pgb() {
	local n=$1
	shift
	pgbench -h "$BENCH_DIR/sock" -p "${BENCH_PORT[$n]}" -U postgres "$@" "$BENCH_DB"
}

for n in src dst; do
	bench_pg_new "$n"
	pgb "$n" -i -s "$SCALE" -q >/dev/null 2>&1 || bench_die "pgbench -i on $n failed"
	bench_sql "$n" "alter table pgbench_history add column hid bigserial primary key"
done

# pgq_set on the source: a root whose capture triggers cover the four tables
bench_psql src -q -f "$SKY_ROOT/sql/install.sql" >/dev/null
bench_sql src "select pgq_set.add_member('bench', 'root', '$(bench_dsn src)', false);
	select pgq_set.create_root('bench', 'root')" >/dev/null
for t in "${BENCH_TABLES[@]}"; do
	bench_sql src "select pgq_set.add_table('bench', 'public.$t')" >/dev/null
done
[ "$(bench_sql src "select pgq_set.capture_library()")" = pgq_set_capture ] ||
	bench_die "pgq_set.logutriga has not got its C body: build pgq_set_capture.so (cmake --build build)"
EVENT_TABLE=$(bench_sql src "select pgq.current_event_table('bench')")
EVENT_SEQ=$(bench_sql src "select queue_event_seq from pgq.queue where queue_name = 'bench'")

# native on the same source: the subscription is enabled for its phase only
bench_sql src "create publication bench_pub for table $(IFS=,; echo "${BENCH_TABLES[*]}")"
bench_sql dst "create subscription bench_sub connection '$(bench_dsn src)'
	publication bench_pub with (copy_data = false, enabled = false)"

body() { # pgq_set_capture|pgq: pgq_set.logutriga's body, declared as the installer does
	if [ "$1" = pgq ]; then
		bench_sql src "create or replace function pgq_set.logutriga() returns trigger language c
			set datestyle = 'ISO, YMD' set intervalstyle = 'postgres' set extra_float_digits = 3
			set bytea_output = 'hex' set timezone = 'UTC' set lc_monetary = 'C'
			as '\$libdir/pgq_triggers', 'pgq_logutriga'"
	else
		bench_sql src "create or replace function pgq_set.logutriga() returns trigger language c
			as 'pgq_set_capture', 'pgq_set_logutriga'"
	fi
}

triggers() { # enable|disable
	local t
	for t in "${BENCH_TABLES[@]}"; do
		bench_sql src "alter table $t $1 trigger user"
	done
}

native_on() {
	bench_sql src "select pg_replication_slot_advance('bench_sub', pg_current_wal_lsn())" >/dev/null
	bench_sql dst "alter subscription bench_sub enable"
	for _ in $(seq 1 300); do
		[ "$(bench_sql src "select count(*) from pg_stat_replication
			where application_name = 'bench_sub' and state = 'streaming'")" = 1 ] && return 0
		sleep 0.1
	done
	bench_die "native: the subscription did not start streaming"
}

native_off() {
	bench_sql dst "alter subscription bench_sub disable"
	for _ in $(seq 1 300); do
		[ "$(bench_sql src "select active from pg_replication_slots
			where slot_name = 'bench_sub'")" = f ] && return 0
		sleep 0.1
	done
	bench_die "native: the subscription did not stop"
}

TPCB='\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);'

phase() { # phase NAME ROUND [pgbench args...]
	local name=$1 round=$2 tps
	shift 2
	bench_sql src checkpoint
	bench_run pgb src -n -c "$CLIENTS" -j "$JOBS" -T "$LOAD_SECONDS" "$@" \
		>"$BENCH_DIR/pgbench-$name.log" 2>&1 || bench_die "pgbench ($name) failed"
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' \
		"$BENCH_DIR/pgbench-$name.log")
	printf '%s\t%s\t%.0f\t%s\n' "$name" "$round" "$tps" "$(cut -d' ' -f1 /proc/loadavg)" |
		tee -a "$RESULTS" >&2
}

# a short capture run first: the sizes of the events it writes shape the floor's insert
bench_log "warm-up capture run, to learn the events' sizes"
triggers enable
(LOAD_SECONDS=5 phase warmup 0)
ROWS=$(bench_sql src "select string_agg(format('(%L, repeat(%L, %s), %L)', ev_type,
	'x', round(avg_len), ev_extra1), ', ' order by ev_extra1) from (
	select ev_extra1, min(ev_type) as ev_type, avg(length(ev_data)) as avg_len
	  from $EVENT_TABLE group by ev_extra1) s")
bench_log "events per transaction: $ROWS"
printf '%s\ninsert into %s (ev_id, ev_time, ev_txid, ev_type, ev_data, ev_extra1)
 select nextval(%s), now(), txid_current(), t, d, e from (values %s) as v(t, d, e);\nEND;\n' \
	"$TPCB" "$EVENT_TABLE" "'$EVENT_SEQ'" "$ROWS" >"$BENCH_DIR/floor.sql"
printf '%s\nselect 1 from (values %s) as v(t, d, e);\nEND;\n' "$TPCB" "$ROWS" \
	>"$BENCH_DIR/stmt.sql"

for r in $(seq 1 "$ROUNDS"); do
	triggers enable
	phase capture "$r"
	body pgq
	phase pgq "$r"
	body pgq_set_capture
	triggers disable
	phase none "$r"
	phase floor "$r" -s "$SCALE" -f "$BENCH_DIR/floor.sql"
	phase stmt "$r" -s "$SCALE" -f "$BENCH_DIR/stmt.sql"
	native_on
	phase native "$r"
	native_off
done

med() { # med PHASE: median tps of a phase
	# shellcheck disable=SC2046
	bench_median $(awk -F'\t' -v p="$1" '$1 == p { print $3 }' "$RESULTS")
}
all() {
	awk -F'\t' -v p="$1" '$1 == p { printf "%s%s", s, $3; s = "/" }' "$RESULTS"
}
N=$(med native)
CAP=$(med capture)
PGQ=$(med pgq)
NONE=$(med none)
FLOOR=$(med floor)
STMT=$(med stmt)
EST=$(awk -v n="$NONE" -v f="$FLOOR" -v s="$STMT" 'BEGIN { printf "%.0f", n * f / s }')
rat() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat <<EOF
## Result of \`bench/capture.sh\` (commit $(git -C "$SKY_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M') UTC, $ROUNDS rounds of ${LOAD_SECONDS} s, medians)

| phase | tps | / native | / none | per round |
|---|---:|---:|---:|---|
| none: nothing captures | $NONE | $(rat "$NONE" "$N") | 1.00 | $(all none) |
| native logical replication (walsender + apply worker on) | $N | 1.00 | $(rat "$N" "$NONE") | $(all native) |
| capture: pgq_set's triggers (C body pgq_set_capture), no consumer | $CAP | $(rat "$CAP" "$N") | $(rat "$CAP" "$NONE") | $(all capture) |
| pgq: the same triggers with PgQ's logutriga as body, no consumer | $PGQ | $(rat "$PGQ" "$N") | $(rat "$PGQ" "$NONE") | $(all pgq) |
| floor: one multi-row INSERT of the events per transaction (extra statement) | $FLOOR | | | $(all floor) |
| the extra statement alone | $STMT | | | $(all stmt) |
| floor without the extra statement's cost (none × floor / stmt) | $EST | $(rat "$EST" "$N") | $(rat "$EST" "$NONE") | |

Events per transaction in the floor phase: $ROWS
EOF
}
exit
