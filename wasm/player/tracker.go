// Package player wires media events to the heartbeat engine and the
// engine's sends to the network. It is plain Go behind two small
// interfaces (media.Media and Sender), so its timing loop is tested
// natively with testing/synctest; the browser implementations live in
// wasm/media and wasm/browser.
package player

import (
	"sync"
	"time"

	"github.com/pulsehq/pulse/wasm/heartbeat"
	"github.com/pulsehq/pulse/wasm/media"
)

// Sender delivers heartbeats.
type Sender interface {
	// Post sends s and waits for the outcome. It is called on its own
	// goroutine. With opaque, the request is made in no-cors mode: it
	// needs no CORS answer, and its outcome is unknown unless the network
	// fails (Status 0).
	Post(s heartbeat.Send, opaque bool) heartbeat.Result
	// Beacon queues s for delivery even if the page goes away, and
	// reports whether the browser accepted it. It must not block: it is
	// called synchronously inside pagehide and visibilitychange handlers.
	Beacon(s heartbeat.Send) bool
	// Diagnose explains a failed Post: what went wrong, in words a
	// person can act on. It may probe the endpoint.
	Diagnose(url string, r heartbeat.Result) Diagnosis
}

// Diagnosis says why a request failed.
type Diagnosis struct {
	Kind    Kind
	Message string
}

// Kind classifies failures by what the tracker should do about them.
type Kind int

const (
	// Failed: try again later (network down, timeout, 429, 5xx), or give
	// up (other 4xx), as the protocol says.
	Failed Kind = iota
	// NoCORS: the endpoint received the POST but did not answer CORS, so
	// the browser hid the answer. Trying again would deliver it again.
	NoCORS
	// Blocked: the browser will never send it (mixed content).
	Blocked
)

// reprobe bounds how often a failing endpoint is probed again.
const reprobe = 30 * time.Second

// Tracker feeds a media's events to a heartbeat engine and carries out
// what the engine decides: fetches on their own goroutines, beacons
// synchronously, and one timer for the engine's next wake-up.
type Tracker struct {
	mu      sync.Mutex
	eng     *heartbeat.Engine
	m       media.Media
	send    Sender
	warn    func(string)
	urls    map[string]string // webhook id → URL, for messages
	opaque  map[string]bool   // webhooks sent in no-cors mode
	failing map[string]Kind   // webhooks in a streak of failures, by what was logged
	probed  map[string]time.Time
	timer   *time.Timer
	wake    time.Time
}

// NewTracker returns a tracker; Start connects it.
func NewTracker(eng *heartbeat.Engine, hooks []heartbeat.Webhook, m media.Media, send Sender, warn func(string)) *Tracker {
	t := &Tracker{eng: eng, m: m, send: send, warn: warn, urls: map[string]string{}, opaque: map[string]bool{},
		failing: map[string]Kind{}, probed: map[string]time.Time{}}
	for _, h := range hooks {
		t.urls[h.ID] = h.URL
	}
	return t
}

// Start subscribes to the media's events. Media that is already playing
// (the viewer pressed play before the webhook config arrived) counts as
// starting now.
func (t *Tracker) Start() {
	t.m.On(t.handle)
	if !t.m.Paused() {
		t.handle(media.Play)
	}
}

func (t *Tracker) snapshot() heartbeat.Media {
	return heartbeat.Media{Position: t.m.Position(), Duration: t.m.Duration(), Ended: t.m.Ended()}
}

// handle reports one media event to the engine.
func (t *Tracker) handle(ev media.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, m := time.Now(), t.snapshot()
	switch ev {
	case media.Play, media.Playing:
		// "playing" also follows a stall; the engine ignores a play
		// while playing, so a stall is neither a pause nor a new start.
		t.eng.Play(now, m)
	case media.Pause:
		t.eng.Pause(now, m)
	case media.Seeking:
		t.eng.Seeking(now, m)
	case media.Seeked:
		t.eng.Seeked(now, m)
	case media.Ended:
		t.eng.Ended(now, m)
	case media.TimeUpdate, media.DurationChange:
		t.eng.Progress(now, m)
	case media.LoadStart:
		// A source that reloads keeps the session, but a media element's
		// load() pauses it without a pause event.
		t.syncPaused(now, m)
	default:
		// waiting, progress, rate and volume changes: the session and the
		// clock go on.
		return
	}
	t.pump(now, m)
}

// syncPaused reports a pause that came without a pause event: the media
// element load algorithm sets paused to true and fires none
// (https://html.spec.whatwg.org/multipage/media.html#media-element-load-algorithm).
// It is checked on loadstart and on every wake-up, so the clock never runs
// on for media that is not playing. Called with mu held.
func (t *Tracker) syncPaused(now time.Time, m heartbeat.Media) {
	if t.m.Paused() {
		t.eng.Pause(now, m) // a no-op when the engine knows already
	}
}

// Hidden reports that the page became hidden and sends the final data
// by beacon before returning.
func (t *Tracker) Hidden() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, m := time.Now(), t.snapshot()
	t.beacons(now, t.eng.Hidden(now, m))
	t.pump(now, m)
}

// Leave reports that the page is going away (pagehide) and sends the
// final data by beacon before returning.
func (t *Tracker) Leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, m := time.Now(), t.snapshot()
	t.beacons(now, t.eng.Leave(now, m))
	t.pump(now, m)
}

func (t *Tracker) beacons(now time.Time, sends []heartbeat.Send) {
	for _, s := range sends {
		if !t.send.Beacon(s) {
			t.warn("the browser refused a beacon to " + s.URL + " (its beacon quota is full); it will go by fetch if the page stays")
			t.eng.BeaconRefused(now, s)
		}
	}
}

// pump starts the sends that are due and sets the timer for the next.
// Called with mu held.
func (t *Tracker) pump(now time.Time, m heartbeat.Media) {
	for _, s := range t.eng.Poll(now, m) {
		go t.post(s)
	}
	next, ok := t.eng.Next()
	if !ok {
		if t.timer != nil {
			t.timer.Stop()
		}
		t.wake = time.Time{}
		return
	}
	if t.timer != nil && next.Equal(t.wake) {
		return
	}
	if t.timer != nil {
		t.timer.Stop()
	}
	t.wake = next
	t.timer = time.AfterFunc(max(next.Sub(now), 0), t.tick)
}

func (t *Tracker) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wake = time.Time{}
	now, m := time.Now(), t.snapshot()
	t.syncPaused(now, m)
	t.pump(now, m)
}

func (t *Tracker) post(s heartbeat.Send) {
	t.mu.Lock()
	opaque := t.opaque[s.Webhook]
	t.mu.Unlock()
	r := t.send.Post(s, opaque)
	if r.Err != nil || (r.Status != 0 && (r.Status < 200 || r.Status >= 300)) {
		r = t.failed(s, r)
	} else {
		t.mu.Lock()
		delete(t.failing, s.Webhook)
		t.mu.Unlock()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	t.eng.Done(now, s.Webhook, r)
	t.pump(now, t.snapshot())
}

// failed explains a failure, once per streak and kind, and returns the
// result the engine should act on. An endpoint that received the POST but
// did not answer CORS gets the rest in no-cors mode: each payload once,
// instead of four times with retries.
func (t *Tracker) failed(s heartbeat.Send, r heartbeat.Result) heartbeat.Result {
	t.mu.Lock()
	logged, streak := t.failing[s.Webhook]
	probe := r.Err == nil || !streak || time.Since(t.probed[s.Webhook]) >= reprobe
	if probe {
		t.probed[s.Webhook] = time.Now()
	}
	t.mu.Unlock()
	if !probe {
		return r
	}
	// Diagnose may probe the network: never with mu held.
	d := t.send.Diagnose(s.URL, r)
	t.mu.Lock()
	t.failing[s.Webhook] = d.Kind
	if d.Kind == NoCORS {
		t.opaque[s.Webhook] = true
	}
	t.mu.Unlock()
	if !streak || logged != d.Kind {
		msg := "webhook " + s.Webhook + " (" + s.URL + "): " + d.Message
		switch d.Kind {
		case NoCORS:
			msg += "; until then the player sends in no-cors mode: heartbeats arrive, without retries"
		case Blocked:
			msg += "; nothing will be sent until that is fixed"
		}
		t.warn(msg)
	}
	switch d.Kind {
	case NoCORS, Blocked:
		return heartbeat.Result{Status: 0} // final: retrying would not help
	}
	return r
}
