package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// micro: the Go benchmarks behind the figures, and a CPU profile of the
// config API handler.
func (b *bench) micro(ctx context.Context) error {
	api, err := b.goBench(ctx, goBenchRun{pkg: "./server/api", bench: "^BenchmarkPlayerConfig$", benchtime: "1s"})
	if err != nil {
		return err
	}
	prof := b.tmpPath("api.cpu")
	if _, err := b.goBench(ctx, goBenchRun{pkg: "./server/api", bench: "^BenchmarkPlayerConfig$/^store=sqlite/cache=off/webhooks=1$",
		benchtime: "2s", cpuprofile: prof}); err != nil {
		return err
	}
	top, err := b.output(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=400", b.tmpPath("api.test"), prof)
	if err != nil {
		return err
	}
	native, err := b.goBench(ctx, goBenchRun{pkg: "./wasm/heartbeat", bench: "^BenchmarkPoll$", benchtime: "100000x"})
	if err != nil {
		return err
	}
	bin := b.tmpPath("heartbeat.test")
	if err := b.buildWasmTest(ctx, "./wasm/heartbeat", bin); err != nil {
		return err
	}
	wasm, err := b.goBench(ctx, goBenchRun{bin: bin, exec: filepath.Join(runtime.GOROOT(), "lib", "wasm", "go_js_wasm_exec"),
		bench: "^BenchmarkPoll$", benchtime: "100000x"})
	if err != nil {
		return err
	}

	var sb strings.Builder
	sb.WriteString("## Go benchmarks (testing.B)\n\n")
	sb.WriteString("`go test -bench` in the packages; the end-to-end figures above carry the targets, these show where time goes.\n\n")
	sb.WriteString("| Benchmark | Pulse | Baseline (same run) | Ratio |\n|---|---:|---:|---:|\n")
	row := func(name string, v, base float64, baseName string) {
		fmt.Fprintf(&sb, "| %s | %s | %s (%s) | %s |\n", name, fmtNs(v), fmtNs(base), baseName, fmtRatio(v/base))
	}
	for _, n := range []string{"1", "10"} {
		hooks := hooksName(n)
		off, _ := api.metric("BenchmarkPlayerConfig/store=sqlite/cache=off/webhooks="+n, "ns/op")
		on, _ := api.metric("BenchmarkPlayerConfig/store=sqlite/cache=on/webhooks="+n, "ns/op")
		mem, _ := api.metric("BenchmarkPlayerConfig/store=memory/cache=off/webhooks="+n, "ns/op")
		row("server/api BenchmarkPlayerConfig, "+hooks+", SQLite, no cache (a cache miss)", off, mem, "same handler, store in memory")
		row("server/api BenchmarkPlayerConfig, "+hooks+", SQLite, cache on (as served)", on, off, "SQLite, no cache")
	}
	for _, n := range []string{"1", "10"} {
		w, _ := wasm.metric("BenchmarkPoll/webhooks="+n, "ns/op")
		nt, _ := native.metric("BenchmarkPoll/webhooks="+n, "ns/op")
		row("wasm/heartbeat BenchmarkPoll, "+hooksName(n)+", wasm in Node.js", w, nt, "native")
	}
	sb.WriteString("\nWhere a config API request spends its CPU without the cache (`go tool pprof -top -cum` of " +
		"BenchmarkPlayerConfig, SQLite, no cache, 1 webhook; selected frames, share of all samples):\n\n")
	sb.WriteString("| frame | cum |\n|---|---:|\n")
	for _, f := range profileFrames {
		if cum, ok := cumShare(top, f.fn); ok {
			fmt.Fprintf(&sb, "| %s | %s |\n", f.what, cum)
		}
	}
	b.rep.extra = append(b.rep.extra, sb.String())
	return nil
}

// profileFrames are the frames of the config handler's profile worth
// showing, in call order.
var profileFrames = []struct{ fn, what string }{
	{"api.(*Server).handlePlayerConfig", "handlePlayerConfig (the whole handler)"},
	{"sqlite.(*Store).Webhooks", "store.Webhooks: SELECT every webhook"},
	{"sqlite.(*Store).Media", "store.Media: SELECT the media (peaks included)"},
	{"lib.Xsqlite3_prepare_v2", "sqlite3_prepare_v2: parsing the SQL, again for every query"},
	{"lib.Xsqlite3_step", "sqlite3_step: running the queries"},
	{"database/sql.(*Rows).Next", "database/sql Rows.Next"},
	{"encoding/json.Marshal", "json.Marshal of the config"},
	{"crypto/sha256.Sum256", "sha256 of the ETag"},
	{"runtime.mallocgc", "allocation (runtime.mallocgc)"},
	{"runtime.gcBgMarkWorker", "garbage collection (gcBgMarkWorker)"},
}

// cumShare finds a function in `pprof -top -cum` output and returns its
// cum%.
func cumShare(top, fn string) (string, bool) {
	for _, l := range strings.Split(top, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && strings.HasSuffix(f[5], fn) {
			return f[4], true
		}
	}
	return "", false
}

func hooksName(n string) string {
	if n == "1" {
		return "1 webhook"
	}
	return n + " webhooks"
}
