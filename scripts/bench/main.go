// Command bench measures Pulse against its baselines, side by side, in one
// run: it is what `make bench` runs (through scripts/bench.sh, which
// installs the tools first). It starts `bin/pulse serve` on a free port with
// a temporary data folder, nginx on a temporary configuration, a webhook
// receiver and a static server for the baseline pages on other origins, and
// headless Chromium; it measures every figure next to a baseline taken in
// the same run (these machines are shared and noisy, so ratios matter more
// than absolute numbers), prints one markdown table and writes it, with the
// machine's description, to bench/results.md.
//
// Benchmarks report; they do not fail: the exit status is non-zero only
// when a measurement breaks (a server that does not start, a page that
// never arms, a tool that fails).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// sections in the order they run; -only picks some.
var sections = []string{"size", "startup", "heartbeat", "seek", "mp3", "memory", "api", "scale", "micro"}

type options struct {
	out       string
	only      []string
	loads     int
	play      time.Duration
	plays     int
	seeks     int
	load      time.Duration
	scaleLoad time.Duration
	keep      bool
}

func main() {
	var o options
	var only string
	flag.StringVar(&o.out, "out", "bench/results.md", "where to write the results (markdown); empty: print only")
	flag.StringVar(&only, "only", "", "comma-separated sections to run (default all): "+strings.Join(sections, ","))
	flag.IntVar(&o.loads, "loads", 20, "fresh page loads per page for the start-up figure")
	flag.DurationVar(&o.play, "play", 60*time.Second, "playing time of the heartbeat timing figure (at RPM 60)")
	flag.IntVar(&o.plays, "plays", 10, "fresh page loads per page for the first play click figure")
	flag.IntVar(&o.seeks, "seeks", 20, "seeks to random positions per page for the seek figure")
	flag.DurationVar(&o.load, "load", 10*time.Second, "duration of each config API load test")
	flag.DurationVar(&o.scaleLoad, "scale-load", 3*time.Second, "duration of each load test of the scale sketch")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary folder (data, logs, profiles)")
	floor := flag.String("serve-floor", "", "internal: serve this file's bytes with a minimal net/http server (the config API's Go ceiling)")
	flag.Parse()
	if *floor != "" {
		if err := serveFloor(*floor); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if only != "" {
		for _, s := range strings.Split(only, ",") {
			if !slices.Contains(sections, s) {
				fmt.Fprintf(os.Stderr, "bench: unknown section %q (have %s)\n", s, strings.Join(sections, ", "))
				os.Exit(2)
			}
			o.only = append(o.only, s)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	start := time.Now()
	b, err := setup(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.close(); err == nil {
			err = cerr
		}
	}()

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"size", b.size},
		{"startup", b.startup},
		{"heartbeat", b.heartbeat},
		{"seek", b.seek},
		{"mp3", b.mp3},
		{"memory", b.memory},
		{"api", b.api},
		{"scale", b.scale},
		{"micro", b.micro},
	}
	for _, s := range steps {
		if len(o.only) > 0 && !slices.Contains(o.only, s.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		b.logf("== %s", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		b.logf("   %s took %s", s.name, time.Since(t).Round(time.Second))
	}
	b.rep.took = time.Since(start)
	b.rep.loadEnd = loadAvg()

	md := b.rep.markdown()
	fmt.Println()
	fmt.Print(md)
	if o.out != "" {
		if err := writeAtomic(o.out, []byte(md)); err != nil {
			return err
		}
		b.logf("wrote %s (%s in all)", o.out, time.Since(start).Round(time.Second))
	}
	return nil
}

// writeAtomic writes a file through a temporary sibling and a rename, so
// that an interrupted run never leaves half a results file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

var errSkip = errors.New("skipped")
