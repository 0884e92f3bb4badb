// Package heartbeat decides what the player sends to webhooks and when
// (PROTOCOL.md §3–§4).
//
// It is pure and time-free: every method takes the current time and a
// snapshot of the media, and returns what to send. It never sends anything,
// starts no timer and reads no clock, so it is tested with plain table tests.
// The browser glue reports media events, dispatches the returned sends with
// fetch or sendBeacon, reports each fetch's outcome with Done, and calls
// Poll again at the time Next returns.
package heartbeat

import (
	"strconv"
	"time"
)

// Event names a payload's reason to be sent (the "event" field).
type Event string

// The events of PROTOCOL.md §3.
const (
	EventPlay      Event = "play"
	EventHeartbeat Event = "heartbeat"
	EventPause     Event = "pause"
	EventSeeked    Event = "seeked"
	EventEnded     Event = "ended"
	EventHidden    Event = "hidden"
	EventLeave     Event = "leave"
)

// Tunables of the delivery rules in PROTOCOL.md §4.
const (
	// MaxRetries is how often a failed send is retried at most.
	MaxRetries = 3
	// EventSpacing is the least time between two sends of one webhook when
	// the later one is an event; extra events coalesce into the latest.
	EventSpacing = time.Second
	// SeekSettle is how long the position must stay put after a seek before
	// "seeked" goes out, so that scrubbing sends one event, not dozens.
	SeekSettle = 500 * time.Millisecond
	// MinRPM and MaxRPM bound a webhook's rate, whatever the server says.
	MinRPM, MaxRPM = 1, 60
	// DefaultRPM is the rate of a webhook whose config names none
	// (PROTOCOL.md §1).
	DefaultRPM = 2
)

// Webhook is what the player knows of one webhook (PROTOCOL.md §2).
type Webhook struct {
	ID            string
	URL           string
	RequestField  string
	ResponseField string
	RPM           int
	Events        bool
	RequireParam  bool
}

// Interval returns the heartbeat interval of an rpm, clamped to 1–60.
func Interval(rpm int) time.Duration {
	rpm = min(max(rpm, MinRPM), MaxRPM)
	return time.Minute / time.Duration(rpm)
}

// Config is what an Engine is built from.
type Config struct {
	UUID     string    // the media's uuid
	Session  string    // this player instance's session id
	Token    string    // page token, sent with extended payloads when set
	Query    Query     // the player page's URL parameters
	Webhooks []Webhook // the webhooks that apply to this media
	// Jitter returns a number in [0, 1) that spreads retries. Nil means no
	// jitter, which only tests want.
	Jitter func() float64
}

// Media is a snapshot of the media at the time of a call.
type Media struct {
	Position float64 // seconds into the media
	Duration float64 // seconds; 0, NaN or +Inf while unknown or live
	Ended    bool    // playback has reached the end
}

// Field is one name/value pair of a payload, in the order it is sent.
type Field struct{ Name, Value string }

// Send is one request to make now.
type Send struct {
	Webhook string  // the webhook's ID
	URL     string  // where to POST
	Event   Event   // why it is sent
	Seq     int     // its sequence number in this session and webhook
	Attempt int     // 0 for the first try, then 1…MaxRetries
	Beacon  bool    // send with navigator.sendBeacon, synchronously
	Fields  []Field // the multipart/form-data body
}

// Result is the outcome of a fetch.
type Result struct {
	Status int   // HTTP status; 0 when Err is set
	Err    error // network error, CORS refusal or timeout
}

// Retryable reports whether the send that had this result should be tried
// again: network errors, 429 and 5xx are; everything else is final.
func (r Result) Retryable() bool {
	return r.Err != nil || r.Status == 429 || r.Status >= 500
}

// payload is a send in waiting: its content is fixed when it is queued,
// its sequence number when it is first dispatched.
type payload struct {
	event    Event
	position float64
	duration float64
	watched  float64
	seq      int
	attempt  int
	fields   []Field // the body, fixed at the first dispatch
}

// hook is the state of one webhook.
type hook struct {
	cfg      Webhook
	interval time.Duration
	value    string // the response field's value
	enabled  bool   // false when the URL lacks a required parameter

	// Heartbeat clock: acc is the playing time counted since the last send,
	// up to the later of since and the start of the current playing run.
	acc   time.Duration
	since time.Time

	// Delivery.
	pending   *payload  // next to send; a newer one replaces it
	notBefore time.Time // earliest time pending may go out
	flight    *payload  // the request in flight, if any
	lastSend  time.Time // when the last request went out
	seq       int

	// What was last queued, for the seed-mode flush.
	queuedAny bool
	queuedPos float64
	// What was last sent, for the rule that a final send with nothing new
	// is skipped: last is the latest payload dispatched, and lastOK tells
	// that it arrived as far as the player can know (a beacon, which the
	// browser delivers even after the page is gone, or a fetch that
	// succeeded), rather than being in flight or failed.
	last   *payload
	lastOK bool
}

// Engine schedules the sends of one player instance.
// It is not safe for concurrent use.
type Engine struct {
	uuid, session, token string
	hooks                []*hook
	jitter               func() float64

	started  bool      // playback has started at least once
	playing  bool      // not paused
	runStart time.Time // start of the current playing run
	seeking  bool
	ended    bool // "ended" was sent for the current reaching of the end
	watched  Watched
	duration float64
}

// New returns an engine for cfg. Webhooks whose URL lacks a required
// parameter are kept but never send.
func New(cfg Config) *Engine {
	e := &Engine{uuid: cfg.UUID, session: cfg.Session, token: cfg.Token, jitter: cfg.Jitter}
	for _, w := range cfg.Webhooks {
		value, ok := cfg.Query.Get(w.RequestField)
		e.hooks = append(e.hooks, &hook{
			cfg:      w,
			interval: Interval(w.RPM),
			value:    value,
			enabled:  !w.RequireParam || (ok && value != ""),
		})
	}
	return e
}

// Active reports how many webhooks will send at all.
func (e *Engine) Active() int {
	n := 0
	for _, h := range e.hooks {
		if h.enabled {
			n++
		}
	}
	return n
}

// Play reports that playback started or resumed at m.Position.
// A play while already playing changes nothing: there is one clock.
func (e *Engine) Play(now time.Time, m Media) {
	e.observe(m)
	if e.playing {
		return
	}
	e.started, e.playing, e.runStart, e.ended = true, true, now, false
	if !e.seeking {
		e.watched.Start(now, finitePos(m.Position))
	}
	e.event(now, EventPlay, m, 0)
}

// Pause reports that playback paused. A pause that comes with reaching the
// end (m.Ended) only stops the clock: Ended reports the rest.
func (e *Engine) Pause(now time.Time, m Media) {
	e.observe(m)
	if !e.playing {
		return
	}
	e.stop(now, m)
	if m.Ended {
		return
	}
	e.event(now, EventPause, m, 0)
	e.flushSeed(now, m)
}

// Ended reports that playback reached the end of the media. It sends once
// per reaching of the end.
func (e *Engine) Ended(now time.Time, m Media) {
	e.observe(m)
	if e.playing {
		e.stop(now, m)
	}
	if e.ended || !e.started {
		return
	}
	e.ended = true
	e.event(now, EventEnded, m, 0)
	e.flushSeed(now, m)
}

// Seeking reports that a seek began. The position is already the target,
// so the played range closes where it was last seen.
func (e *Engine) Seeking(now time.Time, m Media) {
	e.observe(m)
	e.seeking = true
	e.watched.Stop(now, -1)
}

// Seeked reports that a seek settled at m.Position. Several seeks in quick
// succession send one "seeked", once the position has stayed put for
// SeekSettle.
func (e *Engine) Seeked(now time.Time, m Media) {
	e.observe(m)
	e.seeking = false
	if e.playing {
		e.watched.Start(now, finitePos(m.Position))
	}
	if !m.Ended {
		e.ended = false
	}
	e.event(now, EventSeeked, m, SeekSettle)
}

// Progress reports the position while playing (a timeupdate). It feeds the
// watched time; it never sends by itself.
func (e *Engine) Progress(now time.Time, m Media) {
	e.observe(m)
	if e.playing && !e.seeking {
		e.watched.Update(now, finitePos(m.Position))
	}
}

func (e *Engine) observe(m Media) {
	if knownDuration(m.Duration) {
		e.duration = m.Duration
	}
}

// stop ends the current playing run: clocks stop, the played range closes.
func (e *Engine) stop(now time.Time, m Media) {
	for _, h := range e.hooks {
		h.acc += h.running(now, e.runStart)
	}
	e.playing = false
	if !e.seeking {
		e.watched.Stop(now, finitePos(m.Position))
	}
}

// running is the playing time counted by h's clock in the current run.
func (h *hook) running(now, runStart time.Time) time.Duration {
	start := runStart
	if h.since.After(start) {
		start = h.since
	}
	if d := now.Sub(start); d > 0 {
		return d
	}
	return 0
}

// due returns when h's next heartbeat is due, valid while playing.
func (h *hook) due(runStart time.Time) time.Time {
	start := runStart
	if h.since.After(start) {
		start = h.since
	}
	return start.Add(h.interval - h.acc)
}

// event queues an event for the webhooks that send events, no earlier than
// settle from now and EventSpacing after their last send.
func (e *Engine) event(now time.Time, ev Event, m Media, settle time.Duration) {
	if !e.started {
		return
	}
	for _, h := range e.hooks {
		if !h.enabled || !h.cfg.Events {
			continue
		}
		at := now.Add(settle)
		if next := h.lastSend.Add(EventSpacing); !h.lastSend.IsZero() && next.After(at) {
			at = next
		}
		e.queue(now, h, ev, m, at)
	}
}

// flushSeed queues the final position for seed-mode webhooks (events off)
// when what they last sent is more than a second away from it.
func (e *Engine) flushSeed(now time.Time, m Media) {
	for _, h := range e.hooks {
		if h.enabled && !h.cfg.Events && h.stale(m.Position) {
			e.queue(now, h, EventHeartbeat, m, now)
		}
	}
}

// stale reports whether pos is worth a final send: more than a second from
// the position last queued, or nothing queued yet.
func (h *hook) stale(pos float64) bool {
	d := finitePos(pos) - h.queuedPos
	return !h.queuedAny || d > 1 || d < -1
}

// queue makes a payload h's pending one, replacing any older one, and
// restarts h's heartbeat clock.
func (e *Engine) queue(now time.Time, h *hook, ev Event, m Media, notBefore time.Time) {
	h.pending = e.payload(ev, m)
	h.notBefore = notBefore
	h.restart(now, m.Position)
}

func (h *hook) restart(now time.Time, pos float64) {
	h.acc, h.since = 0, now
	h.queuedAny, h.queuedPos = true, finitePos(pos)
}

func (e *Engine) payload(ev Event, m Media) *payload {
	return &payload{
		event:    ev,
		position: finitePos(m.Position),
		duration: e.duration,
		watched:  e.watched.Seconds(),
	}
}

// Poll queues the heartbeats that are due at now and returns the requests
// to start now, which it counts as in flight until Done.
func (e *Engine) Poll(now time.Time, m Media) []Send {
	e.observe(m)
	if e.playing && !e.seeking {
		e.watched.Update(now, finitePos(m.Position))
	}
	var sends []Send
	for _, h := range e.hooks {
		if !h.enabled {
			continue
		}
		if e.playing && !now.Before(h.due(e.runStart)) {
			e.queue(now, h, EventHeartbeat, m, now)
		}
		if h.pending == nil || h.flight != nil || now.Before(h.notBefore) {
			continue
		}
		p := h.pending
		h.pending, h.flight = nil, p
		sends = append(sends, e.dispatch(now, h, p, false))
	}
	return sends
}

// dispatch stamps p as sent now and builds its request.
func (e *Engine) dispatch(now time.Time, h *hook, p *payload, beacon bool) Send {
	if p.seq == 0 {
		h.seq++
		p.seq = h.seq
	}
	if p.fields == nil {
		p.fields = e.fields(h, p)
	}
	h.lastSend = now
	h.last, h.lastOK = p, beacon
	// A payload's first try restarts the clock (so did queueing, which keeps
	// a due heartbeat from being queued again while it waits). A retry does
	// not: the heartbeats of a failing endpoint stay 60/rpm s apart, and the
	// next one replaces a retry still waiting (PROTOCOL.md §4).
	if p.attempt == 0 {
		h.acc, h.since = 0, now
	}
	return Send{
		Webhook: h.cfg.ID,
		URL:     h.cfg.URL,
		Event:   p.event,
		Seq:     p.seq,
		Attempt: p.attempt,
		Beacon:  beacon,
		Fields:  p.fields,
	}
}

// fields builds the body of p for h (PROTOCOL.md §3).
func (e *Engine) fields(h *hook, p *payload) []Field {
	f := []Field{
		{"uuid", e.uuid},
		{"position", FormatSeconds(p.position)},
		{h.cfg.ResponseField, h.value},
	}
	if !h.cfg.Events {
		return f
	}
	f = append(f, Field{"event", string(p.event)})
	if knownDuration(p.duration) {
		f = append(f, Field{"duration", FormatSeconds(p.duration)})
	}
	f = append(f,
		Field{"session", e.session},
		Field{"seq", strconv.Itoa(p.seq)},
		Field{"watched", FormatSeconds(p.watched)},
	)
	if knownDuration(p.duration) {
		f = append(f, Field{"progress", FormatRatio(p.watched / p.duration)})
	}
	if e.token != "" {
		f = append(f, Field{"token", e.token})
	}
	return f
}

// Done reports the outcome of the request in flight for webhook id. A
// retryable failure is tried again after a backoff, unless a newer payload
// is already waiting: the newer one wins.
func (e *Engine) Done(now time.Time, id string, r Result) {
	h := e.hook(id)
	if h == nil || h.flight == nil {
		return
	}
	p := h.flight
	h.flight = nil
	if p == h.last {
		h.lastOK = r.Err == nil && r.Status < 400
	}
	if !r.Retryable() || h.pending != nil || p.attempt >= MaxRetries {
		return
	}
	p.attempt++
	h.pending = p
	h.notBefore = now.Add(e.backoff(h, p.attempt))
}

// backoff returns the wait before retry n (1-based): 1 s, 2 s, 4 s … plus
// up to half of that again as jitter, capped at the webhook's interval.
func (e *Engine) backoff(h *hook, n int) time.Duration {
	d := time.Second << (n - 1)
	if e.jitter != nil {
		d += time.Duration(e.jitter() * float64(d/2))
	}
	return min(d, h.interval)
}

func (e *Engine) hook(id string) *hook {
	for _, h := range e.hooks {
		if h.cfg.ID == id {
			return h
		}
	}
	return nil
}

// Next returns when Poll should be called next, and false when nothing is
// scheduled (paused with nothing waiting).
func (e *Engine) Next() (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, h := range e.hooks {
		if !h.enabled {
			continue
		}
		if h.pending != nil && h.flight == nil {
			consider(h.notBefore)
		}
		if e.playing && !e.seeking {
			consider(h.due(e.runStart))
		}
	}
	return next, !next.IsZero()
}

// Hidden reports that the page became hidden. It returns the beacons to
// send synchronously, before the handler returns: a "hidden" event while
// playing, otherwise whatever was still waiting to be sent, and the final
// position of seed-mode webhooks.
func (e *Engine) Hidden(now time.Time, m Media) []Send {
	e.observe(m)
	return e.final(now, m, EventHidden, e.playing)
}

// Leave reports that the page is going away (pagehide). It returns the
// beacons to send synchronously. A "leave" at the position of a "hidden"
// just sent, or of an "ended" or "pause" that arrived, is skipped: nothing
// was watched since.
func (e *Engine) Leave(now time.Time, m Media) []Send {
	e.observe(m)
	if e.playing {
		e.stop(now, m)
	}
	return e.final(now, m, EventLeave, true)
}

// final returns the beacons of a "hidden" or "leave": what is still
// waiting, and for event webhooks the event itself when announce is set,
// unless the last send arrived at this very position with nothing waiting
// (after "ended", nothing more goes out). Seed-mode webhooks get the final
// position as a heartbeat when it is stale.
func (e *Engine) final(now time.Time, m Media, ev Event, announce bool) []Send {
	if !e.started {
		return nil
	}
	pos := FormatSeconds(m.Position)
	var sends []Send
	for _, h := range e.hooks {
		if !h.enabled {
			continue
		}
		p := h.pending
		switch {
		case h.cfg.Events && announce && !(p == nil && h.arrivedAt(pos)):
			p = e.payload(ev, m)
		case !h.cfg.Events && h.stale(m.Position):
			p = e.payload(EventHeartbeat, m)
		}
		if p == nil {
			continue
		}
		h.pending = nil
		h.restart(now, p.position)
		sends = append(sends, e.dispatch(now, h, p, true))
	}
	return sends
}

// arrivedAt reports whether h's last send is known to have arrived and
// carried position pos: a final send at pos would tell the receiver
// nothing new. A fetch still in flight does not count: the page going away
// may cancel it.
func (h *hook) arrivedAt(pos string) bool {
	return h.last != nil && h.lastOK && h.last.fields[1].Value == pos
}

// BeaconRefused reports that navigator.sendBeacon returned false for s (the
// browser's beacon quota was full). The payload goes out once more by fetch
// if the page lives on, unless something newer is waiting; it is not retried
// after that.
func (e *Engine) BeaconRefused(now time.Time, s Send) {
	h := e.hook(s.Webhook)
	if h == nil {
		return
	}
	if h.last != nil && h.last.seq == s.Seq {
		h.lastOK = false
	}
	if h.pending != nil {
		return
	}
	h.pending = &payload{event: s.Event, seq: s.Seq, attempt: MaxRetries, fields: s.Fields}
	h.notBefore = now
}
