package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/demo"
	"github.com/pulsehq/pulse/server/receiver"
)

// verifyingHook is a receiver that checks every heartbeat's token with the
// receiver kit and answers 403 to what it cannot verify.
type verifyingHook struct {
	URL string
	v   *receiver.Verifier

	mu       sync.Mutex
	accepted []*receiver.Heartbeat
	refused  []string
}

func startVerifyingHook(t testing.TB, pulseURL string) *verifyingHook {
	h := &verifyingHook{v: &receiver.Verifier{JWKSURL: pulseURL + "/.well-known/jwks.json"}}
	srv := httptest.NewServer(receiver.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hb, err := receiver.Parse(r)
		if err == nil {
			_, err = h.v.Verify(r.Context(), hb, receiver.Expect{RequestField: "student", ResponseField: "student_id"})
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil {
			h.refused = append(h.refused, err.Error())
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		h.accepted = append(h.accepted, hb)
	})))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/track"
	return h
}

func (h *verifyingHook) counts() (accepted, refused int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.accepted), len(h.refused)
}

// post sends a heartbeat the way curl -F would.
func post(t testing.TB, url string, fields [][2]string) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	res, err := http.Post(url, mw.FormDataContentType(), &body)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// A receiver verifies real heartbeats from a player in Chromium with the
// JWKS alone, and rejects forged ones.
func TestVerifiedHeartbeats(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startVerifyingHook(t, srv.URL)
	srv.addWebhook(t, h.URL, 60)

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "verified heartbeats", func() bool { n, _ := h.counts(); return n >= 3 })
	click(t, ctx, "play")

	h.mu.Lock()
	real := *h.accepted[len(h.accepted)-1]
	_, refusedBefore := len(h.accepted), len(h.refused)
	h.mu.Unlock()
	assert.Zero(t, refusedBefore, "every real heartbeat verifies")
	assert.NotEmpty(t, real.Token)

	forged := func(edit func(f map[string]string)) [][2]string {
		f := map[string]string{"uuid": real.UUID, "position": "999", "student_id": "john_doe", "event": "heartbeat",
			"session": real.Session, "seq": "99", "watched": "75", "token": real.Token}
		edit(f)
		var out [][2]string
		for _, k := range []string{"uuid", "position", "student_id", "event", "session", "seq", "watched", "token"} {
			out = append(out, [2]string{k, f[k]})
		}
		return out
	}
	for name, fields := range map[string][][2]string{
		"made-up token":           forged(func(f map[string]string) { f["token"] = "eyJhbGciOiJFZERTQSJ9.eyJ1dWlkIjoieCJ9.c2ln" }),
		"another student's value": forged(func(f map[string]string) { f["student_id"] = "jane_roe" }),
		"another session":         forged(func(f map[string]string) { f["session"] = "someone-elses-session" }),
		"another media":           forged(func(f map[string]string) { f["uuid"] = "00000000-0000-4000-8000-000000000000" }),
		"no token":                forged(func(f map[string]string) { f["token"] = "" }),
	} {
		assert.Equal(t, http.StatusForbidden, post(t, h.URL, fields), name)
	}
	// Position and watched time stay client-reported: the token proves
	// who and which media, not what was watched.
	assert.Equal(t, http.StatusOK, post(t, h.URL, forged(func(map[string]string) {})))
}

// demoEntries reads the demo receiver's heartbeats.json, newest first.
func demoEntries(t testing.TB, base string) []demo.Entry {
	t.Helper()
	res, err := http.Get(base + "/demo/receiver/heartbeats.json")
	require.NoError(t, err)
	defer res.Body.Close()
	var doc struct{ Heartbeats []demo.Entry }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
	return doc.Heartbeats
}

// The demo receiver shows which heartbeats verify: real ones from
// Chromium, and not forged ones sent as curl would.
func TestDemoReceiverShowsVerification(t *testing.T) {
	srv := startPulse(t, "--demo-receiver", "on")
	uuid := srv.addMedia(t, "mpeg2.mp3")
	pulseCmd(t, srv.data, "webhook", "add", "--url", srv.URL+"/demo/receiver", "--request-field", "student",
		"--response-field", "student_id", "--rpm", "60")
	// A second webhook puts the course in the token too: its value is not
	// a student's.
	pulseCmd(t, srv.data, "webhook", "add", "--url", srv.URL+"/demo/receiver", "--request-field", "course",
		"--response-field", "course_id", "--rpm", "1", "--events=false")

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe&course=jane_roe")
	armed(t, ctx)
	click(t, ctx, "play")
	var real demo.Entry
	waitFor(t, 15*time.Second, "verified heartbeats at the demo receiver", func() bool {
		n := 0
		for _, e := range demoEntries(t, srv.URL) {
			if e.Verified == "verified" && e.Field == "student_id" {
				real = e
				n++
			}
		}
		return n >= 2
	})
	click(t, ctx, "play")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/demo/receiver")))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("rows")))
	require.NoError(t, err)
	assert.Contains(t, text, "verified")

	field := func(name string) string {
		for _, f := range real.Fields {
			if f[0] == name {
				return f[1]
			}
		}
		t.Fatalf("no %s in %v", name, real.Fields)
		return ""
	}
	tok, session := field("token"), field("session")
	require.True(t, strings.HasPrefix(tok, "ey"), tok)
	forge := func(position, student, tok string) {
		assert.Equal(t, http.StatusOK, post(t, srv.URL+"/demo/receiver", [][2]string{{"uuid", uuid}, {"position", position},
			{"student_id", student}, {"event", "heartbeat"}, {"session", session}, {"seq", "99"}, {"watched", "75"}, {"token", tok}}))
	}
	forge("901", "john_doe", "eyJhbGciOiJFZERTQSIsImtpZCI6Im1hZGUtdXAifQ.eyJ1dWlkIjoieCJ9.c2ln") // a made-up token
	forge("902", "jane_roe", tok)                                                                // another student's value
	forge("903", "john_doe", tok+"x")                                                            // a tampered signature
	forge("904", "john_doe", tok)                                                                // the real one, replayed: verifies

	got := map[string]string{}
	for _, e := range demoEntries(t, srv.URL) {
		if strings.HasPrefix(e.Position, "90") {
			got[e.Position] = e.Verified
		}
	}
	assert.Contains(t, got["901"], "unverified: unknown key id", "a made-up token")
	assert.Equal(t, `unverified: heartbeat does not match its token: student_id "jane_roe", token says student="john_doe"`, got["902"],
		"a real token with another student's value, though the page had it as the course")
	assert.Contains(t, got["903"], "unverified: bad signature")
	assert.Equal(t, "verified", got["904"], "position stays client-reported")
	for _, e := range demoEntries(t, srv.URL) {
		if e.Field == "student_id" && !strings.HasPrefix(e.Position, "90") {
			assert.True(t, strings.HasPrefix(e.Verified, "verified"), "every heartbeat from the player verifies: %+v", e)
		}
	}
}

// Signed links: a verified link marks the token lv and feeds webhooks that
// require it; an unsigned one does not; a bad one refuses to play.
func TestSignedLinkInBrowser(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	any := startHook(t, true, nil)
	signedOnly := startHook(t, true, nil)
	srv.addWebhook(t, any.URL, 60)
	srv.addWebhook(t, signedOnly.URL, 60)
	// require_signed_link through the admin API would need a session; set
	// it through the store's database directly.
	setColumn(t, srv, "require_signed_link", 1, signedOnly.URL)

	secretFile := filepath.Join(t.TempDir(), "secret")
	kid := strings.Split(pulseCmd(t, srv.data, "embedkey", "add", "--name", "LMS", "--secret-file", secretFile), "\n")[0]
	out, err := exec.Command(pulseBin, "link", "sign", "--kid", kid, "--secret-file", secretFile, "--ttl", "1h",
		srv.URL+"/v/"+uuid+"?student=john_doe").Output() // an embedder's command: no --data
	require.NoError(t, err)
	link := strings.TrimSpace(string(out))

	ctx := newBrowser(t)
	openPlayer(t, ctx, link)
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "heartbeats at both webhooks", func() bool {
		return any.count("heartbeat") >= 2 && signedOnly.count("heartbeat") >= 2
	})
	click(t, ctx, "play")

	// The same media without a signature: only the first webhook hears.
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=jane")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "jane's heartbeats", func() bool {
		for _, r := range any.posts() {
			if r.Fields["student_id"] == "jane" && r.Fields["event"] == "heartbeat" {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	for _, r := range signedOnly.posts() {
		assert.Equal(t, "john_doe", r.Fields["student_id"], "a webhook that requires a signed link hears nothing from an unsigned page")
	}

	// A tampered link refuses to play, with a clear message.
	tampered := strings.Replace(link, "john_doe", "jane", 1)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(tampered)))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	assert.Contains(t, text, "This link is not valid")
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#play").length`))
	require.NoError(t, err)
	assert.Zero(t, n, "no player on a refused link")
}

// setColumn sets a column of the webhook with the url, straight in SQLite.
func setColumn(t testing.TB, s *server, column string, value any, url string) {
	t.Helper()
	db := openDB(t, s)
	_, err := db.Exec(`UPDATE webhooks SET `+column+` = ? WHERE url = ?`, value, url)
	require.NoError(t, err)
}

// intruder is a page on a third origin, in a sibling frame of the player,
// that keeps sending the player commands and counts what it sent and what
// player messages reached it.
type intruder struct {
	*httptest.Server
	sent, got atomic.Int64
}

func startIntruder(t *testing.T) *intruder {
	in := &intruder{}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/count" {
			sent, _ := strconv.ParseInt(r.URL.Query().Get("sent"), 10, 64)
			got, _ := strconv.ParseInt(r.URL.Query().Get("got"), 10, 64)
			in.sent.Store(max(in.sent.Load(), sent))
			in.got.Store(max(in.got.Load(), got))
			return
		}
		fmt.Fprint(w, `<!doctype html><script>
let sent = 0, got = 0;
addEventListener("message", (e) => { if (e.data && e.data.type === "pulse") got++; });
const commands = [["pause", []], ["setVolume", [0.1]], ["setMuted", [true]], ["seek", [70]]];
setInterval(() => {
  for (const [command, args] of commands) {
    try { parent.frames[0].postMessage({type: "pulse", command, args, id: 1000 + sent}, "*"); sent++; } catch (e) {}
  }
  fetch("/count?sent=" + sent + "&got=" + got);
}, 100);
</script>`)
	}))
	t.Cleanup(in.Close)
	return in
}

// startEmbedder serves a page that embeds the player at src next to the
// intruder, and records the player's events through /embed.js.
func startEmbedder(t *testing.T, srv *server, src string, in *intruder) *httptest.Server {
	e := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><body>
<iframe id="player" src="%s" width="640" height="200" allow="autoplay"></iframe>
<iframe id="intruder" src="%s" width="10" height="10"></iframe>
<script src="%s/embed.js"></script>
<script>
window.events = [];
window.player = Pulse.player(document.getElementById("player"));
for (const ev of ["ready", "play", "pause", "seeked", "timeupdate", "ended", "error"]) {
  player.on(ev, (e) => events.push(Object.assign({at: performance.now()}, e)));
}
</script>`, src, in.URL, srv.URL)
	}))
	t.Cleanup(e.Close)
	return e
}

// playerIn evaluates a JavaScript expression inside the player's iframe,
// where the controls show the volume and whether the player is muted,
// whatever plays (Pulse's MP3 decoder or a media element).
func playerIn[T any](t *testing.T, ctx context.Context, id, prop string) T {
	t.Helper()
	frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("player")))
	require.NoError(t, err)
	require.NotEmpty(t, frames)
	v, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[T](chromedp.ID(id), prop, chromedp.FromNode(frames[0])))
	require.NoError(t, err, "read %s.%s in the player's frame", id, prop)
	return v
}

func playerVolume(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	return playerIn[float64](t, ctx, "volume", "valueAsNumber")
}

func playerMuted(t *testing.T, ctx context.Context) bool {
	t.Helper()
	return playerIn[string](t, ctx, "mute", "ariaPressed") == "true"
}

// intruderIgnored waits until the intruder has sent commands for a while
// and checks that none took effect: the player did not pause, seek, or
// change its volume, and no player message reached the intruder.
func intruderIgnored(t *testing.T, ctx context.Context, in *intruder, volume float64, muted bool) {
	t.Helper()
	from := in.sent.Load()
	waitFor(t, 10*time.Second, "the intruder to send 40 more commands", func() bool { return in.sent.Load() >= from+40 })
	assert.Positive(t, in.sent.Load(), "the intruder did post")
	assert.Zero(t, in.got.Load(), "no player message reached the intruder")
	assert.False(t, eval[bool](t, ctx, `events.some(e => e.event === "pause" || (e.event === "seeked" && Math.abs(e.position - 70) < 1))`),
		"the intruder's pause and seek were ignored")
	assert.InDelta(t, volume, playerVolume(t, ctx), 0.001, "the intruder's setVolume was ignored")
	assert.Equal(t, muted, playerMuted(t, ctx), "the intruder's setMuted was ignored")
}

// The embedding API: a page on another origin embeds the player, hears its
// events and drives it; a page at a third origin cannot, even when the
// player URL's origin parameter names it.
func TestEmbeddingAPI(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60)
	player := srv.URL + "/v/" + uuid + "?student=john_doe"

	t.Run("embedder", func(t *testing.T) {
		in := startIntruder(t)
		embedder := startEmbedder(t, srv, player, in)
		ctx := newBrowser(t)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(embedder.URL)))
		ready := eval[map[string]any](t, ctx, `player.ready`)
		assert.Equal(t, uuid, ready["uuid"])
		assert.NotEmpty(t, ready["session"])
		duration := eval[float64](t, ctx, `player.ready.then(r => r.duration || 0)`)

		eval[any](t, ctx, `player.play().then(() => null)`)
		waitFor(t, 15*time.Second, "timeupdate events", func() bool {
			return eval[int](t, ctx, `events.filter(e => e.event === "timeupdate").length`) >= 6
		})
		assert.GreaterOrEqual(t, eval[int](t, ctx, `events.filter(e => e.event === "play").length`), 1)
		intruderIgnored(t, ctx, in, 1, false)

		// setVolume and setMuted from the embedder take effect.
		eval[any](t, ctx, `player.setVolume(0.25).then(() => null)`)
		assert.InDelta(t, 0.25, playerVolume(t, ctx), 0.001)
		eval[any](t, ctx, `player.setMuted(true).then(() => null)`)
		assert.True(t, playerMuted(t, ctx))
		intruderIgnored(t, ctx, in, 0.25, true)
		eval[any](t, ctx, `player.setMuted(false).then(() => null)`)
		assert.False(t, playerMuted(t, ctx))
		eval[any](t, ctx, `player.setVolume(7).then(() => null)`)
		assert.InDelta(t, 1, playerVolume(t, ctx), 0.001, "clamped to 0-1")
		msg := eval[string](t, ctx, `player.setVolume("loud").then(() => "ok", (e) => e.message)`)
		assert.Contains(t, msg, "setVolume needs a number from 0 to 1")

		eval[any](t, ctx, `player.seek(30).then(() => null)`)
		waitFor(t, 10*time.Second, "seeked", func() bool {
			return eval[bool](t, ctx, `events.some(e => e.event === "seeked" && Math.abs(e.position - 30) < 1)`)
		})
		pos := eval[float64](t, ctx, `player.getPosition()`)
		assert.InDelta(t, 30, pos, 2)
		eval[any](t, ctx, `player.pause().then(() => null)`)
		waitFor(t, 5*time.Second, "pause", func() bool { return eval[bool](t, ctx, `events.some(e => e.event === "pause")`) })

		// timeupdate at most 4 a second (the player spaces them 250 ms
		// apart when it posts them; their delivery to this page adds some
		// jitter, hence 4.5: 5 a second would still fail).
		rate := eval[float64](t, ctx, `(() => {
			const u = events.filter(e => e.event === "timeupdate");
			return (u.length - 1) / ((u[u.length - 1].at - u[0].at) / 1000);
		})()`)
		assert.LessOrEqual(t, rate, 4.5)
		msg = eval[string](t, ctx, `player.seek(NaN).then(() => "ok", (e) => e.message)`)
		assert.Contains(t, msg, "seek needs a number")

		// Playing to the end: "ended", with the position at the end, and
		// no "pause" for it.
		if duration == 0 {
			duration = eval[float64](t, ctx, `events.filter(e => e.duration).pop().duration`)
		}
		require.Greater(t, duration, 5.0)
		n := eval[int](t, ctx, `events.length`)
		eval[any](t, ctx, fmt.Sprintf(`player.seek(%g).then(() => player.play()).then(() => null)`, duration-2))
		waitFor(t, 15*time.Second, "ended", func() bool {
			return eval[bool](t, ctx, fmt.Sprintf(`events.slice(%d).some(e => e.event === "ended")`, n))
		})
		end := eval[map[string]any](t, ctx, `events.filter(e => e.event === "ended").pop()`)
		assert.InDelta(t, duration, end["position"], 0.5)
		assert.False(t, eval[bool](t, ctx, fmt.Sprintf(`events.slice(%d).some(e => e.event === "pause")`, n)),
			"reaching the end is ended, not pause")
		for _, e := range eval[[]map[string]any](t, ctx, `events`) {
			assert.Equal(t, uuid, e["uuid"])
			assert.Equal(t, ready["session"], e["session"])
		}
		assert.Positive(t, in.sent.Load())
		assert.Zero(t, in.got.Load())
	})

	// The player URL names the intruder's origin in origin=, but the
	// browser's ancestorOrigins says who embeds it: the events go to the
	// real parent, which alone can command the player.
	t.Run("origin parameter names another origin", func(t *testing.T) {
		in := startIntruder(t)
		embedder := startEmbedder(t, srv, player+"&origin="+url.QueryEscape(in.URL), in)
		ctx := newBrowser(t)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(embedder.URL)))
		ready := eval[map[string]any](t, ctx, `player.ready`)
		assert.Equal(t, uuid, ready["uuid"], "the parent hears the player")
		eval[any](t, ctx, `player.play().then(() => null)`)
		waitFor(t, 15*time.Second, "timeupdate events", func() bool {
			return eval[int](t, ctx, `events.filter(e => e.event === "timeupdate").length`) >= 4
		})
		intruderIgnored(t, ctx, in, 1, false)
		eval[any](t, ctx, `player.setVolume(0.5).then(() => null)`)
		assert.InDelta(t, 0.5, playerVolume(t, ctx), 0.001, "the parent's commands work")
		eval[any](t, ctx, `player.setMuted(true).then(() => null)`)
		intruderIgnored(t, ctx, in, 0.5, true)
	})
}
