package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// mp3: go-mp3 decoding classic.mp3 natively, as wasm under Node.js and in
// Chromium (the same testing.B benchmark, wasm/mp3 BenchmarkDecode), in
// times faster than real time, against ffmpeg on the same file.
func (b *bench) mp3(ctx context.Context) error {
	ff, err := b.ffmpegSpeed(ctx)
	if err != nil {
		return err
	}
	native, err := b.goBench(ctx, goBenchRun{pkg: "./wasm/mp3", bench: "^BenchmarkDecode$", benchtime: "1x"})
	if err != nil {
		return err
	}
	bin := b.tmpPath("mp3.test")
	if err := b.buildWasmTest(ctx, "./wasm/mp3", bin); err != nil {
		return err
	}
	node, err := b.goBench(ctx, goBenchRun{bin: bin, exec: filepath.Join(runtime.GOROOT(), "lib", "wasm", "go_js_wasm_exec"),
		bench: "^BenchmarkDecode$", benchtime: "1x"})
	if err != nil {
		return fmt.Errorf("under Node.js: %w", err)
	}
	wbt, err := exec.LookPath("wasmbrowsertest")
	if err != nil {
		return fmt.Errorf("wasmbrowsertest is not installed (scripts/bench.sh installs it): %w", err)
	}
	chrome, err := b.goBench(ctx, goBenchRun{bin: bin, exec: wbt, bench: "^BenchmarkDecode$", benchtime: "1x"})
	if err != nil {
		return fmt.Errorf("in Chromium: %w", err)
	}
	const base = "ffmpeg"
	for _, r := range []struct {
		name string
		res  benchResult
	}{
		{"go-mp3 decoding classic.mp3, native", native},
		{"go-mp3 decoding classic.mp3, wasm in Node.js", node},
		{"go-mp3 decoding classic.mp3, wasm in Chromium", chrome},
	} {
		v, ok := r.res.metric("BenchmarkDecode", "realtime-x")
		if !ok {
			return fmt.Errorf("%s: no realtime-x in the benchmark output", r.name)
		}
		b.rep.add("mp3", r.name, v, ff, fmtX, base, nil)
	}
	b.rep.note("mp3", "wasm/mp3 BenchmarkDecode (testing.B, one iteration: 355 s of 256 kbps stereo) decodes the whole file into PCM that is "+
		"thrown away; the same test binary runs natively, under Node.js (go_js_wasm_exec) and in headless Chromium (wasmbrowsertest), "+
		"with the file read before the timer starts. Baseline: `ffmpeg -i classic.mp3 -f null -`, its -benchmark real time, median of 3.")
	return nil
}

var ffRtime = regexp.MustCompile(`rtime=([0-9.]+)s`)

// ffmpegSpeed returns how many times faster than real time ffmpeg decodes
// classic.mp3 (median of three runs).
func (b *bench) ffmpegSpeed(ctx context.Context) (float64, error) {
	var xs []float64
	for range 3 {
		out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostats", "-benchmark", "-i", b.classic, "-f", "null", "-").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("ffmpeg: %w\n%s", err, tail(string(out), 1000))
		}
		m := ffRtime.FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("ffmpeg printed no benchmark line:\n%s", tail(string(out), 1000))
		}
		s, _ := strconv.ParseFloat(string(m[1]), 64)
		xs = append(xs, classicSeconds/s)
	}
	return median(xs), nil
}

// goBenchRun is one run of Go benchmarks: a package natively, or a test
// binary through an exec wrapper (Node.js, Chromium).
type goBenchRun struct {
	pkg        string // package to `go test`, natively
	bin, exec  string // or: a test binary and the program that runs it
	bench      string
	benchtime  string
	cpuprofile string
	env        []string
}

// benchResult maps "BenchmarkName unit" to its value.
type benchResult map[string]float64

func (r benchResult) metric(name, unit string) (float64, bool) {
	v, ok := r[name+" "+unit]
	return v, ok
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func (b *bench) goBench(ctx context.Context, r goBenchRun) (benchResult, error) {
	args := []string{"-test.run=^$", "-test.bench=" + r.bench, "-test.benchtime=" + r.benchtime, "-test.count=1"}
	var cmd *exec.Cmd
	if r.pkg != "" {
		gargs := []string{"test", "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime, "-count", "1"}
		if r.cpuprofile != "" {
			gargs = append(gargs, "-cpuprofile", r.cpuprofile, "-o", strings.TrimSuffix(r.cpuprofile, ".cpu")+".test")
		}
		cmd = exec.CommandContext(ctx, "go", append(gargs, r.pkg)...)
	} else {
		cmd = exec.CommandContext(ctx, r.exec, append([]string{r.bin}, args...)...)
	}
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "PULSE_MP3_DIR="+b.mp3Dir)
	cmd.Env = append(cmd.Env, r.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail(string(out), 3000))
	}
	res := benchResult{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil && !math.IsNaN(v) {
				res[m[1]+" "+f[i+1]] = v
			}
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("%s printed no benchmark result:\n%s", strings.Join(cmd.Args, " "), tail(string(out), 3000))
	}
	return res, nil
}

// buildWasmTest compiles a package's tests for js/wasm.
func (b *bench) buildWasmTest(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, pkg)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s tests for wasm: %w\n%s", pkg, err, msg)
	}
	return nil
}
