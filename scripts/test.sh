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

missing=()
have chromium || have chromium-browser || have google-chrome || missing+=(chromium)
have node || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
	install_debs "${missing[@]}"
fi

step() { printf '\n== %s\n' "$*"; }

# Real recordings for the tests, from go-mp3's module (wasm tests under
# Node.js cannot run `go list` themselves).
$GO mod download github.com/hajimehoshi/go-mp3
PULSE_MP3_DIR="$($GO list -m -f '{{.Dir}}' github.com/hajimehoshi/go-mp3)/example"
export PULSE_MP3_DIR

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

step "all tests passed"
