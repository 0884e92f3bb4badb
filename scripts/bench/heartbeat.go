package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// playRun is what one page did while playing at RPM 60.
type playRun struct {
	sendErrs     []float64 // |send − (previous send + 1 s)|, ms, measured in the page
	arriveErrs   []float64 // the same at the receiver, on another origin
	sends        int
	longestPlay  float64 // longest long task while playing, ms (0: none over 50 ms)
	longestStart float64 // longest long task before play was pressed
	longestClick float64 // longest long task from the press to playing
	longTasks    int     // long tasks while playing
	clickToPlay  float64 // ms from pressing play to playing
	path         string  // how the page played: Web Audio or <audio>
	advanced     float64 // media seconds the heartbeats' positions advanced
	visibility   string
	late         int // gaps more than 50 ms off
}

type pageProbe struct {
	Sends []struct {
		T      float64 `json:"t"`
		URL    string  `json:"url"`
		Beacon bool    `json:"beacon"`
	} `json:"sends"`
	LongTasks []struct {
		Start float64 `json:"start"`
		Dur   float64 `json:"dur"`
	} `json:"longtasks"`
	AudioContexts int     `json:"audioContexts"`
	Starts        int     `json:"starts"`     // AudioBufferSourceNode.start calls
	FirstSound    float64 `json:"firstSound"` // when the first of them was due to sound
	PeakPCM       float64 `json:"peakPCM"`    // bytes of PCM in started, not yet ended buffers
	ClickAt       float64 `json:"clickAt"`
	PlayingAt     float64 `json:"playingAt"`
	Playing       bool    `json:"playing"`
	Element       bool    `json:"element"` // a media element is playing
	Visibility    string  `json:"visibility"`
	PeakWasm      float64 `json:"peakWasm"`
	Wasm          float64 `json:"wasm"`
}

// probeReadJS reads what probeJS recorded. Playing is the Pulse player's
// state where the page has one (#player: for MP3 it plays through Web
// Audio, and its <audio id="media"> stays unused), else the media
// element's.
const probeReadJS = `(() => {
  const B = window.__bench, p = document.getElementById("player"), m = document.getElementById("media");
  const element = !!(m && !m.paused);
  return {sends: B.sends, longtasks: B.longtasks, audioContexts: B.audioContexts,
    starts: B.starts.length, firstSound: B.starts.length ? B.starts[0].sound : 0, peakPCM: B.peakPCM,
    clickAt: B.clickAt, playingAt: B.playingAt, element: element,
    playing: p ? p.dataset.state === "playing" : element,
    visibility: document.visibilityState, peakWasm: B.peakWasm, wasm: B.wasmBytes()};
})()`

// playPath says how a page played, from what the probe saw.
func playPath(pr pageProbe) string {
	switch {
	case pr.Starts > 0:
		return fmt.Sprintf("Web Audio (%d AudioBufferSourceNodes started)", pr.Starts)
	case pr.Element:
		return "<audio> element (no AudioBufferSourceNode)"
	case pr.AudioContexts > 0:
		return "unknown (an AudioContext, but no buffer started and no media element playing)"
	default:
		return "unknown (no AudioContext, media element paused)"
	}
}

// heartbeat: at RPM 60 for the play duration, how far each send is from
// its schedule (one interval of playing time after the previous send), in
// the Pulse player and in the JavaScript baseline, one after the other.
func (b *bench) heartbeat(ctx context.Context) error {
	if _, err := b.main(ctx); err != nil {
		return err
	}
	if err := b.staticServer(ctx); err != nil {
		return err
	}
	// Both pages play at the same time, in two tabs, so that the shared
	// machine's noise falls on both alike.
	b.logf("playing %s in the player and in the JavaScript baseline, side by side", b.o.play)
	if _, err := b.startBrowser(ctx); err != nil { // once, before the tabs
		return err
	}
	var p, j playRun
	var perr, jerr error
	var wg sync.WaitGroup
	wg.Go(func() { p, perr = b.playFor(ctx, b.playerURL(b.uuid), playerStudent, b.o.play) })
	wg.Go(func() { j, jerr = b.playFor(ctx, b.baselineURL(b.uuid), baselineStudent, b.o.play) })
	wg.Wait()
	if perr != nil {
		return fmt.Errorf("player: %w", perr)
	}
	if jerr != nil {
		return fmt.Errorf("baseline: %w", jerr)
	}
	const base = "JavaScript baseline"
	b.rep.add("heartbeat", "send time error, p50", percentile(p.sendErrs, 0.5), percentile(j.sendErrs, 0.5), fmtMs, base, nil)
	b.rep.add("heartbeat", "send time error, p99", percentile(p.sendErrs, 0.99), percentile(j.sendErrs, 0.99), fmtMs, base, atMost("≤ 50 ms", 50))
	b.rep.add("heartbeat", "send time error, max", maxOf(p.sendErrs), maxOf(j.sendErrs), fmtMs, base, nil)
	b.rep.add("heartbeat", "arrival time error at the receiver, p99", percentile(p.arriveErrs, 0.99), percentile(j.arriveErrs, 0.99), fmtMs, base, nil)
	b.rep.addText("heartbeat", "longest main-thread task while playing (Long Tasks API)", longTask(p.longestPlay, p.longTasks),
		longTask(j.longestPlay, j.longTasks)+" ("+base+")", "≤ 50 ms", verdict(p.longestPlay <= 50))
	b.rep.note("heartbeat", "Both pages play classic.mp3 (256 kbps, 44.1 kHz stereo) from the same Pulse server with one webhook at RPM 60 "+
		"pointing at a receiver on another origin, for %s of playback each, at the same time, in two tabs of one headless Chromium. "+
		"The player decodes with go-mp3 in its wasm while it plays. Playback path of the player in this run: **%s**; of the baseline: %s.", b.o.play, p.path, j.path)
	b.rep.note("heartbeat", "Send time = performance.now() when the page calls fetch for the POST (a probe wraps window.fetch before the "+
		"page's scripts run). The schedule of each send is one interval (1 s) of playing time after the previous send, so the error is "+
		"|gap − 1000 ms| between consecutive sends, without pauses in between: %d sends from the player (%d gaps), %d from the baseline (%d gaps). "+
		"Arrival error is the same at the receiver (Go's clock when the request arrives), so it adds the network and the server.",
		p.sends, len(p.sendErrs), j.sends, len(j.sendErrs))
	b.rep.note("heartbeat", "Long tasks: the longest PerformanceObserver 'longtask' entry that began once the page played (the API "+
		"reports only tasks over 50 ms): from the player's #player data-state turning \"playing\" (a MutationObserver in the probe), "+
		"from the <audio> element's \"playing\" event for the baseline. Not from the press on play: the player makes its AudioContext "+
		"then (see \"first play click → playing\" under 3. Play and seek). From the press to playing (%s player, %s baseline in this "+
		"run): player %s, baseline %s. During start-up, before play: player %s, baseline %s. Heartbeat positions advanced %.1f s (player) "+
		"and %.1f s (baseline) of media during the %s: the media really played. Page visibility at the end: %s (player), %s (baseline). "+
		"Gaps more than 50 ms off: %d of %d (player), %d of %d (baseline).",
		fmtMs(p.clickToPlay), fmtMs(j.clickToPlay), longTask(p.longestClick, -1), longTask(j.longestClick, -1),
		longTask(p.longestStart, -1), longTask(j.longestStart, -1), p.advanced, j.advanced, b.o.play, p.visibility, j.visibility,
		p.late, len(p.sendErrs), j.late, len(j.sendErrs))
	return nil
}

func longTask(ms float64, n int) string {
	if ms == 0 {
		return "none over 50 ms"
	}
	if n > 1 {
		return fmt.Sprintf("%s (%d tasks over 50 ms)", fmtMs(ms), n)
	}
	return fmtMs(ms)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// playFor opens a page with the probe, presses play and lets it play.
func (b *bench) playFor(ctx context.Context, url, student string, d time.Duration) (playRun, error) {
	var run playRun
	t, err := b.openPlayable(ctx, url)
	if err != nil {
		return run, err
	}
	defer t.close()
	played := time.Now()
	if err := t.play(); err != nil {
		return run, err
	}
	if err := t.waitFor("the first send", `window.__bench.sends.length > 0`, 30*time.Second); err != nil {
		return run, err
	}
	select {
	case <-time.After(d + 500*time.Millisecond):
	case <-ctx.Done():
		return run, ctx.Err()
	}
	pr, err := eval[pageProbe](t, probeReadJS)
	if err != nil {
		return run, err
	}
	hits := b.hook.from(student, played)

	var sends []float64
	for _, s := range pr.Sends {
		if strings.HasPrefix(s.URL, b.hook.URL) && !s.Beacon {
			sends = append(sends, s.T)
		}
	}
	run.sends = len(sends)
	for i := 1; i < len(sends); i++ {
		run.sendErrs = append(run.sendErrs, math.Abs(sends[i]-sends[i-1]-1000))
	}
	for i := 1; i < len(hits); i++ {
		run.arriveErrs = append(run.arriveErrs, math.Abs(float64(hits[i].at.Sub(hits[i-1].at))/1e6-1000))
	}
	if len(hits) > 1 {
		run.advanced = hits[len(hits)-1].position - hits[0].position
	}
	// While playing is from the moment the page plays, not from the
	// press: the press makes the AudioContext, which takes a while
	// (reported apart).
	for _, lt := range pr.LongTasks {
		switch {
		case lt.Start >= pr.PlayingAt:
			run.longestPlay = max(run.longestPlay, lt.Dur)
			run.longTasks++
		case lt.Start >= pr.ClickAt:
			run.longestClick = max(run.longestClick, lt.Dur)
		default:
			run.longestStart = max(run.longestStart, lt.Dur)
		}
	}
	run.clickToPlay = pr.PlayingAt - pr.ClickAt
	run.path = playPath(pr)
	if !pr.Playing {
		return run, fmt.Errorf("the page stopped playing (path %s)", run.path)
	}
	run.visibility = pr.Visibility
	for _, e := range run.sendErrs {
		if e > 50 {
			run.late++
		}
	}
	if run.sends < int(d/time.Second)/2 {
		return run, fmt.Errorf("only %d sends in %s at RPM 60", run.sends, d)
	}
	return run, nil
}
