#!/usr/bin/env bash
# bench/copy_watch.sh DSN TIMEOUT FINAL SQL: helper of bench/copy.sh (not meant to be run by hand).
#
# Polls SQL (one query returning one text value, the "state") every 20 ms through one psql session
# in autocommit mode, so that no snapshot is held while the copy runs, and prints a line
# "MS|STATE" each time the state changes (MS: epoch milliseconds of the server's clock, the same
# clock as the caller's $EPOCHREALTIME on this host). Exits 0 as soon as the state is FINAL,
# 1 after TIMEOUT seconds or when the query fails.
set -euo pipefail

dsn=$1
timeout=$2
final=$3
sql=$4
psql_bin=${SKY_PGBIN:-/usr/lib/postgresql/15/bin}/psql

coproc POLL { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" 2>&1; }
win=${POLL[1]}
wout=${POLL[0]}
# shellcheck disable=SC2153 # POLL_PID is set by coproc
poll_pid=$POLL_PID
prev='(none)'
# sleeping by a read that times out on a pipe nobody writes to: no sleep process 50 times a second
exec {nap}<> <(:)
deadline=$((SECONDS + timeout))
rc=1
while :; do
	echo "select coalesce(($sql)::text, 'null') || '|' ||
		(extract(epoch from clock_timestamp()) * 1000)::bigint;" >&"$win"
	if ! read -r -t 60 line <&"$wout"; then
		echo "error|lost the session"
		break
	fi
	state=${line%|*}
	ms=${line##*|}
	if ! [[ $ms =~ ^[0-9]+$ ]]; then
		echo "error|$line"
		break
	fi
	if [ "$state" != "$prev" ]; then
		echo "$ms|$state"
		prev=$state
	fi
	if [ "$state" = "$final" ]; then
		rc=0
		break
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "timeout|$state"
		break
	fi
	read -r -t 0.02 -u "$nap" _ || true
done
exec {win}>&-
wait "$poll_pid" 2>/dev/null || true
exit "$rc"
