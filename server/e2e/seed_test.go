package e2e

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/demo"
)

// The seed's scenario for real: a student opens the player with
// ?student=john_doe, presses play, and heartbeats arrive at a receiver on
// another origin at each webhook's own rate, and stop when paused.
func TestSeedScenario(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	fast := startReceiver(t)
	slow := startReceiver(t)
	srv.addWebhook(t, fast.URL, 60, "--events=false") // the seed's three fields, every second
	srv.addWebhook(t, slow.URL, 20)                   // every 3 s, with events

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	label := eval[string](t, ctx, `document.getElementById("play").getAttribute("aria-label")`)
	assert.Equal(t, "Play", label)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("play"))))

	waitFor(t, 20*time.Second, "3 heartbeats at the fast receiver", func() bool { return len(fast.heartbeats()) >= 3 })
	assert.Equal(t, "Pause", eval[string](t, ctx, `document.getElementById("play").getAttribute("aria-label")`),
		"the button is named for what it does")

	waitFor(t, 20*time.Second, "3 heartbeats at the slow receiver", func() bool { return countEvent(slow.heartbeats(), "heartbeat") >= 3 })
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("play"))))
	paused := time.Now()
	waitFor(t, 5*time.Second, "the player to pause", func() bool {
		return mediaPaused(t, ctx)
	})
	fastAtPause := len(fast.heartbeats())
	slowAtPause := countEvent(slow.heartbeats(), "heartbeat")
	time.Sleep(3500 * time.Millisecond)

	origin := srv.URL
	hbs := fast.heartbeats()
	var last float64 = -1
	for i, hb := range hbs {
		require.Empty(t, hb.Error, "heartbeat %d refused: %s", i, hb.Error)
		assert.Equal(t, uuid, hb.UUID)
		assert.Equal(t, "student_id", hb.Field)
		assert.Equal(t, "john_doe", hb.Value)
		assert.Equal(t, origin, hb.Origin, "a cross-origin POST carries the player's Origin")
		assert.Equal(t, "multipart/form-data", hb.ContentType)
		assert.Equal(t, http.MethodPost, hb.Method)
		assert.Len(t, hb.Fields, 3, "seed mode sends the seed's three fields only: %v", hb.Fields)
		pos, err := strconv.ParseFloat(hb.Position, 64)
		require.NoError(t, err)
		assert.Greater(t, pos, last, "positions strictly increase")
		last = pos
	}
	assert.LessOrEqual(t, len(hbs), fastAtPause+1, "at most a final flush after pause, at %v", paused)
	assert.Equal(t, slowAtPause, countEvent(slow.heartbeats(), "heartbeat"), "no heartbeat in the 3 s after pause")

	// The slow webhook kept its own rate: about 3 s between heartbeats.
	var times []time.Time
	for _, hb := range slow.heartbeats() {
		assert.Equal(t, "john_doe", hb.Value)
		if hb.Event == "heartbeat" {
			times = append(times, hb.Received)
		}
	}
	for i := 1; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		assert.InDelta(t, 3.0, gap.Seconds(), 0.5, "gap %d between heartbeats of the rpm-20 webhook", i)
	}
	for _, r := range []*demoReceiver{fast, slow} {
		_, preflights := r.Entries()
		assert.Zero(t, preflights, "no OPTIONS preflight: FormData POSTs are simple requests")
	}
}

func countEvent(entries []demo.Entry, event string) int {
	n := 0
	for _, e := range entries {
		if e.Event == event {
			n++
		}
	}
	return n
}

func TestUnknownMediaPage(t *testing.T) {
	srv := startPulse(t)
	res, err := http.Get(srv.URL + "/v/no-such-media?student=john_doe")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "Media not found")
}
