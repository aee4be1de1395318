#!/usr/bin/env bash
# 25: saved plans (issue 10). root db1, leaf db2, table public.t.
# - `--dry-run --out FILE` prints the plan and saves it; `skyreconcile apply FILE` applies exactly
#   that plan (the same operation lines) and a dry-run then finds nothing to do;
# - a plan saved before the cascade changed (db2 paused by hand) is refused: "stale plan", exit 1,
#   nothing changed;
# - a plan saved before topology.yaml changed is refused the same way;
# - a plan with problems is not saved.
# shellcheck source=tests/lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

RECONCILE=$(sky_reconcile_bin)
sky_need_bin "$RECONCILE"
for n in db1 db2; do
	sky_pg_new "$n"
	sky_psql "$n" -c "create table public.t (id int primary key, v text)"
done
sky_psql db1 -c "insert into public.t select g, 'v' || g from generate_series(1, 100) g"
TOPO=$SKY_TMP/topology.yaml
PLAN=$SKY_TMP/plan.json

sky_check "a saved plan is applied exactly"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.t
sky_run dry-run "$RECONCILE" -f "$TOPO" --dry-run --out "$PLAN"
sky_expect_rc 2 "the dry-run finds changes and saves them"
[ -s "$PLAN" ] || sky_fail "no plan file"
grep -E '^[+~-] ' "$SKY_OUT" >"$SKY_TMP/planned.txt"
sky_assert_eq "$(sky_psql db1 -c "select count(*) from pg_namespace where nspname = 'pgq_set'")" 0 "nothing changed yet"
sky_run apply "$RECONCILE" apply "$PLAN"
sky_expect_rc 0 "the saved plan applies"
sed -E 's/ \.\.\. (done|failed.*|skipped.*)$//' "$SKY_OUT" | grep -E '^[+~-] ' >"$SKY_TMP/applied.txt"
sky_assert_eq "$(diff "$SKY_TMP/planned.txt" "$SKY_TMP/applied.txt" && echo same)" same "the applied steps are the planned ones"
sky_run dry-run-2 "$RECONCILE" -f "$TOPO" --dry-run
sky_expect_rc 0 "nothing left to do"
sky_run again "$RECONCILE" apply "$PLAN"
sky_expect_rc 1 "the same plan again is stale"
sky_assert_contains "$SKY_ERR" "stale plan" "and says so"

sky_check "a plan made before the cascade changed is refused"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1|paused: true" -- public.t
sky_run dry-run-3 "$RECONCILE" -f "$TOPO" --dry-run --out "$PLAN"
sky_expect_rc 2 "a pause is planned"
sky_psql db2 -c "select pgq_set.set_parallel_copies('app', 3)" >/dev/null
sky_run stale-state "$RECONCILE" apply "$PLAN"
sky_expect_rc 1 "refused"
sky_assert_contains "$SKY_ERR" "stale plan: the cascade changed since the plan was made" "the error says why"
sky_assert_eq "$(sky_psql db2 -c "select paused from pgq_set.get_node('app')")" f "db2 was not paused"

sky_check "a plan made before topology.yaml changed is refused"
sky_run dry-run-4 "$RECONCILE" -f "$TOPO" --dry-run --out "$PLAN"
sky_expect_rc 2 "planned"
echo "# edited" >>"$TOPO"
sky_run stale-rev "$RECONCILE" apply "$PLAN"
sky_expect_rc 1 "refused"
sky_assert_contains "$SKY_ERR" "stale plan: it was made from revision file:" "the error names the revisions"
sky_assert_eq "$(sky_psql db2 -c "select paused from pgq_set.get_node('app')")" f "db2 was not paused"

sky_check "a plan with problems is not saved"
rm -f "$PLAN"
sky_psql db1 -c "create table public.nopk (v text)"
sky_topology_write_nodes "$TOPO" "db1 root" "db2 leaf db1" -- public.t public.nopk
sky_run dry-run-5 "$RECONCILE" -f "$TOPO" --dry-run --out "$PLAN"
sky_expect_rc 1 "problems"
[ ! -e "$PLAN" ] || sky_fail "a plan with problems was saved"
sky_ok "saved plans"
