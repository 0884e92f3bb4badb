package heartbeat

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// t0 is the fixed start of every simulated timeline.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// sent is a request the simulated player made, with when it was made.
type sent struct {
	Send
	at time.Duration
}

func (s sent) field(name string) string {
	for _, f := range s.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return "<absent>"
}

func (s sent) has(name string) bool { return s.field(name) != "<absent>" }

func (s sent) String() string {
	kind := "fetch"
	if s.Beacon {
		kind = "beacon"
	}
	return fmt.Sprintf("%s %s %s@%v pos=%s", kind, s.Webhook, s.Event, s.at, s.field("position"))
}

// sim drives an Engine the way the browser glue does (wasm/player's
// Tracker), with a simulated media element and receiver, in simulated time:
// every reported event is followed by a Poll, as the tracker pumps after
// each one. Nothing sleeps.
type sim struct {
	t       testing.TB
	e       *Engine
	now     time.Duration // since t0
	pos     float64       // media position at now
	dur     float64       // media duration (+Inf for live)
	rate    float64
	playing bool

	latency time.Duration       // how long each fetch takes
	respond func(s Send) Result // the receiver's answer; 200 when nil
	flights []sent              // fetches in flight
	sent    []sent              // every request made, in order
	results []Result            // the result of each fetch, in order of completion
}

func newSim(t testing.TB, dur float64, query string, hooks ...Webhook) *sim {
	t.Helper()
	return &sim{
		t:    t,
		dur:  dur,
		rate: 1,
		e: New(Config{
			UUID:     "uuid-1234",
			Session:  "sess-A",
			Query:    ParseQuery(query),
			Webhooks: hooks,
		}),
	}
}

func (s *sim) media() Media {
	return Media{Position: s.pos, Duration: s.dur, Ended: s.dur > 0 && s.pos >= s.dur}
}

func (s *sim) at() time.Time { return t0.Add(s.now) }

// run advances simulated time to the offset to, doing on the way what the
// browser would: timeupdates every 250 ms, polls when the engine asks,
// fetch completions, and the media reaching its end.
func (s *sim) run(to time.Duration) {
	s.t.Helper()
	for guard := 0; s.now < to; guard++ {
		if guard > 1_000_000 {
			s.t.Fatalf("simulation does not progress at %v", s.now)
		}
		next := to
		if s.playing {
			tick := (s.now/(250*time.Millisecond) + 1) * 250 * time.Millisecond
			next = min(next, tick)
			if !math.IsInf(s.dur, 1) {
				left := time.Duration((s.dur - s.pos) / s.rate * float64(time.Second))
				next = min(next, s.now+max(left, 0))
			}
		}
		if w, ok := s.e.Next(); ok {
			next = min(next, max(w.Sub(t0), s.now))
		}
		for _, f := range s.flights {
			next = min(next, f.at+s.latency)
		}
		s.step(next)
	}
}

// step moves to offset next and handles whatever happens there.
func (s *sim) step(next time.Duration) {
	if s.playing {
		s.pos += (next - s.now).Seconds() * s.rate
		if s.pos >= s.dur-1e-9 {
			s.pos = s.dur
		}
	}
	s.now = next
	var left []sent
	for _, f := range s.flights {
		if f.at+s.latency <= s.now {
			r := Result{Status: 200}
			if s.respond != nil {
				r = s.respond(f.Send)
			}
			s.results = append(s.results, r)
			s.e.Done(s.at(), f.Webhook, r)
		} else {
			left = append(left, f)
		}
	}
	s.flights = left
	if s.playing {
		s.e.Progress(s.at(), s.media())
		if s.pos >= s.dur {
			// A media element that reaches the end fires pause, then
			// ended; the tracker polls after each event, so whatever the
			// pause queued would go out before ended is reported.
			s.playing = false
			s.e.Pause(s.at(), s.media())
			s.poll()
			s.e.Ended(s.at(), s.media())
		}
	}
	s.poll()
}

func (s *sim) poll() {
	for _, snd := range s.e.Poll(s.at(), s.media()) {
		f := sent{snd, s.now}
		s.sent = append(s.sent, f)
		s.flights = append(s.flights, f)
	}
}

func (s *sim) play() {
	s.playing = true
	s.e.Play(s.at(), s.media())
	s.poll()
}

func (s *sim) pause() {
	s.playing = false
	s.e.Pause(s.at(), s.media())
	s.poll()
}

// seek jumps to pos the way a media element reports it: seeking, then
// seeked. Like the tracker, it polls after each event.
func (s *sim) seek(pos float64) {
	s.pos = pos
	s.e.Seeking(s.at(), s.media())
	s.poll()
	s.e.Seeked(s.at(), s.media())
	s.poll()
}

func (s *sim) beacons(sends []Send) {
	for _, b := range sends {
		s.sent = append(s.sent, sent{b, s.now})
	}
}

func (s *sim) hide()  { s.beacons(s.e.Hidden(s.at(), s.media())) }
func (s *sim) leave() { s.playing = false; s.beacons(s.e.Leave(s.at(), s.media())) }

// events lists what was sent as "event@seconds", for compact assertions.
func (s *sim) events(webhook string) []string {
	var out []string
	for _, f := range s.sent {
		if webhook == "" || f.Webhook == webhook {
			out = append(out, fmt.Sprintf("%s@%s", f.Event, FormatSeconds(f.at.Seconds())))
		}
	}
	return out
}

func (s *sim) dump() string {
	var b strings.Builder
	for _, f := range s.sent {
		fmt.Fprintln(&b, f)
	}
	return b.String()
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// webhook returns a webhook with the seed's fields at rpm.
func webhook(id string, rpm int, events bool) Webhook {
	return Webhook{
		ID: id, URL: "https://receiver.example/" + id,
		RequestField: "student", ResponseField: "student_id",
		RPM: rpm, Events: events,
	}
}
