#!/usr/bin/env bash
# Runs every Pulse test: native unit tests, the wasm packages under Node.js,
# and the end-to-end tests in headless Chromium. Installs what is missing
# first (Debian packages need root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

have() { command -v "$1" >/dev/null 2>&1; }

install_debs() {
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		have sudo || { echo "test.sh: need root or sudo to apt-get install $*" >&2; exit 1; }
		sudo=sudo
	fi
	echo "test.sh: installing $* (apt-get)"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL's programs (Debian keeps them out of PATH).
pg_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
}

missing=()
have chromium || have chromium-browser || have google-chrome || missing+=(chromium)
have node || missing+=(nodejs)
[ -n "$(pg_bin)" ] || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
	install_debs "${missing[@]}"
fi

step() { printf '\n== %s\n' "$*"; }

# Real recordings for the tests, from go-mp3's module (wasm tests under
# Node.js cannot run `go list` themselves).
$GO mod download github.com/hajimehoshi/go-mp3
PULSE_MP3_DIR="$($GO list -m -f '{{.Dir}}' github.com/hajimehoshi/go-mp3)/example"
export PULSE_MP3_DIR

# A throwaway PostgreSQL for the store suite and the multi-instance tests:
# a cluster in a temporary folder, on 127.0.0.1 and a free port. Tests that
# need a cluster of their own (pgtest.StartCluster) make it under
# PULSE_TEST_PG_ROOT, in the same folder. When this script exits, however
# it exits, every cluster found there is stopped, and the folder removed:
# a test killed by a timeout or Ctrl-C cannot stop its own. initdb refuses
# to run as root: as root, the clusters run as the user postgres (or
# nobody).
PG_BIN=$(pg_bin)
TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/pulse-test.XXXXXX")
chmod 755 "$TEST_ROOT" # the clusters' user must reach its folders in it
PG_DIR=$TEST_ROOT/pg
export PULSE_TEST_PG_ROOT=$TEST_ROOT/clusters
mkdir "$PG_DIR" "$PULSE_TEST_PG_ROOT"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	pg_user=postgres
	id "$pg_user" >/dev/null 2>&1 || pg_user=nobody
	chown "$pg_user" "$PG_DIR"
	as_pg=(runuser -u "$pg_user" --)
fi
pg() { (cd "$PG_DIR" && "${as_pg[@]}" "$PG_BIN/$@"); }
stop_postgres() {
	PULSE_TEST_PG_BIN=$PG_BIN scripts/stop-test-postgres.sh "$TEST_ROOT"
}
trap stop_postgres EXIT
trap 'exit 130' INT TERM

start_postgres() {
	step "start a throwaway PostgreSQL ($PG_BIN)"
	if ! pg initdb -D "$PG_DIR/data" -U pulse --auth=trust -E UTF8 --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		exit 1
	fi
	local port try
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # taken
		if pg pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start -o \
			"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
			export PULSE_TEST_DATABASE_URL="postgres://pulse@127.0.0.1:$port/postgres?sslmode=disable"
			export PULSE_TEST_PG_BIN="$PG_BIN" # for tests that run a cluster of their own
			echo "PostgreSQL is listening on 127.0.0.1:$port"
			return
		fi
	done
	cat "$PG_DIR/postgres.log" >&2
	echo "test.sh: PostgreSQL did not start" >&2
	exit 1
}
start_postgres

step "build the player wasm"
make --no-print-directory wasm

step "gofmt and go vet"
unformatted=$(gofmt -l server wasm web scripts)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" $unformatted >&2
	exit 1
fi
$GO vet ./...
GOOS=js GOARCH=wasm $GO vet ./wasm/...

step "unit and end-to-end tests (native, headless Chromium)"
PULSE_REQUIRE_E2E=1 $GO test -count=1 -timeout 15m ./...

step "wasm tests under Node.js"
GOOS=js GOARCH=wasm $GO test -count=1 -exec="$($GO env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/...

# The Web Audio and main-thread code needs a browser: wasmbrowsertest runs
# the same test binaries in headless Chromium (it finds chromium on PATH and
# adds --no-sandbox as root). Its old DevTools protocol tables log a line
# for each event type newer than them: noise, dropped here.
step "wasm tests in headless Chromium (wasmbrowsertest)"
GOBIN_DIR="$($GO env GOBIN)"
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$($GO env GOPATH)/bin"
if ! have wasmbrowsertest && [ ! -x "$GOBIN_DIR/wasmbrowsertest" ]; then
	echo "test.sh: installing wasmbrowsertest (go install)"
	$GO install github.com/agnivade/wasmbrowsertest@v0.11.0
fi
WBT=$(command -v wasmbrowsertest || echo "$GOBIN_DIR/wasmbrowsertest")
PULSE_REQUIRE_BROWSER=1 GOOS=js GOARCH=wasm $GO test -count=1 -timeout 5m -exec="$WBT" ./wasm/media/ ./wasm/browser/ 2>&1 |
	{ grep -v -e 'unknown IPAddressSpace value' -e 'Go program has already exited' -e 'at globalThis.Go._resume' -e 'at MessagePort.<anonymous>' -e 'wasm_exec.js:[0-9]*:[0-9]* Uncaught' || true; }

step "all tests passed"
