#!/usr/bin/env bash
# The test command (README, CI): dependencies, build (-Werror), every CTest test (unit + integration),
# the unit tests again under ASan+UBSan, and each unit test binary under valgrind; then the builds
# packagers make (Release, Debian's dpkg-buildflags, clang; all -Werror), the .deb (cpack), installed
# with apt-get and checked: the installed programs run the demo's cascade, the man pages render, the
# systemd units pass systemd-analyze verify.
# Arguments are passed to the first ctest run, e.g. `bash tests/run.sh -L unit` or `-R 01_`.
# Exit status 0 only when everything passed; the last line is "N passed, N failed".
# Build directories: $SKY_BUILD_DIR (default build/), $SKY_ASAN_BUILD_DIR (default build-asan/),
# build-release/ (the package is made there), build-dpkg/ and build-clang/.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
bdir=${SKY_BUILD_DIR:-build}
adir=${SKY_ASAN_BUILD_DIR:-build-asan}
rdir=build-release
ddir=build-dpkg
cdir=build-clang
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

say "build: $rdir (Release, -Werror, prefix /usr: the package is made from it)"
release_ok=0
if build "$rdir" -DCMAKE_BUILD_TYPE=Release -DSKY_WERROR=ON -DSKY_SANITIZE=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr; then
	ok "build $rdir"
	release_ok=1
else
	fail "build $rdir"
fi

say "build: $ddir (Debian's dpkg-buildflags with hardening=+all, -Werror)"
if (
	eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)" &&
		build "$ddir" -DCMAKE_BUILD_TYPE=None -DSKY_WERROR=ON -DSKY_SANITIZE=OFF \
			-DCMAKE_C_FLAGS="$CFLAGS $CPPFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS"
); then
	ok "build $ddir"
else
	fail "build $ddir"
fi

say "build: $cdir (clang, Release, -Werror)"
if build "$cdir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DSKY_WERROR=ON \
	-DSKY_SANITIZE=OFF; then
	ok "build $cdir"
else
	fail "build $cdir"
fi

say "package: cpack -G DEB in $rdir, apt-get install"
deb=""
if ((release_ok)) && rm -f "$rdir"/skycascade_*.deb && (cd "$rdir" && cpack -G DEB >/dev/null); then
	deb=$(ls "$rdir"/skycascade_*.deb)
	ok "cpack -G DEB: $deb"
else
	fail "cpack -G DEB"
fi
if [ -n "$deb" ]; then
	# what the package must declare and carry
	depends=$(dpkg-deb -f "$deb" Depends)
	contents=$(dpkg-deb -c "$deb")
	missing=()
	for p in libpq5 libyaml-0-2 libgit2-1.5 libjansson4 libmicrohttpd12 postgresql-15-pgq3 pgqd adduser; do
		grep -Eq "(^|, )$p( |,|$)" <<<"$depends" || missing+=("Depends: $p")
	done
	for f in ./usr/bin/skyworker ./usr/bin/skyreconcile ./usr/share/man/man1/skyworker.1.gz \
		./usr/share/man/man1/skyreconcile.1.gz ./usr/share/man/man5/topology.yaml.5.gz \
		./lib/systemd/system/skyworker@.service ./lib/systemd/system/skyreconcile-watch.service \
		./usr/share/skycascade/topology.schema.json ./usr/share/skycascade/pgqd.ini \
		./usr/share/skycascade/examples/three-node.yaml \
		./usr/lib/postgresql/15/lib/pgq_set_capture.so; do
		grep -q " $f\$" <<<"$contents" || missing+=("file $f")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok "package fields and contents (Depends: $depends)"
	else
		printf '  missing: %s\n' "${missing[@]}"
		fail "package fields and contents"
	fi
	# --reinstall: a package of the same version installed before (a rerun) is replaced too
	if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall -o Dpkg::Use-Pty=0 "./$deb" \
		</dev/null >/dev/null && getent passwd skycascade >/dev/null; then
		ok "apt-get install ./$deb (user skycascade created)"
	else
		fail "apt-get install ./$deb"
		deb=""
	fi
fi

if [ -n "$deb" ]; then
	say "installed programs: --version, then the demo's cascade with /usr/bin/skyworker and /usr/bin/skyreconcile"
	v_worker=$(/usr/bin/skyworker --version)
	v_reconcile=$(/usr/bin/skyreconcile --version)
	if [ "$v_worker" = "$("$rdir/worker/skyworker" --version)" ] &&
		[ "${v_worker#skyworker }" = "${v_reconcile#skyreconcile }" ]; then
		ok "--version: $v_worker; $v_reconcile"
	else
		fail "--version: installed \"$v_worker\" / \"$v_reconcile\", built \"$("$rdir/worker/skyworker" --version)\""
	fi
	# the workers get their DSN in SKYWORKER_DSN, as skyworker@.service gives it
	if SKY_BIN_DIR=/usr/bin SKY_WORKER_DSN_ENV=1 SKY_DEMO_SECONDS=3 bash "$top/examples/demo.sh" \
		</dev/null; then
		ok "demo with the installed programs"
	else
		fail "demo with the installed programs"
	fi

	say "man pages: man -l renders the installed pages"
	man_err=$(mktemp)
	for page in man1/skyworker.1:SKYWORKER_DSN man1/skyreconcile.1:--dry-run \
		man5/topology.yaml.5:parallel_copies; do
		file=/usr/share/man/${page%%:*}.gz
		text=$(MANWIDTH=100 man --warnings -l "$file" 2>"$man_err")
		rc=$?
		if [ "$rc" = 0 ] && [ ! -s "$man_err" ] && grep -q '^NAME' <<<"$text" &&
			grep -qF -- "${page#*:}" <<<"$text"; then
			ok "man -l $file"
		else
			cat "$man_err"
			fail "man -l $file (exit $rc)"
		fi
	done
	rm -f "$man_err"

	say "systemd units: systemd-analyze verify (the installed units and programs)"
	for unit in /lib/systemd/system/skyworker@.service /lib/systemd/system/skyreconcile-watch.service; do
		out=$(systemd-analyze verify "$unit" 2>&1)
		rc=$?
		if [ "$rc" = 0 ] && [ -z "$out" ]; then
			ok "systemd-analyze verify $unit"
		else
			printf '%s\n' "$out"
			fail "systemd-analyze verify $unit (exit $rc)"
		fi
	done
fi

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
