#!/usr/bin/env bash
# The test command (README, CI): dependencies, build (-Werror), every CTest test (unit + integration),
# the unit tests again under ASan+UBSan, and each unit test binary under valgrind.
# Arguments are passed to the first ctest run, e.g. `bash tests/run.sh -L unit` or `-R 01_`.
# Exit status 0 only when everything passed; the last line is "N passed, N failed".
# Build directories: $SKY_BUILD_DIR (default build/) and $SKY_ASAN_BUILD_DIR (default build-asan/).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
bdir=${SKY_BUILD_DIR:-build}
adir=${SKY_ASAN_BUILD_DIR:-build-asan}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=()
start=$SECONDS

say() { printf '\n=== [%4ds] %s\n' "$((SECONDS - start))" "$*"; }
ok() {
	passed=$((passed + ${2:-1}))
	printf '=== ok: %s\n' "$1"
}
fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
	printf '=== FAILED: %s\n' "$1"
}

# run_ctest WHAT DIR [ctest args]: count each test; a run without a summary line counts as one failure
run_ctest() {
	local what=$1 dir=$2 log rc=0 line n_failed n_total
	shift 2
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure --no-tests=error "$@") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		fail "$what (ctest exited with $rc)"
		return
	fi
	n_failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
	n_total=$(sed -E 's/.*failed out of ([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + n_total - n_failed))
	if ((n_failed > 0 || rc != 0)); then
		fail "$what: $n_failed of $n_total tests" "$((n_failed > 0 ? n_failed : 1))"
	else
		printf '=== ok: %s: %s tests\n' "$what" "$n_total"
	fi
}

# build DIR [cmake args]
build() {
	local dir=$1
	shift
	cmake -S "$top" -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j "$jobs"
}

say "dependencies (.ci/deps.sh)"
if bash "$top/.ci/deps.sh"; then ok "dependencies"; else fail "dependencies"; fi

say "build: $bdir (RelWithDebInfo, -Werror)"
if build "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKY_WERROR=ON -DSKY_SANITIZE=OFF; then
	ok "build $bdir"
	say "ctest in $bdir (unit + integration)"
	run_ctest "ctest $bdir" "$bdir" "$@"
else
	fail "build $bdir"
fi

say "build: $adir (ASan + UBSan)"
if build "$adir" -DCMAKE_BUILD_TYPE=Debug -DSKY_WERROR=ON -DSKY_SANITIZE=ON; then
	ok "build $adir"
	say "unit tests under ASan + UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_ctest "ctest $adir -L unit" "$adir" -L unit
else
	fail "build $adir"
fi

say "unit tests under valgrind (CK_FORK=no)"
units=()
if [ -d "$bdir/tests" ]; then
	mapfile -t units < <(find "$bdir/tests" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort)
fi
if [ ${#units[@]} -eq 0 ]; then
	fail "valgrind: no unit test binaries in $bdir/tests"
fi
for bin in "${units[@]}"; do
	if CK_FORK=no SKY_TEST_DATA="$top/tests/unit/data" SKY_SOURCE_DIR="$top" \
		valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
		"$bin"; then
		ok "valgrind $(basename "$bin")"
	else
		fail "valgrind $(basename "$bin")"
	fi
done

say "code style: clang-format (.clang-format) on every tracked C file"
if command -v clang-format >/dev/null 2>&1; then
	unformatted=()
	while IFS= read -r f; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
	done < <(git ls-files '*.c' '*.h' 2>/dev/null || find common reconciler worker tests -name '*.[ch]')
	if [ ${#unformatted[@]} -eq 0 ]; then
		ok "clang-format"
	else
		printf '  not formatted: %s\n' "${unformatted[@]}"
		fail "clang-format"
	fi
else
	fail "clang-format is not installed"
fi

say "summary ($((SECONDS - start))s)"
for f in "${failures[@]}"; do
	printf '  failed: %s\n' "$f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
