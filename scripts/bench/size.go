package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// size: the player wasm raw, gzip -9 and brotli -q 11 against the empty Go
// wasm, and everything the player page downloads against the JavaScript
// baseline page.
func (b *bench) size(ctx context.Context) error {
	empty, err := b.emptyWasm(ctx)
	if err != nil {
		return err
	}
	player := filepath.Join(b.root, "web/static/player.wasm")
	type sizes struct{ raw, gz, br float64 }
	measure := func(path string) (sizes, error) {
		st, err := os.Stat(path)
		if err != nil {
			return sizes{}, err
		}
		gz, err := compressed(ctx, path, "gzip", "-9", "-c")
		if err != nil {
			return sizes{}, err
		}
		br, err := compressed(ctx, path, "brotli", "-q", "11", "-c")
		if err != nil {
			return sizes{}, err
		}
		return sizes{float64(st.Size()), gz, br}, nil
	}
	p, err := measure(player)
	if err != nil {
		return err
	}
	e, err := measure(empty)
	if err != nil {
		return err
	}
	const base = "empty Go wasm"
	b.rep.add("size", "player.wasm, raw", p.raw, e.raw, fmtKB, base, nil)
	b.rep.add("size", "player.wasm, gzip -9", p.gz, e.gz, fmtKB, base, nil)
	deps, err := b.output(ctx, "env", "GOOS=js", "GOARCH=wasm", "go", "list", "-deps", "./wasm/cmd/player")
	if err != nil {
		return err
	}
	if !strings.Contains(deps, "github.com/hajimehoshi/go-mp3\n") {
		return errors.New("the player no longer links go-mp3 (go list -deps ./wasm/cmd/player): the size target is for a player with it")
	}
	b.rep.add("size", "player.wasm, brotli -q 11 (go-mp3 inside)", p.br, e.br, fmtKB, base, atMost("≤ 700 KB with go-mp3", 700e3))
	b.rep.note("size", "Sizes in KB = 1000 bytes. The baseline is a Go wasm whose main only calls syscall/js "+
		"(scripts/bench/emptywasm), built in this run with the player's flags (-trimpath -ldflags=\"-s -w\"): the floor of any Go player. "+
		"The player is web/static/player.wasm as `make wasm` built it; the server sends its brotli copy (%s).", fmtKB(fileSize(player+".br")))
	if err := b.sizeBreakdown(ctx, p.raw); err != nil {
		return err
	}

	// What a first visit downloads, measured in Chromium.
	if _, err := b.main(ctx); err != nil {
		return err
	}
	if err := b.staticServer(ctx); err != nil {
		return err
	}
	pPage, pN, err := b.pageTraffic(ctx, b.playerURL(b.uuid))
	if err != nil {
		return fmt.Errorf("player page: %w", err)
	}
	bPage, bN, err := b.pageTraffic(ctx, b.baselineURL(b.uuid))
	if err != nil {
		return fmt.Errorf("baseline page: %w", err)
	}
	b.rep.add("size", "player page, total download (first visit, the MP3 excepted)", pPage, bPage, fmtKB, "JavaScript baseline page", nil)
	b.rep.note("size", "Page totals: a first visit (HTTP cache disabled) in headless Chromium, the bytes received for every request "+
		"(headers included: CDP Network.loadingFinished encodedDataLength) until 1.5 s after pulse:armed: %d requests for the player page, "+
		"%d for the baseline page (data: URLs not counted). The MP3 itself is left out of both: it is content, not the player "+
		"(the player fetches it as a stream, its first 512 KB before anyone presses play, and the request is still open then; the "+
		"baseline's <audio preload=metadata> request is cancelled by Chromium), so CDP reports no finished size for it.", pN, bN)
	return nil
}

// compressed returns the size of a file compressed by a command line tool.
func compressed(ctx context.Context, path, tool string, args ...string) (float64, error) {
	out, err := exec.CommandContext(ctx, tool, append(args, path)...).Output()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", tool, strings.Join(args, " "), err)
	}
	return float64(len(out)), nil
}

func fileSize(path string) float64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(st.Size())
}

// pageTraffic loads a page as a first visit and sums what it downloads
// until it is armed and quiet, media files excepted.
func (b *bench) pageTraffic(ctx context.Context, url string) (total float64, n int, err error) {
	t, err := b.newTab(ctx, tabOptions{noCache: true, network: true})
	if err != nil {
		return 0, 0, err
	}
	defer t.close()
	if err := t.navigate(url); err != nil {
		return 0, 0, err
	}
	if _, err := t.waitArmed(30 * time.Second); err != nil {
		return 0, 0, err
	}
	time.Sleep(1500 * time.Millisecond)
	total, n = t.transfer(func(u string) bool {
		isMedia := strings.Contains(u, "/media/") && !strings.HasSuffix(u, "/peaks")
		return !isMedia && !strings.HasPrefix(u, "data:")
	})
	return total, n, nil
}
