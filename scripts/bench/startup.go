package main

import (
	"context"
	"fmt"
	"time"
)

// loadTimes is what one page load tells, in ms since navigation start.
type loadTimes struct {
	Armed     float64 `json:"armed"`     // the "pulse:armed" mark
	DCL       float64 `json:"dcl"`       // DOMContentLoaded handled
	WasmEnd   float64 `json:"wasmEnd"`   // the wasm fully received
	Started   float64 `json:"started"`   // the wasm compiled and instantiated: the Go runtime starts
	ConfigBeg float64 `json:"configBeg"` // the config request started
	ConfigEnd float64 `json:"configEnd"` // the config received
}

const loadTimesJS = `(() => {
  const res = performance.getEntriesByType("resource");
  const find = s => res.find(e => e.name.includes(s)) || {startTime: 0, responseEnd: 0};
  const nav = performance.getEntriesByType("navigation")[0] || {};
  const w = find(".wasm"), c = find("/webhooks");
  return {armed: performance.getEntriesByName("pulse:armed")[0].startTime, dcl: nav.domContentLoadedEventEnd || 0,
    wasmEnd: w.responseEnd, started: window.__started || 0, configBeg: c.startTime, configEnd: c.responseEnd};
})()`

// startup: navigation start to "pulse:armed" over fresh page loads of the
// player, the JavaScript baseline and the empty Go wasm, interleaved so
// that the machine's noise falls on all three alike.
func (b *bench) startup(ctx context.Context) error {
	if _, err := b.main(ctx); err != nil {
		return err
	}
	if err := b.staticServer(ctx); err != nil {
		return err
	}
	type page struct {
		name, url string
		cold      []loadTimes // first visits
		warm      []loadTimes // repeat visits
	}
	pages := []*page{
		{name: "player", url: b.playerURL(b.uuid)},
		{name: "baseline", url: b.baselineURL(b.uuid)},
		{name: "empty", url: b.emptyURL()},
	}
	// One round first, not counted: the server's and the browser's own
	// first-use costs (template parsing, process start) are not the
	// page's, and its load with the cache on fills the HTTP cache for the
	// repeat visits.
	// First and repeat visits alternate, so that the machine's noise
	// falls on both alike.
	for i := -1; i < b.o.loads; i++ {
		for j := range pages {
			p := pages[(i+1+j)%len(pages)]
			for _, warm := range []bool{i%2 == 0, i%2 != 0} {
				lt, err := b.load(ctx, p.url, !warm)
				if err != nil {
					return fmt.Errorf("%s page: %w", p.name, err)
				}
				switch {
				case i < 0:
				case warm:
					p.warm = append(p.warm, lt)
				default:
					p.cold = append(p.cold, lt)
				}
			}
		}
	}
	times := func(ts []loadTimes, f func(loadTimes) float64) []float64 {
		out := make([]float64, len(ts))
		for i, t := range ts {
			out[i] = f(t)
		}
		return out
	}
	armed := func(t loadTimes) float64 { return t.Armed }
	player, baseline, empty := times(pages[0].cold, armed), times(pages[1].cold, armed), times(pages[2].cold, armed)
	const base = "JavaScript baseline"
	b.rep.add("startup", "navigation → pulse:armed, median, first visit", median(player), median(baseline), fmtMs, base, ratioAtMost(1.5))
	b.rep.add("startup", "navigation → pulse:armed, p95, first visit", percentile(player, 0.95), percentile(baseline, 0.95), fmtMs, base, nil)
	wp, wb := times(pages[0].warm, armed), times(pages[1].warm, armed)
	b.rep.add("startup", "navigation → pulse:armed, median, repeat visit", median(wp), median(wb), fmtMs, base, nil)
	b.rep.add("startup", "navigation → pulse:armed, p95, repeat visit", percentile(wp, 0.95), percentile(wb, 0.95), fmtMs, base, nil)
	b.rep.note("startup", "First visits: %d loads of each page, each in a new tab with the HTTP cache disabled (CDP Network.setCacheDisabled), "+
		"so the wasm is downloaded and compiled every time. Repeat visits: %d more in new tabs with the cache on, after a visit that filled "+
		"it (assets are immutable for a year; Chromium may also reuse compiled wasm code). First and repeat visits of the player, the "+
		"baseline and the empty Go wasm are interleaved, after one uncounted round. The time is the pulse:armed performance mark's startTime (ms since "+
		"navigation start).", b.o.loads, b.o.loads)
	b.rep.note("startup", "Baseline: scripts/bench/pages/baseline, plain JavaScript with an <audio> element on another origin of the same "+
		"run, against the same Pulse server: it fetches the same config, reads ?student=, arms a setInterval heartbeat and marks pulse:armed.")
	med := func(ts []loadTimes, f func(loadTimes) float64) string { return fmtMs(median(times(ts, f))) }
	pc, bc := pages[0].cold, pages[1].cold
	inGo := func(t loadTimes) float64 { return t.Armed - t.Started }
	b.rep.note("startup", "Where the time goes on a first visit (medians): the player page's config request started %s and was received "+
		"%s (the page preloads it, and player.wasm, with <link rel=preload>), DOMContentLoaded %s, player.wasm received %s, compiled "+
		"and instantiated %s (WebAssembly.instantiateStreaming resolved: the Go runtime starts), armed %s; the baseline's config "+
		"request started %s, received %s, armed %s. The empty Go wasm (runtime and syscall/js only, served uncompressed from the "+
		"baselines' origin) is instantiated at %s and marks pulse:armed at %s (first visit), %s (repeat visit): the floor of any Go "+
		"wasm start-up. From instantiation to armed (the Go runtime's start, package initialisation and main until it arms, the "+
		"median of each load's difference): player %s, empty Go wasm %s.",
		med(pc, func(t loadTimes) float64 { return t.ConfigBeg }), med(pc, func(t loadTimes) float64 { return t.ConfigEnd }),
		med(pc, func(t loadTimes) float64 { return t.DCL }), med(pc, func(t loadTimes) float64 { return t.WasmEnd }),
		med(pc, func(t loadTimes) float64 { return t.Started }), med(pc, armed),
		med(bc, func(t loadTimes) float64 { return t.ConfigBeg }), med(bc, func(t loadTimes) float64 { return t.ConfigEnd }),
		med(bc, armed), med(pages[2].cold, func(t loadTimes) float64 { return t.Started }), fmtMs(median(empty)), med(pages[2].warm, armed),
		med(pc, inGo), med(pages[2].cold, inGo))
	return nil
}

// load loads a page in a new tab, with or without the HTTP cache, and
// returns its timings.
func (b *bench) load(ctx context.Context, url string, noCache bool) (loadTimes, error) {
	t, err := b.newTab(ctx, tabOptions{noCache: noCache, started: true})
	if err != nil {
		return loadTimes{}, err
	}
	defer t.close()
	if err := t.navigate(url); err != nil {
		return loadTimes{}, err
	}
	if _, err := t.waitArmed(30 * time.Second); err != nil {
		return loadTimes{}, err
	}
	return eval[loadTimes](t, loadTimesJS)
}
