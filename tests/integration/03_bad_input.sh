#!/usr/bin/env bash
# 03: bad input. skyreconcile refuses malformed topology files with exit 1 and a message that names
# FILE:LINE:COL, with or without --dry-run; nothing is applied to the (reachable) nodes, and the
# password of a DSN is not printed.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
SECRET=s3cr3t
NODES=(db1 db2 db3)

for n in "${NODES[@]}"; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t1 (id int primary key, v text)"
done
sky_dsn_extra db2 "password=$SECRET"

# The valid base file; its lines are (see sky_topology_write):
#  1 cascade  2 nodes:  3 db1:  4 role  5 dsn  6 db2:  7 role: branch  8 dsn  9 provider: db1
#  10 db3:  11 role  12 dsn  13 provider: db2  14 tables:  15 - 'public.t1'  16 settings:
#  17 parallel_copies
BASE=$SKY_TMP/base.yaml
sky_topology_write "$BASE" db1 db2 db3 public.t1
sky_assert_eq "$(sed -n '7p;9p;13p;15p' "$BASE" | tr -s ' ' | tr '\n' '|')" \
	" role: branch| provider: db1| provider: db2| - 'public.t1'|" "layout of the base topology"

# bad NAME SED-SCRIPT: NAME.yaml is the base file edited by SED-SCRIPT
bad() {
	sed "$2" "$BASE" >"$SKY_TMP/$1.yaml"
	cmp -s "$BASE" "$SKY_TMP/$1.yaml" && sky_fail "the edit for $1 changed nothing"
	return 0
}

# expect_error NAME POSITION-REGEX WORD [--dry-run]: exit 1, the message names NAME.yaml:POSITION and
# mentions WORD
expect_error() {
	local name=$1 pos=$2 word=$3 all
	shift 3
	sky_run "$name$*" "$RECONCILE" -f "$SKY_TMP/$name.yaml" "$@"
	sky_expect_rc 1 "$name.yaml${*:+ $*}"
	all=$SKY_TMP/log/$name$*.all
	cat "$SKY_OUT" "$SKY_ERR" >"$all"
	if ! grep -qE -- "$name\.yaml:$pos" "$all"; then
		sky_fail "$name.yaml: the message does not name $name.yaml:$pos (LINE:COL)"
	fi
	sky_ok "the message names $name.yaml:$pos"
	sky_assert_contains "$all" "$word" "the message mentions $word"
	if grep -qE '^[[:space:]]*[-+~][[:space:]]' "$SKY_OUT"; then
		sky_fail "$name.yaml: a plan was printed for an invalid file"
	fi
}

sky_check "an unknown key"
bad unknown-key '9a\    colour: blue'
expect_error unknown-key '10:5([^0-9]|$)' colour
expect_error unknown-key '10:5([^0-9]|$)' colour --dry-run

sky_check "an invalid role"
bad bad-role '7s/branch/king/'
expect_error bad-role '7:[0-9]+' king
expect_error bad-role '7:[0-9]+' king --dry-run

sky_check "a provider that is not a node"
bad bad-provider '13s/db2/db9/'
expect_error bad-provider '13:[0-9]+' db9

sky_check "a node name outside [a-z0-9_]+"
bad bad-node-name '10s/db3:/Db-3:/'
expect_error bad-node-name '10:[0-9]+' Db-3

sky_check "an unterminated quoted identifier in a table name"
bad bad-table "15s/public.t1/public.\"t1/"
expect_error bad-table '15:[0-9]+' t1

sky_check "a YAML syntax error"
bad bad-syntax '12s/"$//'
expect_error bad-syntax '[0-9]+:[0-9]+' bad-syntax.yaml

sky_check "a missing file"
sky_run missing-file "$RECONCILE" -f "$SKY_TMP/does-not-exist.yaml" --dry-run
sky_expect_rc 1 "a missing topology file"
cat "$SKY_OUT" "$SKY_ERR" >"$SKY_TMP/log/missing-file.all"
sky_assert_contains "$SKY_TMP/log/missing-file.all" "does-not-exist.yaml" "the message names the file"

sky_check "nothing was applied to the nodes"
for n in "${NODES[@]}"; do
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pg_namespace where nspname = 'pgq_set'")" \
		0 "pgq_set is not installed on $n"
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pgq.queue")" 0 "no PgQ queue on $n"
	sky_assert_eq "$(sky_psql "$n" -c "select count(*) from pg_trigger where tgrelid = 'public.t1'::regclass")" \
		0 "no trigger on public.t1 on $n"
done

sky_check "the password in db2's DSN appears nowhere"
sky_assert_no_secret "$SECRET"
