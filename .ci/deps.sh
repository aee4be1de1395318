#!/usr/bin/env bash
# Install the Debian 12 packages skycascade needs to build and test: only what is missing, quietly,
# non-interactively. Nothing is done (and apt is not touched) when everything is present.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config libpq-dev libyaml-dev libgit2-dev libjansson-dev check valgrind clang-format
	postgresql-15 postgresql-15-pgq3 pgqd postgresql-client-15 postgresql-server-dev-15 iproute2 procps
	python3 python3-yaml python3-jsonschema git
	clang dpkg-dev scdoc man-db systemd
	libmicrohttpd-dev prometheus graphviz curl locales
)

# test 12 formats money with lc_monetary de_DE: generate that locale when it is missing
ensure_locale() {
	locale -a 2>/dev/null | grep -qx 'de_DE.utf8' && return 0
	if [ "$(id -u)" = 0 ] && command -v localedef >/dev/null; then
		localedef -i de_DE -f UTF-8 de_DE.UTF-8 && echo "deps: generated locale de_DE.UTF-8"
	else
		echo "deps: locale de_DE.UTF-8 missing (test 12 then leaves money formatting out)" >&2
	fi
}

missing=()
for p in "${PACKAGES[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages are installed"
	ensure_locale
	exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: missing packages and not root (no sudo): ${missing[*]}" >&2
		exit 1
	}
	SUDO=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq </dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" \
	</dev/null >/dev/null
ensure_locale
echo "deps: done"
