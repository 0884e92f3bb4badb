package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// More of issue 3's scenarios in a real browser. These tests touch the
// player page only through what every player keeps, whatever plays the
// media: the #play button, the #seek slider's value and #player's
// data-state.

// viewer drives one player page as a person does.
type viewer struct {
	t   testing.TB
	ctx context.Context
}

// toggle clicks the play/pause button.
func (v viewer) toggle() {
	v.t.Helper()
	require.NoError(v.t, chromedp.Do(v.ctx, chromedp.Click(chromedp.ID("play"))))
}

// position is where the seek slider says playback is, in seconds.
func (v viewer) position() float64 {
	v.t.Helper()
	return eval[float64](v.t, v.ctx, `document.getElementById("seek").valueAsNumber`)
}

func (v viewer) playing() bool {
	v.t.Helper()
	return eval[bool](v.t, v.ctx, `document.getElementById("player").dataset.state === "playing"`)
}

// shortClip imports the first seconds of the speech recording (48 kbps)
// as a clip and returns its uuid.
func shortClip(t testing.TB, s *server, seconds float64) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mp3Dir, "mpeg2.mp3"))
	require.NoError(t, err)
	const bytesPerSecond = 450187.0 / 75.02
	path := filepath.Join(t.TempDir(), fmt.Sprintf("short-%gs.mp3", seconds))
	require.NoError(t, os.WriteFile(path, b[:int(seconds*bytesPerSecond)], 0o644))
	return pulseCmd(t, s.data, "media", "add", path, "--title", fmt.Sprintf("%g s", seconds))
}

func position(t testing.TB, r hookReq) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(r.Fields["position"], 64)
	require.NoError(t, err, "position %q", r.Fields["position"])
	return v
}

// Scenario 2: play to about 3 s, pause for a while, resume to the end of a
// short clip: nothing arrives during the pause, and nothing after ended,
// not even when the viewer then leaves the page.
func TestScenarioPauseResume(t *testing.T) {
	srv := startPulse(t)
	uuid := shortClip(t, srv, 8)
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60) // a heartbeat every second: a running clock shows at once

	ctx := newBrowser(t)
	v := viewer{t, ctx}
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	v.toggle()
	waitFor(t, 20*time.Second, "3 s of playback", func() bool { return v.position() >= 3 })
	v.toggle()
	waitFor(t, 5*time.Second, "the pause to arrive", func() bool { return h.count("pause") == 1 })
	require.False(t, v.playing())
	paused := v.position()
	before := len(h.posts())
	time.Sleep(5 * time.Second)
	assert.Len(t, h.posts(), before, "nothing during the pause\n%s", h.dump())
	assert.Equal(t, paused, v.position(), "the player stayed paused")

	v.toggle()
	waitFor(t, 30*time.Second, "ended", func() bool { return h.count("ended") > 0 })
	time.Sleep(3 * time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank"))) // the viewer leaves
	time.Sleep(2 * time.Second)

	posts, events := h.posts(), h.events()
	require.Equal(t, "ended", events[len(events)-1], "nothing after ended, not even leave\n%s", h.dump())
	assert.Equal(t, 1, h.count("ended"), h.dump())
	assert.Equal(t, 2, h.count("play"), h.dump())
	assert.Equal(t, 1, h.count("pause"), h.dump())
	assert.Zero(t, h.count("leave")+h.count("hidden"), h.dump())
	var pause, resume hookReq
	for _, r := range posts {
		switch r.Fields["event"] {
		case "pause":
			pause = r
		case "play":
			resume = r
		}
	}
	assert.InDelta(t, paused, position(t, pause), 0.3, "pause at the position paused")
	assert.InDelta(t, paused, position(t, resume), 0.3, "resumed where it paused")
	assert.GreaterOrEqual(t, resume.At.Sub(pause.At), 5*time.Second)
	end := posts[len(posts)-1]
	assert.Equal(t, end.Fields["duration"], end.Fields["position"], "ended at the end")
	for i, r := range posts {
		assert.Equal(t, "john_doe", r.Fields["student_id"])
		assert.Equal(t, strconv.Itoa(i+1), r.Fields["seq"], "one session, no retries")
	}
}

// Scenario 9: a receiver answering 429 sees backoff (about 1, 2 and 4 s
// between retries, plus jitter of up to half), not immediate retries, and
// the heartbeat clock is not pushed back by the retries.
func TestScenarioBackoffOn429(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, func(int) int { return http.StatusTooManyRequests })
	srv.addWebhook(t, h.URL, 6)

	ctx := newBrowser(t)
	v := viewer{t, ctx}
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	v.toggle()
	waitFor(t, 20*time.Second, "the first heartbeat", func() bool { return h.count("heartbeat") > 0 })
	time.Sleep(time.Second)
	require.True(t, v.playing())

	// The play event (seq 1) and its retries, then the heartbeat (seq 2)
	// 10 s after the play went out.
	var first []hookReq
	var heartbeat hookReq
	for _, r := range h.posts() {
		switch r.Fields["seq"] {
		case "1":
			first = append(first, r)
		case "2":
			if heartbeat.At.IsZero() {
				heartbeat = r
			}
		}
	}
	require.GreaterOrEqual(t, len(first), 3, h.dump())
	assert.LessOrEqual(t, len(first), 4, "at most 3 retries\n%s", h.dump())
	for i := 1; i < len(first); i++ {
		base := time.Second << (i - 1) // 1 s, 2 s, 4 s
		gap := first[i].At.Sub(first[i-1].At)
		assert.GreaterOrEqual(t, gap, base-150*time.Millisecond, "retry %d too soon: not immediate\n%s", i, h.dump())
		assert.LessOrEqual(t, gap, base*3/2+time.Second, "retry %d: backoff with jitter of up to half\n%s", i, h.dump())
		assert.Equal(t, "play", first[i].Fields["event"])
	}
	assert.Equal(t, "heartbeat", heartbeat.Fields["event"])
	assert.InDelta(t, 10, heartbeat.At.Sub(first[0].At).Seconds(), 1, "the heartbeat clock runs from the play, not from its retries\n%s", h.dump())
}

// Browsers normalise line breaks in multipart/form-data values: a lone CR
// or LF in a URL parameter arrives as CRLF (HTML's "converting an entry
// list to a list of name-value pairs"), which the README tells receiver
// authors. Everything else arrives byte-exact.
func TestLineBreaksInURLValuesArriveAsCRLF(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60, "--events=false")

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=a%0Ab%0Dc%0D%0Ad%09e")
	armed(t, ctx)
	viewer{t, ctx}.toggle()
	waitFor(t, 15*time.Second, "a heartbeat", func() bool { return h.count("heartbeat") > 0 })
	assert.Equal(t, "a\r\nb\r\nc\r\nd\te", h.posts()[0].Fields["student_id"])
}
