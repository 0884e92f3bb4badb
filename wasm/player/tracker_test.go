package player

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/wasm/heartbeat"
	"github.com/pulsehq/pulse/wasm/media"
)

// fakeMedia plays in (synctest) time: its position moves with the clock.
type fakeMedia struct {
	mu       sync.Mutex
	subs     []func(media.Event)
	playing  bool
	base     float64
	since    time.Time
	duration float64
}

func (f *fakeMedia) pos() float64 {
	if !f.playing {
		return f.base
	}
	return math.Min(f.base+time.Since(f.since).Seconds(), f.duration)
}

func (f *fakeMedia) emit(ev media.Event) {
	for _, s := range f.subs {
		s(ev)
	}
}

func (f *fakeMedia) Play() error {
	f.mu.Lock()
	f.playing, f.since = true, time.Now()
	f.mu.Unlock()
	f.emit(media.Play)
	return nil
}

func (f *fakeMedia) Pause() {
	f.mu.Lock()
	f.base, f.playing = f.pos(), false
	f.mu.Unlock()
	f.emit(media.Pause)
}

// load reloads the source as HTMLMediaElement.load() does: playback
// pauses, with a loadstart and no pause event.
func (f *fakeMedia) load() {
	f.mu.Lock()
	f.base, f.playing = f.pos(), false
	f.mu.Unlock()
	f.emit(media.LoadStart)
}

// stop pauses playback without any event.
func (f *fakeMedia) stop() {
	f.mu.Lock()
	f.base, f.playing = f.pos(), false
	f.mu.Unlock()
}

func (f *fakeMedia) Seek(s float64) {
	f.mu.Lock()
	f.base, f.since = s, time.Now()
	f.mu.Unlock()
	f.emit(media.Seeking)
	f.emit(media.Seeked)
}

func (f *fakeMedia) Position() float64       { f.mu.Lock(); defer f.mu.Unlock(); return f.pos() }
func (f *fakeMedia) Duration() float64       { return f.duration }
func (f *fakeMedia) Paused() bool            { f.mu.Lock(); defer f.mu.Unlock(); return !f.playing }
func (f *fakeMedia) Ended() bool             { return f.Position() >= f.duration }
func (f *fakeMedia) Buffered() []media.Range { return nil }
func (f *fakeMedia) Rate() float64           { return 1 }
func (f *fakeMedia) SetRate(float64)         {}
func (f *fakeMedia) Volume() float64         { return 1 }
func (f *fakeMedia) SetVolume(float64)       {}
func (f *fakeMedia) Muted() bool             { return false }
func (f *fakeMedia) SetMuted(bool)           {}
func (f *fakeMedia) Err() error              { return nil }
func (f *fakeMedia) On(fn func(media.Event)) { f.subs = append(f.subs, fn) }

// fakeSender records requests; a post takes latency and answers status,
// or fails with err (a CORS refusal when cors is set, which no-cors mode
// gets past). With refuse, sendBeacon returns false (its quota is full).
type fakeSender struct {
	mu       sync.Mutex
	start    time.Time
	posts    []string
	sends    []heartbeat.Send // every post, in order
	beacons  []string
	refuse   bool
	status   int
	err      error
	cors     bool
	latency  time.Duration
	diagnose int
	opaque   int
}

func (s *fakeSender) describe(x heartbeat.Send) string {
	var ev, pos string
	for _, f := range x.Fields {
		switch f.Name {
		case "event":
			ev = f.Value
		case "position":
			pos = f.Value
		}
	}
	return x.Webhook + ":" + ev + "@" + heartbeat.FormatSeconds(time.Since(s.start).Seconds()) + "/" + pos
}

func (s *fakeSender) Post(x heartbeat.Send, opaque bool) heartbeat.Result {
	s.mu.Lock()
	s.posts = append(s.posts, s.describe(x))
	s.sends = append(s.sends, x)
	status, latency, err := s.status, s.latency, s.err
	if opaque {
		s.opaque++
	}
	s.mu.Unlock()
	time.Sleep(latency)
	switch {
	case opaque && s.cors:
		return heartbeat.Result{Status: 0}
	case err != nil:
		return heartbeat.Result{Err: err}
	case status == 0:
		status = 200
	}
	return heartbeat.Result{Status: status}
}

func (s *fakeSender) Beacon(x heartbeat.Send) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beacons = append(s.beacons, s.describe(x))
	return !s.refuse
}

func (s *fakeSender) Diagnose(url string, r heartbeat.Result) Diagnosis {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.diagnose++
	if s.cors {
		return Diagnosis{NoCORS, "no Access-Control-Allow-Origin"}
	}
	if r.Err != nil {
		return Diagnosis{Failed, "unreachable"}
	}
	return Diagnosis{Failed, "HTTP 500"}
}

func (s *fakeSender) got() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posts...), append([]string(nil), s.beacons...)
}

func newTracker(t *testing.T, m *fakeMedia, s *fakeSender, warn func(string), hooks ...heartbeat.Webhook) *Tracker {
	t.Helper()
	eng := heartbeat.New(heartbeat.Config{UUID: "u", Session: "s", Query: heartbeat.ParseQuery("student=john_doe"), Webhooks: hooks})
	if warn == nil {
		warn = func(msg string) { t.Log(msg) }
	}
	tr := NewTracker(eng, hooks, m, s, warn)
	tr.Start()
	return tr
}

func hook(id string, rpm int, events bool) heartbeat.Webhook {
	return heartbeat.Webhook{ID: id, URL: "https://r.example/" + id, RequestField: "student", ResponseField: "student_id", RPM: rpm, Events: events}
}

func TestTrackerHeartbeatsInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), latency: 50 * time.Millisecond}
		tr := newTracker(t, m, s, nil, hook("a", 6, true), hook("b", 20, false))
		m.Play()
		time.Sleep(31 * time.Second)
		synctest.Wait()
		m.Pause()
		time.Sleep(60 * time.Second) // nothing while paused
		synctest.Wait()
		tr.Leave()
		posts, beacons := s.got()
		assert.Equal(t, []string{"a:play@0/0", "a:heartbeat@10/10", "a:heartbeat@20/20", "a:heartbeat@30/30", "a:pause@31/31"},
			only(posts, "a:"))
		assert.Equal(t, []string{"b:@3/3", "b:@6/6", "b:@9/9", "b:@12/12", "b:@15/15", "b:@18/18", "b:@21/21",
			"b:@24/24", "b:@27/27", "b:@30/30"}, // in seed mode, 30 was within a second of the pause: no flush
			only(posts, "b:"))
		assert.Empty(t, beacons, "the pause at 31 arrived and nothing was played since: no leave")
	})
}

// only keeps the entries with a prefix: sends of different webhooks at the
// same instant go out in no fixed order.
func only(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func TestTrackerStartsWhenAlreadyPlaying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now()}
		m.Play() // before the config arrived
		time.Sleep(5 * time.Second)
		newTracker(t, m, s, nil, hook("a", 6, true))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		posts, _ := s.got()
		assert.Equal(t, []string{"a:play@5/5", "a:heartbeat@15/15"}, posts)
	})
}

func TestTrackerHiddenSendsBeaconsSynchronously(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now()}
		tr := newTracker(t, m, s, nil, hook("a", 6, true), hook("b", 6, true), hook("c", 6, false))
		m.Play()
		time.Sleep(12 * time.Second)
		tr.Hidden()
		_, beacons := s.got() // no waiting: they went out inside Hidden
		assert.Equal(t, []string{"a:hidden@12/12", "b:hidden@12/12", "c:@12/12"}, beacons)
	})
}

func TestTrackerLogsFailureOncePerStreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), status: 500}
		var warnings []string
		var mu sync.Mutex
		newTracker(t, m, s, func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }, hook("a", 60, false))
		m.Play()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, warnings, 1, "one explanation per failure streak")
		assert.True(t, strings.Contains(warnings[0], "webhook a (https://r.example/a): HTTP 500"), warnings[0])
		posts, _ := s.got()
		assert.Greater(t, len(posts), 5, "heartbeats go on while the endpoint fails")
	})
}

// A buffering stall (waiting, then playing) is neither a pause nor a new
// start, and a source that reloads (a second loadstart) while it plays on
// keeps the session: the clock, the session and its seq go on.
func TestTrackerStallAndReloadKeepSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now()}
		newTracker(t, m, s, nil, hook("a", 6, true))
		m.Play()
		time.Sleep(4 * time.Second)
		m.emit(media.Waiting)
		time.Sleep(2 * time.Second)
		m.emit(media.LoadStart)
		m.emit(media.Playing)
		m.emit(media.Play) // some browsers fire play again after a reload
		time.Sleep(15 * time.Second)
		synctest.Wait()
		posts, _ := s.got()
		assert.Equal(t, []string{"a:play@0/0", "a:heartbeat@10/10", "a:heartbeat@20/20"}, posts)
		assertOneSession(t, s)
	})
}

// assertOneSession checks that every post carries the tracker's session
// and that seq counts on without a restart.
func assertOneSession(t *testing.T, s *fakeSender) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.sends)
	for i, x := range s.sends {
		fields := map[string]string{}
		for _, f := range x.Fields {
			fields[f.Name] = f.Value
		}
		assert.Equal(t, "s", fields["session"], "post %d", i)
		assert.Equal(t, strconv.Itoa(i+1), fields["seq"], "post %d", i)
	}
}

// HTMLMediaElement.load() pauses playback without a pause event. The
// tracker notices on the loadstart, or at its next wake-up for a pause
// that comes with no event at all, and stops the clock: no heartbeats for
// media that does not play. Playing again keeps the session.
func TestTrackerSilentPause(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pause func(m *fakeMedia)
		want  []string
	}{
		{"load() pauses with loadstart", (*fakeMedia).load,
			[]string{"a:play@0/0", "a:pause@6/6", "a:play@30/6", "a:heartbeat@40/16"}},
		{"no event at all: seen at the next wake-up", (*fakeMedia).stop,
			[]string{"a:play@0/0", "a:pause@10/6", "a:play@30/6", "a:heartbeat@40/16"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &fakeMedia{duration: 600}
				s := &fakeSender{start: time.Now()}
				newTracker(t, m, s, nil, hook("a", 6, true))
				m.Play()
				time.Sleep(6 * time.Second)
				tc.pause(m)
				time.Sleep(24 * time.Second) // nothing while paused
				synctest.Wait()
				m.Play()
				time.Sleep(15 * time.Second)
				synctest.Wait()
				posts, _ := s.got()
				assert.Equal(t, tc.want, posts)
				assertOneSession(t, s)
			})
		})
	}
}

// sendBeacon returning false (its quota full): the payload goes once by
// fetch, with one warning, and is neither beaconed again nor retried.
func TestTrackerBeaconRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), refuse: true}
		var warnings []string
		var mu sync.Mutex
		tr := newTracker(t, m, s, func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }, hook("a", 6, true))
		m.Play()
		time.Sleep(12 * time.Second)
		synctest.Wait()
		m.Pause()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		tr.Hidden() // paused with nothing waiting: nothing to send
		m.Play()
		time.Sleep(5 * time.Second)
		tr.Hidden() // at 19 s, playing: a hidden beacon, refused
		time.Sleep(30 * time.Second)
		synctest.Wait()
		posts, beacons := s.got()
		assert.Equal(t, []string{"a:hidden@19/17"}, beacons, "one beacon, not tried again")
		assert.Equal(t, []string{"a:hidden@19/17"}, only(posts, "a:hidden"), "one fetch instead")
		assert.Equal(t, []string{"a:play@0/0", "a:heartbeat@10/10", "a:pause@12/12", "a:play@14/12", "a:hidden@19/17",
			"a:heartbeat@29/27", "a:heartbeat@39/37", "a:heartbeat@49/47"}, posts, "the clock goes on; no loop")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "refused a beacon to https://r.example/a")
	})
}

// An endpoint that receives POSTs but answers no CORS gets each payload
// once, in no-cors mode, instead of four times with retries.
func TestTrackerNoCORSEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), cors: true, err: errors.New("TypeError: Failed to fetch")}
		var warnings []string
		var mu sync.Mutex
		newTracker(t, m, s, func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }, hook("a", 60, false))
		m.Play()
		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		posts, _ := s.got()
		assert.Equal(t, []string{"a:@1/1", "a:@2/2", "a:@3/3", "a:@4/4", "a:@5/5"}, posts, "one request per heartbeat, no retries")
		assert.Equal(t, 4, s.opaque, "after the first, in no-cors mode")
		assert.Equal(t, 1, s.diagnose)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "no-cors mode")
	})
}

// Once the probe shows the endpoint answers without CORS, the failure is
// final: no retry. At RPM 6 a retry (1 s later) would show between the
// heartbeats.
func TestTrackerNoCORSNoRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), cors: true, err: errors.New("TypeError: Failed to fetch")}
		newTracker(t, m, s, nil, hook("a", 6, false))
		m.Play()
		time.Sleep(35 * time.Second)
		synctest.Wait()
		posts, _ := s.got()
		assert.Equal(t, []string{"a:@10/10", "a:@20/20", "a:@30/30"}, posts, "one request per heartbeat, no retries")
		assert.Equal(t, 2, s.opaque)
		assert.Equal(t, 1, s.diagnose)
	})
}

// A dead endpoint is probed again at most every reprobe, and explained
// once per streak.
func TestTrackerDeadEndpointProbedSparingly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &fakeMedia{duration: 600}
		s := &fakeSender{start: time.Now(), err: errors.New("TypeError: Failed to fetch")}
		var warnings []string
		var mu sync.Mutex
		newTracker(t, m, s, func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }, hook("a", 60, false))
		m.Play()
		time.Sleep(65 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, s.diagnose, "at 1 s, then every 30 s")
		mu.Lock()
		defer mu.Unlock()
		assert.Len(t, warnings, 1)
	})
}
