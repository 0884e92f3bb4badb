package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// probeJS runs in every page of the heartbeat, seek and memory figures
// before the page's own scripts. It records, without changing behaviour:
//   - each POST the page starts with fetch or sendBeacon (performance.now()
//     at the call: the send time of a heartbeat);
//   - every long task (Long Tasks API: main-thread tasks over 50 ms);
//   - the WebAssembly.Memory of every Go instance (wasm_exec exports it as
//     "mem"), to read the wasm linear memory size;
//   - how many AudioContexts the page made, and every
//     AudioBufferSourceNode.start: when its sound begins (performance.now()
//     at the call plus when − currentTime) and how much PCM the buffers
//     that are started and not yet ended hold;
//   - the first press on the play button (pointerdown) and the moment the
//     page first plays: the Pulse player's #player data-state turning
//     "playing", or a media element's "playing" event, whichever is first.
//
// B.seek(to) moves the page's seek slider as a viewer does (input and
// change events) and resolves to the ms until sound resumes: until the
// first AudioBufferSourceNode.start after it is due to sound, when the
// page plays through Web Audio; until the media element's "seeked" event
// (or its "playing" event, when it had to wait for data) otherwise. It
// resolves to -1 when nothing resumes within 10 s.
const probeJS = `(() => {
  const B = window.__bench = {sends: [], longtasks: [], mems: [], audioContexts: 0, peakWasm: 0,
    starts: [], pcm: 0, peakPCM: 0, clickAt: 0, playingAt: 0, onstart: null};
  const origFetch = window.fetch;
  window.fetch = function (input, init) {
    try {
      const method = String((init && init.method) || (input && input.method) || "GET").toUpperCase();
      if (method === "POST") B.sends.push({t: performance.now(), url: String(input && input.url || input)});
    } catch (e) {}
    return origFetch.apply(this, arguments);
  };
  if (navigator.sendBeacon) {
    const origBeacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = function (url, data) {
      B.sends.push({t: performance.now(), url: String(url), beacon: true});
      return origBeacon(url, data);
    };
  }
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) B.longtasks.push({start: e.startTime, dur: e.duration});
    }).observe({type: "longtask", buffered: true});
  } catch (e) {}
  for (const name of ["instantiateStreaming", "instantiate"]) {
    const orig = WebAssembly[name];
    if (!orig) continue;
    WebAssembly[name] = function () {
      return orig.apply(this, arguments).then(r => {
        const inst = r instanceof WebAssembly.Instance ? r : r.instance;
        if (inst && inst.exports && inst.exports.mem instanceof WebAssembly.Memory) B.mems.push(inst.exports.mem);
        return r;
      });
    };
  }
  B.wasmBytes = () => B.mems.reduce((n, m) => n + m.buffer.byteLength, 0);
  setInterval(() => { B.peakWasm = Math.max(B.peakWasm, B.wasmBytes()); }, 100);
  for (const name of ["AudioContext", "webkitAudioContext"]) {
    const C = window[name];
    if (typeof C !== "function") continue;
    window[name] = class extends C { constructor(...a) { super(...a); B.audioContexts++; } };
  }
  if (window.AudioBufferSourceNode) {
    const origStart = AudioBufferSourceNode.prototype.start;
    AudioBufferSourceNode.prototype.start = function (when) {
      const t = performance.now(), now = this.context.currentTime;
      const buf = this.buffer, bytes = buf ? buf.length * buf.numberOfChannels * 4 : 0;
      const s = {t: t, sound: t + Math.max(0, ((when || 0) - now) * 1000), bytes: bytes};
      B.starts.push(s);
      B.pcm += bytes;
      B.peakPCM = Math.max(B.peakPCM, B.pcm);
      this.addEventListener("ended", () => { B.pcm -= bytes; });
      if (B.onstart) B.onstart(s);
      return origStart.apply(this, arguments);
    };
  }
  const playing = () => { if (!B.playingAt) B.playingAt = performance.now(); };
  addEventListener("playing", playing, true); // media events do not bubble, but they are captured
  new MutationObserver(records => {
    for (const r of records) if (r.target.id === "player" && r.target.dataset.state === "playing") playing();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
  addEventListener("pointerdown", e => {
    if (!B.clickAt && e.target.closest && e.target.closest("#play")) B.clickAt = performance.now();
  }, true);
  B.seek = to => new Promise(resolve => {
    const slider = document.getElementById("seek"), media = document.getElementById("media");
    const t0 = performance.now(), listening = new AbortController();
    const done = t => { B.onstart = null; listening.abort(); clearTimeout(timer); resolve(t < 0 ? -1 : t - t0); };
    const timer = setTimeout(() => done(-1), 10000);
    if (B.starts.length > 0) {
      B.onstart = s => done(s.sound);
    } else {
      let seeked = 0, waited = false, played = 0;
      const on = (type, f) => media.addEventListener(type, f, {signal: listening.signal});
      on("waiting", () => { waited = true; played = 0; });
      on("playing", () => { played = performance.now(); if (seeked && waited) done(played); });
      on("seeked", () => { seeked = performance.now(); if (!waited || played) done(seeked); });
    }
    slider.value = to;
    slider.dispatchEvent(new Event("input", {bubbles: true}));
    slider.dispatchEvent(new Event("change", {bubbles: true}));
  });
})();`

// startedJS, lighter than probeJS, runs in the pages of the start-up
// figure: it records when the page's wasm is compiled and instantiated
// (window.__started), the moment the page can start the Go runtime.
const startedJS = `(() => {
  for (const name of ["instantiateStreaming", "instantiate"]) {
    const orig = WebAssembly[name];
    if (!orig) continue;
    WebAssembly[name] = function () {
      return orig.apply(this, arguments).then(r => {
        if (!window.__started) window.__started = performance.now();
        return r;
      });
    };
  }
})();`

// startBrowser starts headless Chromium once for the run, with the flags
// of the project's browser tests.
func (b *bench) startBrowser(ctx context.Context) (context.Context, error) {
	if b.browser != nil {
		return b.browser, nil
	}
	path := findChromium()
	if path == "" {
		return nil, errors.New("no Chromium found (set PULSE_CHROMIUM or apt-get install chromium; scripts/bench.sh installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.UserDataDir(b.tmpPath("chromium")),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b.defer_(func() error { cancelBrowser(); cancelAlloc(); return nil })
	if err := chromedp.Do(bctx); err != nil {
		return nil, fmt.Errorf("start Chromium: %w", err)
	}
	if v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{}); err == nil {
		b.rep.setMachine("Chromium", v.Product+" (headless)")
	}
	b.browser = bctx
	return bctx, nil
}

func findChromium() string {
	if p := os.Getenv("PULSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one browser tab.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	requests map[network.RequestID]string // URL of each request
	bytes    map[network.RequestID]float64
}

type tabOptions struct {
	noCache bool // disable the HTTP cache: every load is a first visit
	probe   bool // install probeJS
	started bool // install startedJS
	network bool // record each request's transfer size
}

// newTab opens a fresh tab in the run's browser.
func (b *bench) newTab(ctx context.Context, o tabOptions) (*tab, error) {
	bctx, err := b.startBrowser(ctx)
	if err != nil {
		return nil, err
	}
	tctx, cancel := chromedp.NewContext(bctx)
	t := &tab{ctx: tctx, cancel: cancel, requests: map[network.RequestID]string{}, bytes: map[network.RequestID]float64{}}
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		return nil, fmt.Errorf("open a tab: %w", err)
	}
	if o.network {
		err := chromedp.Listen(tctx, func(ev any) {
			t.mu.Lock()
			defer t.mu.Unlock()
			switch ev := ev.(type) {
			case *network.EventRequestWillBeSent:
				t.requests[ev.RequestID] = ev.Request.URL
			case *network.EventLoadingFinished:
				t.bytes[ev.RequestID] = ev.EncodedDataLength
			}
		})
		if err != nil {
			cancel()
			return nil, err
		}
	}
	if o.network || o.noCache {
		if _, err := chromedp.Call(tctx, network.Enable, network.EnableParams{}); err != nil {
			cancel()
			return nil, err
		}
	}
	if o.noCache {
		if _, err := chromedp.Call(tctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			cancel()
			return nil, err
		}
	}
	for _, script := range []struct {
		on  bool
		src string
	}{{o.probe, probeJS}, {o.started, startedJS}} {
		if !script.on {
			continue
		}
		if _, err := chromedp.Call(tctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script.src}); err != nil {
			cancel()
			return nil, err
		}
	}
	return t, nil
}

func (t *tab) close() { t.cancel() }

func (t *tab) navigate(url string) error {
	ctx, cancel := context.WithTimeout(t.ctx, 60*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(t.ctx, 60*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitArmed waits for the "pulse:armed" performance mark and returns its
// time since navigation start, in ms.
func (t *tab) waitArmed(timeout time.Duration) (float64, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := eval[float64](t, `(performance.getEntriesByName("pulse:armed")[0] || {startTime: 0}).startTime`)
		if err == nil && v > 0 {
			return v, nil
		}
		if time.Now().After(deadline) {
			status, _ := eval[string](t, `(document.getElementById("status") || {}).textContent || document.title`)
			return 0, fmt.Errorf("the page did not mark pulse:armed within %s (page says %q; err %v)", timeout, strings.TrimSpace(status), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls a JavaScript condition.
func (t *tab) waitFor(what, cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := eval[bool](t, cond)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s (%v)", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openPlayable opens url in a new tab with the probe and waits until it is
// armed and its play button can be pressed.
func (b *bench) openPlayable(ctx context.Context, url string) (*tab, error) {
	t, err := b.newTab(ctx, tabOptions{probe: true})
	if err != nil {
		return nil, err
	}
	if err := t.navigate(url); err == nil {
		if _, err = t.waitArmed(30 * time.Second); err == nil {
			err = t.waitFor("the play button", `!!document.getElementById("play") && !document.getElementById("play").disabled`, 30*time.Second)
		}
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *tab) click(id string) error {
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Click(chromedp.ID(id)))
}

// play presses the play button and waits until the page plays (the
// probe's playingAt: the player's state, or the media element's "playing"
// event).
func (t *tab) play() error {
	if err := t.click("play"); err != nil {
		return err
	}
	return t.waitFor("the page to play", `window.__bench.clickAt > 0 && window.__bench.playingAt > 0`, 30*time.Second)
}

// transfer sums the bytes received (headers and encoded bodies) by the
// finished requests that count, and says how many there were.
func (t *tab) transfer(counts func(url string) bool) (total float64, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, size := range t.bytes {
		if counts(t.requests[id]) {
			total += size
			n++
		}
	}
	return total, n
}
