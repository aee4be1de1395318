#!/usr/bin/env bash
# The skycascade demo: builds the project, starts one throwaway PostgreSQL 15 per node of
# examples/three-node.yaml (root -> branch -> leaf) on free local ports, reconciles the topology
# (plan, then apply), runs pgqd and one skyworker per node, puts pgbench load on the root for ~10 s
# and shows that every node ends with the same data. Everything it started is stopped at the end.
#   bash examples/demo.sh          (SKY_DEMO_SECONDS=N for a longer load)
#   SKY_BIN_DIR=/usr/bin bash examples/demo.sh   runs the installed programs instead of building
#   (SKY_WORKER_DSN_ENV=1 gives the workers their DSN in SKYWORKER_DSN, as skyworker@.service does)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
example=$top/examples/three-node.yaml
seconds=${SKY_DEMO_SECONDS:-10}

echo "== dependencies"
bash "$top/.ci/deps.sh"
build=${SKY_BUILD_DIR:-$top/build}
if [ -n "${SKY_BIN_DIR:-}" ]; then
	echo "== the programs in $SKY_BIN_DIR (no build)"
else
	echo "== build ($build)"
	buildlog=$(mktemp)
	if ! { cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
		cmake --build "$build" -j "$(nproc)"; } >"$buildlog" 2>&1; then
		cat "$buildlog" >&2
		echo "build failed" >&2
		exit 1
	fi
	rm -f "$buildlog"
fi

export SKY_TEST_NAME=demo SKY_SOURCE_DIR=$top SKY_BUILD_DIR=$build
# shellcheck source=tests/lib/harness.sh
source "$top/tests/lib/harness.sh"
sky_need_bin "$(sky_reconcile_bin)"
sky_need_bin "$(sky_worker_bin)"
"$(sky_reconcile_bin)" --version
"$(sky_worker_bin)" --version

# node names and roles in file order ("name role" lines), flow or block style
mapfile -t node_roles < <(awk '
	/^[^ #]/ { in_nodes = ($0 ~ /^nodes:/); node = ""; next }
	in_nodes && /^  [a-z0-9_]+:/ {
		match($0, /[a-z0-9_]+/); node = substr($0, RSTART, RLENGTH); order[++n] = node
	}
	in_nodes && node != "" && match($0, /role: *[a-z]+/) {
		r = substr($0, RSTART, RLENGTH); sub(/role: */, "", r); role[node] = r
	}
	END { for (i = 1; i <= n; i++) print order[i], role[order[i]] }' "$example")
[ ${#node_roles[@]} -gt 0 ] || sky_fail "no nodes found in $example"

nodes=()
leaves=()
declare -A roles=()
for nr in "${node_roles[@]}"; do
	read -r node role <<<"$nr"
	nodes+=("$node")
	roles[$node]=$role
	case $role in
	root) SKY_ROOT=$node ;;
	*) leaves+=("$node") ;;
	esac
done

echo "== one PostgreSQL 15 per node, each with pgbench -i (the same tables and rows everywhere)"
for node in "${nodes[@]}"; do
	sky_pg_new "$node"
	sky_pgbench "$node" -i -s 1 -q >"$SKY_TMP/log/$node.pgbench-init.log" 2>&1 ||
		sky_fail "pgbench -i on $node failed"
	export "SKY_DEMO_DSN_$node=$(sky_dsn "$node")"
done

# The example's DSNs point at hosts of its own: use the throwaway instances instead.
topo=$SKY_TMP/three-node.yaml
awk '
	/^[^ #]/ { in_nodes = ($0 ~ /^nodes:/); node = "" }
	in_nodes && /^  [a-z0-9_]+:/ { match($0, /[a-z0-9_]+/); node = substr($0, RSTART, RLENGTH) }
	in_nodes && node != "" {
		sub(/dsn: *("[^"]*"|\047[^\047]*\047|[^,}]*)/, "dsn: \"" ENVIRON["SKY_DEMO_DSN_" node] "\"")
	}
	{ print }' "$example" >"$topo"
# its tables ("- name", "- {name: ...}" or "- name: ..."), whose md5s are compared at the end
mapfile -t TABLES < <(awk '
	/^[^ #]/ { in_tables = ($0 ~ /^tables:/); next }
	in_tables && /^ *- / {
		t = $0; sub(/[ \t]+#.*$/, "", t); sub(/^ *- */, "", t); sub(/^\{? *name: */, "", t)
		sub(/[,}].*$/, "", t)
		gsub(/^["\047]|["\047] *$/, "", t); print t
	}' "$example")
[ ${#TABLES[@]} -gt 0 ] || sky_fail "no tables found in $example"
for node in "${nodes[@]}"; do
	grep -qF "port=$(sky_port "$node") " "$topo" || sky_fail "could not rewrite the DSN of $node in $topo"
done
echo "== $example, rewritten for this demo:"
sed 's/^/  | /' "$topo"

echo "== skyreconcile --dry-run: the plan"
rc=0
"$(sky_reconcile_bin)" -f "$topo" --dry-run || rc=$?
[ "$rc" = 2 ] || sky_fail "skyreconcile --dry-run exited with $rc, expected 2 (changes to make)"
echo "== skyreconcile: apply"
"$(sky_reconcile_bin)" -f "$topo"
echo "== skyreconcile --dry-run again: nothing left to do"
"$(sky_reconcile_bin)" -f "$topo" --dry-run

echo "== pgqd and one skyworker per node (logs in $SKY_TMP/log)"
sky_pgqd_start "${nodes[@]}"
for node in "${nodes[@]}"; do
	sky_worker_start "$node"
done
sky_wait_caught_up "${leaves[@]}" 120

echo "== pgbench on the root $SKY_ROOT for ${seconds}s"
sky_pgbench "$SKY_ROOT" -n -c 4 -j 2 -T "$seconds" >"$SKY_TMP/log/pgbench.out" 2>&1 ||
	sky_fail "pgbench failed: $(tail -n 5 "$SKY_TMP/log/pgbench.out")"
grep -E '^(number of transactions actually processed|tps)' "$SKY_TMP/log/pgbench.out" | sed 's/^/  /'

echo "== waiting until every node has applied everything"
sky_wait_caught_up "${leaves[@]}" 300

echo "== md5 of each table, per node"
line=$(printf '  %-18s' table)
for node in "${nodes[@]}"; do
	line+=$(printf ' %-34s' "$node (${roles[$node]})")
done
echo "${line%"${line##*[! ]}"}"
for t in "${TABLES[@]}"; do
	line=$(printf '  %-18s' "${t#public.}")
	for node in "${nodes[@]}"; do
		line+=$(printf ' %-34s' "$(sky_table_md5 "$node" "$t")")
	done
	echo "${line%"${line##*[! ]}"}"
done
for t in "${TABLES[@]}"; do
	sky_assert_tables_equal "$t" "${nodes[@]}" >/dev/null
done
echo "== every node holds the root's data: leaf == branch == root"
