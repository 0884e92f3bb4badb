# Pulse: `make run` builds everything and starts the server with demo
# content; `make test` installs what the tests need and runs them all.

GO      ?= go
GOROOT  := $(shell $(GO) env GOROOT)
STATIC  := web/static
WASM    := $(STATIC)/player.wasm
WASM_SRC := $(shell find wasm -name '*.go' -not -name '*_test.go') go.mod go.sum
SERVER_SRC := $(shell find server web -type f -not -name '*_test.go' -not -name '*.wasm*') go.mod go.sum

.PHONY: run test bench wasm build clean

## run: build the player and the server, then serve with demo content on 127.0.0.1:8080
run: build
	@$(GO) mod download github.com/hajimehoshi/go-mp3
	bin/pulse serve --demo-media "$$($(GO) list -m -f '{{.Dir}}' github.com/hajimehoshi/go-mp3)/example"

## test: install missing test tools (Chromium, Node.js), then run unit, wasm and browser tests
test:
	scripts/test.sh

## bench: measure size, start-up, timing and throughput against baselines (BENCH_FLAGS="-only api" for one section)
bench: build
	scripts/bench.sh $(BENCH_FLAGS)

## wasm: build the player wasm (and its precompressed copies) into web/static
wasm: $(WASM).br

## build: the server binary bin/pulse, with the player embedded
build: bin/pulse

bin/pulse: $(WASM).br $(SERVER_SRC)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./server/cmd/pulse

$(WASM): $(WASM_SRC)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $@ ./wasm/cmd/player

$(STATIC)/wasm_exec.js: $(GOROOT)/lib/wasm/wasm_exec.js
	cp $< $@

$(WASM).br: $(WASM) $(STATIC)/wasm_exec.js
	$(GO) run ./scripts/precompress $(WASM) $(STATIC)/wasm_exec.js

clean:
	rm -rf bin $(STATIC)/player.wasm* $(STATIC)/wasm_exec.js*
