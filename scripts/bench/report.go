package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report collects the figures of a run and renders them as markdown.
type report struct {
	machine   [][2]string
	loadStart string
	loadEnd   string
	took      time.Duration
	rows      []row
	notes     map[string][]string // section → lines under the table
	extra     []string            // further markdown blocks (scale sketch, micro-benchmarks, profile)
}

// row is one figure: Pulse's value next to its baseline, the ratio, and
// the target where there is one.
type row struct {
	section  string
	name     string
	pulse    string
	baseline string // value and what it is
	ratio    string
	target   string
	verdict  string // "met", "**missed**" or ""
}

func newReport() *report { return &report{notes: map[string][]string{}} }

// target is a goal a figure is held to: on its value or on its ratio to
// the baseline.
type target struct {
	text string
	ok   func(value, ratio float64) bool
}

func atMost(text string, limit float64) *target {
	return &target{text, func(v, _ float64) bool { return v <= limit }}
}

func ratioAtMost(limit float64) *target {
	return &target{fmt.Sprintf("≤ %g× baseline", limit), func(_, r float64) bool { return r <= limit }}
}

func ratioAtLeast(limit float64) *target {
	return &target{fmt.Sprintf("≥ %g× baseline", limit), func(_, r float64) bool { return r >= limit }}
}

// add records a figure. format renders values; baseName says what the
// baseline is. A NaN baseline means none was measured.
func (r *report) add(section, name string, value, base float64, format func(float64) string, baseName string, t *target) {
	rw := row{section: section, name: name, pulse: format(value)}
	ratio := math.NaN()
	if !math.IsNaN(base) {
		rw.baseline = format(base) + " (" + baseName + ")"
		if base != 0 {
			ratio = value / base
			rw.ratio = fmtRatio(ratio)
		}
	} else {
		rw.baseline = baseName
	}
	if t != nil {
		rw.target = t.text
		if t.ok(value, ratio) {
			rw.verdict = "met"
		} else {
			rw.verdict = "**missed**"
		}
	}
	r.rows = append(r.rows, rw)
}

// addText records a figure that is not a number (such as "unavailable").
func (r *report) addText(section, name, value, baseline, tgt, verdict string) {
	r.rows = append(r.rows, row{section: section, name: name, pulse: value, baseline: baseline, target: tgt, verdict: verdict})
}

func (r *report) note(section, format string, args ...any) {
	r.notes[section] = append(r.notes[section], fmt.Sprintf(format, args...))
}

func fmtRatio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f×", x)
	case x >= 10:
		return fmt.Sprintf("%.1f×", x)
	default:
		return fmt.Sprintf("%.2f×", x)
	}
}

func fmtKB(v float64) string { return fmt.Sprintf("%.0f KB", v/1000) }
func fmtMB(v float64) string { return fmt.Sprintf("%.1f MB", v/1e6) }
func fmtMs(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}
func fmtX(v float64) string { return fmt.Sprintf("%.1f× real time", v) }
func fmtRPS(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1fk req/s", v/1000)
	}
	return fmt.Sprintf("%.0f req/s", v)
}
func fmtNs(v float64) string {
	if v >= 1e6 {
		return fmt.Sprintf("%.2f ms", v/1e6)
	}
	if v >= 1e3 {
		return fmt.Sprintf("%.1f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f ns", v)
}

var sectionTitles = map[string]string{
	"size":      "1. Player size",
	"startup":   "2. Start-up",
	"heartbeat": "3. Heartbeat timing",
	"seek":      "3. Play and seek",
	"mp3":       "4. MP3 decoding",
	"memory":    "4. Player memory",
	"api":       "5. Config API",
}

func (r *report) markdown() string {
	var sb strings.Builder
	sb.WriteString("# Pulse benchmarks\n\n")
	sb.WriteString("Made by `make bench` (scripts/bench.sh → `go run ./scripts/bench`). Every figure is measured in the " +
		"same run as its baseline; the machine is shared, so read the ratios first.\n\n")
	for _, kv := range r.machine {
		fmt.Fprintf(&sb, "- **%s**: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&sb, "- **Load average** (1, 5, 15 min): %s at the start, %s at the end; the run took %s\n\n",
		r.loadStart, r.loadEnd, r.took.Round(time.Second))

	sb.WriteString("| Figure | Pulse | Baseline (same run) | Ratio | Target | |\n")
	sb.WriteString("|---|---:|---:|---:|---|---|\n")
	section := ""
	for _, rw := range r.rows {
		if rw.section != section {
			section = rw.section
			fmt.Fprintf(&sb, "| **%s** | | | | | |\n", sectionTitles[section])
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", rw.name, rw.pulse, rw.baseline, rw.ratio, rw.target, rw.verdict)
	}
	sb.WriteString("\n")
	var order []string
	for _, rw := range r.rows {
		if !slices.Contains(order, rw.section) {
			order = append(order, rw.section)
		}
	}
	for s := range r.notes {
		if !slices.Contains(order, s) {
			order = append(order, s)
		}
	}
	if len(r.notes) > 0 {
		sb.WriteString("## How each figure was measured\n\n")
	}
	for _, s := range order {
		lines := r.notes[s]
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "**%s.**\n", strings.TrimLeft(sectionTitles[s], "0123456789. "))
		for _, l := range lines {
			fmt.Fprintf(&sb, "- %s\n", l)
		}
		sb.WriteString("\n")
	}
	for _, e := range r.extra {
		sb.WriteString(e)
		sb.WriteString("\n")
	}
	return sb.String()
}

// machine describes the machine and the tools of the run.
func (b *bench) machine(ctx context.Context) {
	r := b.rep
	cpu := "?"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := "?"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb float64
				fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
				mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	first := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil && len(out) == 0 { // wrk --version exits 1
			return "not found"
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	commit := strings.TrimSpace(first("git", "-C", b.root, "rev-parse", "--short", "HEAD"))
	if out, _ := exec.CommandContext(ctx, "git", "-C", b.root, "status", "--porcelain", "--untracked-files=no").Output(); len(strings.TrimSpace(string(out))) > 0 {
		commit += " (with uncommitted changes)"
	}
	r.machine = [][2]string{
		{"Date", time.Now().UTC().Format("2006-01-02 15:04 UTC")},
		{"Commit", commit},
		{"CPU", fmt.Sprintf("%s, %d cores", cpu, runtime.NumCPU())},
		{"Memory", mem},
		{"Go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
		{"Chromium", "(not started)"},
		{"Node.js", first("node", "--version")},
		{"nginx", strings.TrimPrefix(first("nginx", "-v"), "nginx version: ")},
		{"wrk", first("wrk", "--version")},
		{"ffmpeg", first("ffmpeg", "-hide_banner", "-version")},
	}
	r.loadStart = loadAvg()
}

func (r *report) setMachine(key, value string) {
	for i := range r.machine {
		if r.machine[i][0] == key {
			r.machine[i][1] = value
		}
	}
}

// percentile returns the p-th percentile (0–1) of xs by nearest rank.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Max(xs)
}
