package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"
)

// The scenarios of issue 3 in a real browser. The pure engine's tests
// (wasm/heartbeat) cover each rule exactly in simulated time; these show
// that the browser glue delivers the same, against receivers on other
// origins, at rates chosen to keep each test short.

// addClip imports the first seconds of the speech recording as a short
// clip and returns its uuid.
func (s *server) addClip(t testing.TB, seconds float64) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mp3Dir, "mpeg2.mp3"))
	require.NoError(t, err)
	const bytesPerSecond = 450187.0 / 75.02 // 48 kbps
	n := int(seconds * bytesPerSecond)
	path := filepath.Join(t.TempDir(), fmt.Sprintf("clip-%gs.mp3", seconds))
	require.NoError(t, os.WriteFile(path, b[:n], 0o644))
	return pulseCmd(t, s.data, "media", "add", path, "--title", fmt.Sprintf("%g s clip", seconds))
}

func click(t testing.TB, ctx context.Context, id string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))))
}

// seek moves the seek slider as a viewer dragging it does.
func seek(t testing.TB, ctx context.Context, to float64) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.getElementById("seek"); s.value = %g;
		s.dispatchEvent(new Event("input", {bubbles: true})); s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, to))
}

func num(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "not a number: %q", s)
	return v
}

// Scenarios 5, 6 and 2: a clip shorter than the interval, played to the
// end, sends play and ended (not pause), and nothing after ended; in seed
// mode the final position still arrives.
func TestScenarioClipPlayedToEnd(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addClip(t, 6)
	ev := startHook(t, true, nil)
	seed := startHook(t, true, nil)
	srv.addWebhook(t, ev.URL, 6)
	srv.addWebhook(t, seed.URL, 6, "--events=false")

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 30*time.Second, "ended", func() bool { return ev.count("ended") > 0 })
	time.Sleep(2 * time.Second)

	require.Equal(t, []string{"play", "ended"}, ev.events(), ev.dump())
	end := ev.posts()[1]
	assert.Equal(t, end.Fields["duration"], end.Fields["position"], "ended at the end")
	assert.InDelta(t, 6, num(t, end.Fields["position"]), 0.5)
	assert.InDelta(t, 1, num(t, end.Fields["progress"]), 0.05)
	assert.Equal(t, "2", end.Fields["seq"])

	require.Equal(t, []string{"heartbeat"}, seed.events(), "seed mode flushes the final position\n%s", seed.dump())
	assert.InDelta(t, 6, num(t, seed.posts()[0].Fields["position"]), 0.5)
	assert.Equal(t, []string{"uuid", "position", "student_id"}, seed.posts()[0].Names)

	for _, h := range []*hook{ev, seed} {
		for _, r := range h.posts() {
			assert.Equal(t, "john_doe", r.Fields["student_id"])
			assert.Equal(t, uuid, r.Fields["uuid"])
		}
	}
}

// Scenario 4: seeking forward adds nothing to watched.
func TestScenarioWatchedAfterSeek(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addClip(t, 20)
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60)

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 10*time.Second, "2 s of playback", func() bool {
		return mediaPosition(t, ctx) >= 2
	})
	seek(t, ctx, 16)
	waitFor(t, 20*time.Second, "ended", func() bool { return h.count("ended") > 0 })

	posts := h.posts()
	end := posts[len(posts)-1]
	require.Equal(t, "ended", end.Fields["event"], h.dump())
	dur := num(t, end.Fields["duration"])
	watched := num(t, end.Fields["watched"])
	want := 2 + (dur - 16)
	assert.InDelta(t, want, watched, 0.8, "watched = 0→2 plus 16→end, not the whole clip")
	assert.InDelta(t, want/dur, num(t, end.Fields["progress"]), 0.05)
	assert.Equal(t, 1, h.count("seeked"))
}

// Scenario 3: seeks during playback, scrubbing included, keep one clock:
// heartbeats stay an interval after the previous send.
func TestScenarioSeeksKeepOneClock(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 20) // every 3 s

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	time.Sleep(1500 * time.Millisecond)
	seek(t, ctx, 30)
	time.Sleep(3 * time.Second)
	for _, to := range []float64{10, 11, 12, 13} { // scrubbing
		seek(t, ctx, to)
		time.Sleep(60 * time.Millisecond)
	}
	time.Sleep(8 * time.Second)
	click(t, ctx, "play") // pause
	time.Sleep(500 * time.Millisecond)

	assert.Equal(t, 2, h.count("seeked"), "one seeked per settled seek\n%s", h.dump())
	posts := h.posts()
	for i := 1; i < len(posts); i++ {
		if posts[i].Fields["event"] == "heartbeat" {
			gap := posts[i].At.Sub(posts[i-1].At)
			assert.Greater(t, gap, 2700*time.Millisecond, "heartbeat %d only %v after the previous send\n%s", i, gap, h.dump())
		}
	}
	assert.GreaterOrEqual(t, h.count("heartbeat"), 2)
}

// Scenario 1: closing the tab sends the final position by beacon.
func TestScenarioTabClosed(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	ev := startHook(t, true, nil)
	seed := startHook(t, true, nil)
	srv.addWebhook(t, ev.URL, 20)
	srv.addWebhook(t, seed.URL, 20, "--events=false")

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 20*time.Second, "two heartbeats", func() bool { return seed.count("heartbeat") >= 2 })
	time.Sleep(1500 * time.Millisecond)
	pos := mediaPosition(t, ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank"))) // the viewer leaves
	// Unloading fires pagehide, then visibilitychange: one final send,
	// "leave"; a "hidden" would make the "leave" at its position redundant.
	waitFor(t, 5*time.Second, "the final sends", func() bool {
		return ev.count("hidden")+ev.count("leave") > 0 && seed.count("heartbeat") >= 3
	})
	time.Sleep(time.Second)

	evs := ev.events()
	assert.Equal(t, 1, ev.count("hidden")+ev.count("leave"), "exactly one final send\n%s", ev.dump())
	final := ev.posts()[len(evs)-1]
	assert.InDelta(t, pos, num(t, final.Fields["position"]), 0.5)
	assert.Equal(t, "john_doe", final.Fields["student_id"])

	sp := seed.posts()
	require.Len(t, sp, 3, seed.dump())
	last, prev := num(t, sp[2].Fields["position"]), num(t, sp[1].Fields["position"])
	assert.InDelta(t, pos, last, 0.5, "seed mode: the final position arrives")
	assert.Greater(t, last-prev, 1.0)
}

// Scenario 8: going hidden with data pending for three webhooks sends three
// multipart beacons, with no preflight, to receivers that allow only "*".
func TestScenarioHiddenFlushesEveryWebhook(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	hooks := []*hook{startHook(t, true, nil), startHook(t, true, nil), startHook(t, true, nil)}
	srv.addWebhook(t, hooks[0].URL, 2)
	srv.addWebhook(t, hooks[1].URL, 2)
	srv.addWebhook(t, hooks[2].URL, 2, "--events=false")

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	time.Sleep(2500 * time.Millisecond)
	setWindow(t, ctx, browser.WindowStateMinimized)
	require.Equal(t, "hidden", eval[string](t, ctx, `document.visibilityState`))
	waitFor(t, 5*time.Second, "a final send at each webhook", func() bool {
		return hooks[0].count("hidden") == 1 && hooks[1].count("hidden") == 1 && hooks[2].count("heartbeat") == 1
	})
	setWindow(t, ctx, browser.WindowStateNormal)

	for i, h := range hooks {
		for _, r := range h.all() {
			assert.Equal(t, http.MethodPost, r.Method, "hook %d: no OPTIONS request, ever", i)
			assert.Equal(t, "multipart/form-data", r.ContentType)
			assert.Equal(t, srv.URL, r.Origin)
			assert.Equal(t, "john_doe", r.Fields["student_id"])
		}
		last := h.posts()[len(h.posts())-1]
		assert.InDelta(t, 2.5, num(t, last.Fields["position"]), 1)
	}
	assert.False(t, mediaPaused(t, ctx), "playback goes on while hidden")
}

// Scenario 7: two players of the same media and student on one page: only
// the one playing sends, and their sessions differ.
func TestScenarioTwoIframes(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60)
	player := srv.URL + "/v/" + uuid + "?student=john_doe"
	embedder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body style="margin:0">
<iframe id="a" src="%s" width="640" height="200" style="border:0;display:block"></iframe>
<iframe id="b" src="%s" width="640" height="200" style="border:0;display:block"></iframe>`, player, player)
	}))
	t.Cleanup(embedder.Close)

	ctx := newBrowser(t)
	// Where the play button sits in a 640×200 player: the same page at the
	// same size, outside the iframe.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(640, 200)))
	openPlayer(t, ctx, player)
	type rect struct{ X, Y float64 }
	btn := eval[rect](t, ctx, `(() => { const r = document.getElementById("play").getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2} })()`)

	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(800, 600), chromedp.Navigate(embedder.URL)))
	time.Sleep(3 * time.Second) // both players load and arm
	frame := eval[rect](t, ctx, `(() => { const r = document.getElementById("b").getBoundingClientRect(); return {X: r.x, Y: r.y} })()`)
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(frame.X+btn.X, frame.Y+btn.Y)))
	waitFor(t, 15*time.Second, "heartbeats from the second player", func() bool { return h.count("heartbeat") >= 2 })

	sessions := map[string]bool{}
	for _, r := range h.posts() {
		sessions[r.Fields["session"]] = true
		assert.Equal(t, "john_doe", r.Fields["student_id"])
	}
	assert.Len(t, sessions, 1, "only the playing player sends\n%s", h.dump())

	// Now the first one plays too: a second session appears.
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(btn.X, btn.Y)))
	waitFor(t, 10*time.Second, "a second session", func() bool {
		s := map[string]bool{}
		for _, r := range h.posts() {
			s[r.Fields["session"]] = true
		}
		return len(s) == 2
	})
	for s := range sessions {
		assert.GreaterOrEqual(t, len(s), 16, "session ids are long random strings: %q", s)
	}
}

// Scenario 9: an rpm of 600 from the server is clamped to 60, and a
// receiver answering 429 sees backoff, not immediate retries; the console
// says why.
func TestScenarioClampAndBackoff(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, func(int) int { return http.StatusTooManyRequests })
	id := srv.addWebhook(t, h.URL, 60, "--events=false")
	// The server never stores rpm 600; pretend one did.
	_, err := openDB(t, srv).Exec(`UPDATE webhooks SET rpm = 600 WHERE id = ?`, id)
	require.NoError(t, err)

	ctx := newBrowser(t)
	console := consoleOf(ctx)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	time.Sleep(8 * time.Second)

	posts := h.posts()
	assert.LessOrEqual(t, len(posts), 9, "at most one request a second\n%s", h.dump())
	assert.GreaterOrEqual(t, len(posts), 5)
	for i := 1; i < len(posts); i++ {
		assert.Greater(t, posts[i].At.Sub(posts[i-1].At), 850*time.Millisecond, "no tight retry loop\n%s", h.dump())
	}
	waitFor(t, 5*time.Second, "a console explanation", func() bool { return strings.Contains(console.String(), "429") })
	assert.Equal(t, 1, strings.Count(console.String(), "HTTP 429"), "one explanation per failure streak:\n%s", console)
}

// A receiver without CORS headers still gets the POST (simple request);
// the console explains what the receiver must add, and the player goes on
// in no-cors mode: each heartbeat arrives once, not four times.
func TestDiagnosticMissingCORS(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, false, nil)
	srv.addWebhook(t, h.URL, 60, "--events=false")

	ctx := newBrowser(t)
	console := consoleOf(ctx)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "the explanation", func() bool {
		return strings.Contains(console.String(), "Access-Control-Allow-Origin")
	})
	waitFor(t, 15*time.Second, "5 heartbeats", func() bool { return h.count("heartbeat") >= 5 })
	assert.Contains(t, console.String(), h.URL)
	assert.Contains(t, console.String(), "no-cors mode")
	assert.Equal(t, 1, strings.Count(console.String(), "pulse: webhook"), "explained once:\n%s", console)
	seen := map[string]int{}
	for _, r := range h.posts() {
		seen[r.Fields["position"]]++
	}
	for pos, n := range seen {
		assert.Equal(t, 1, n, "position %s arrived %d times\n%s", pos, n, h.dump())
	}
	heads := 0
	for _, r := range h.all() {
		if r.Method == http.MethodHead {
			heads++
		}
	}
	assert.Equal(t, 1, heads, "one HEAD probe told CORS from unreachable")
	assert.False(t, mediaPaused(t, ctx), "playback goes on")
}

// Hostile and odd URL parameters arrive byte-exact and are never
// interpreted.
func TestHostileURLParameters(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	cases := []struct{ param, raw, want string }{
		{"student", "%3Cscript%3Ealert(1)%3C%2Fscript%3E&student=second", "<script>alert(1)</script>"},
		{"name", "J%C3%B6rg%20%E5%AD%A6%E7%94%9F%20%F0%9F%8E%93+%22q%22", "Jörg 学生 🎓 \"q\""},
		{"long", strings.Repeat("x", 10*1024), strings.Repeat("x", 10*1024)},
		{"bad", "100%zz%", "100%zz%"},
		{"null", "", ""},
	}
	var query []string
	hooks := map[string]*hook{}
	for _, c := range cases {
		h := startHook(t, true, nil)
		hooks[c.param] = h
		pulseCmd(t, srv.data, "webhook", "add", "--url", h.URL, "--request-field", c.param, "--response-field", "value", "--rpm", "60")
		if c.param != "null" {
			query = append(query, c.param+"="+c.raw)
		}
	}
	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?"+strings.Join(query, "&"))
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "heartbeats at every hook", func() bool {
		for _, h := range hooks {
			if h.count("heartbeat") < 1 {
				return false
			}
		}
		return true
	})
	for _, c := range cases {
		for _, r := range hooks[c.param].posts() {
			assert.Equal(t, c.want, r.Fields["value"], "parameter %s", c.param)
		}
	}
	assert.Equal(t, "Pulse", eval[string](t, ctx, `document.title.split(" · ").pop()`), "the page was not altered")
}

// openDB opens the server's SQLite database, for what no command does.
func openDB(t testing.TB, s *server) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(s.data, "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// consoleOf collects the page's console messages.
func consoleOf(ctx context.Context) *lockedBuffer {
	var buf lockedBuffer
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			fmt.Fprintln(&buf, m)
		}
	}()
	return &buf
}

// Scenario 10: the playback rate does not change the wall-clock interval,
// and position is the true media position.
func TestScenarioPlaybackRate(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 30, "--events=false") // every 2 s

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 10*time.Second, "a first heartbeat", func() bool { return len(h.posts()) >= 1 })
	setPlaybackRate(t, ctx, "2")
	waitFor(t, 15*time.Second, "four more heartbeats", func() bool { return len(h.posts()) >= 5 })
	setPlaybackRate(t, ctx, "1.5")
	waitFor(t, 15*time.Second, "two more heartbeats", func() bool { return len(h.posts()) >= 7 })

	posts := h.posts()
	for i := 2; i < len(posts); i++ {
		gap := posts[i].At.Sub(posts[i-1].At).Seconds()
		assert.InDelta(t, 2, gap, 0.35, "heartbeats stay 2 s of wall-clock time apart\n%s", h.dump())
		advance := num(t, posts[i].Fields["position"]) - num(t, posts[i-1].Fields["position"])
		want := 4.0 // at 2×, set right after the first heartbeat
		if i >= 5 {
			want = 3 // at 1.5×, set right after the fifth
		}
		assert.InDelta(t, want, advance, 0.5, "position %d is the media position", i)
	}
}
