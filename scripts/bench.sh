#!/usr/bin/env bash
# Runs Pulse's benchmarks (what `make bench` runs): installs what they need
# when it is missing, then runs scripts/bench, which measures every figure
# next to its baseline in the same run, prints one markdown table and writes
# it to bench/results.md. Benchmarks report; they fail only when something
# breaks. Flags after `--` go to scripts/bench (see `go run ./scripts/bench -h`).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

have() { command -v "$1" >/dev/null 2>&1; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi

install_debs() {
	if [ -n "$sudo" ] && ! have sudo; then
		echo "bench.sh: need root or sudo to apt-get install $*" >&2
		exit 1
	fi
	echo "bench.sh: installing $* (apt-get)"
	# Installing nginx must not start a system nginx on port 80: a
	# policy-rc.d that refuses every service start, for the install only.
	local policy=/usr/sbin/policy-rc.d added=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		added=1
	fi
	$sudo apt-get update -qq
	local rc=0
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
	if [ -n "$added" ]; then
		$sudo rm -f "$policy"
	fi
	return $rc
}

missing=()
have chromium || have chromium-browser || have google-chrome || missing+=(chromium)
have node || missing+=(nodejs)
have nginx || [ -x /usr/sbin/nginx ] || missing+=(nginx)
have wrk || missing+=(wrk)
have ffmpeg || missing+=(ffmpeg)
have brotli || missing+=(brotli)
have gzip || missing+=(gzip)
if [ ${#missing[@]} -gt 0 ]; then
	install_debs "${missing[@]}"
fi

# wasmbrowsertest runs a wasm test binary in headless Chromium (the MP3
# decoding figure in a browser).
GOBIN_DIR="$($GO env GOPATH)/bin"
if ! have wasmbrowsertest && [ ! -x "$GOBIN_DIR/wasmbrowsertest" ]; then
	echo "bench.sh: installing wasmbrowsertest (go install)"
	$GO install github.com/agnivade/wasmbrowsertest@v0.11.0
fi
export PATH="$PATH:$GOBIN_DIR:/usr/sbin"

$GO mod download github.com/hajimehoshi/go-mp3
exec $GO run ./scripts/bench "$@"
