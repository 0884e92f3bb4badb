package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The MP3 player of issue 5 in Chromium: Pulse's own decoder playing
// through Web Audio, its controls, URL options and bad files.

// instrument is run in every page before the player: it records what the
// page schedules on the audio clock (every AudioBufferSourceNode start),
// the payloads the player builds (with the audio clock's time when it
// builds them), and every long main-thread task.
const instrument = `(() => {
  const T = window.__pulseTest = {starts: [], payloads: [], longtasks: [], contexts: []};
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) T.longtasks.push({at: e.startTime, ms: e.duration}); })
      .observe({type: "longtask", buffered: true});
  } catch (e) {}
  const AC = window.AudioContext;
  if (AC) window.AudioContext = class extends AC { constructor(o) { super(o); T.contexts.push(this); } };
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (when, offset) {
    T.starts.push({when: when || 0, offset: offset || 0, now: this.context.currentTime, at: performance.now(),
      rate: this.playbackRate.value});
    return start.apply(this, arguments);
  };
  const append = FormData.prototype.append;
  FormData.prototype.append = function (name, value) {
    if (name === "position" && T.contexts.length) {
      this.__pulse = {position: Number(value), now: T.contexts[0].currentTime, at: performance.now(), event: "heartbeat"};
      T.payloads.push(this.__pulse);
    }
    if (name === "event" && this.__pulse) this.__pulse.event = String(value);
    return append.apply(this, arguments);
  };
})()`

func instrumented(t testing.TB, ctx context.Context) {
	t.Helper()
	err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: instrument})
		return chromedp.Void{}, err
	})
	require.NoError(t, err)
}

// trackedMP3 starts Pulse with one of go-mp3's recordings, a receiver on
// another origin with a webhook at RPM 60, and a browser.
func trackedMP3(t *testing.T, file string) (*server, string, *hook, context.Context) {
	t.Helper()
	srv := startPulse(t)
	uuid := srv.addMedia(t, file)
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60)
	return srv, uuid, h, newBrowser(t)
}

type scheduled struct {
	When, Offset, Now, At, Rate float64
}

type payload struct {
	Position, Now, At float64
	Event             string
}

func press(t testing.TB, ctx context.Context, key string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(key)))
}

// waitPosition waits until the player shows a position in [lo, hi].
func waitPosition(t testing.TB, ctx context.Context, what string, lo, hi float64) {
	t.Helper()
	waitFor(t, 10*time.Second, what, func() bool {
		p := mediaPosition(t, ctx)
		return p >= lo && p <= hi
	})
}

// The real recording plays through Pulse's decoder; what heartbeats
// report is where the audio clock is, before and after seeks, within
// 0.25 s; and decoding never holds the main thread for over 50 ms.
func TestMP3HeartbeatsFollowTheAudioClock(t *testing.T) {
	srv, uuid, h, ctx := trackedMP3(t, "classic.mp3")
	instrumented(t, ctx)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	assert.Equal(t, 0, eval[int](t, ctx, `document.querySelectorAll("audio[src], video[src]").length`),
		"no media element plays the MP3")
	clickAt := eval[float64](t, ctx, `performance.now()`)
	click(t, ctx, "play")
	// The click makes the AudioContext (a slow constructor in headless
	// Chromium); playing starts after it.
	waitFor(t, 10*time.Second, "playing", func() bool { return !mediaPaused(t, ctx) })
	playAt := eval[float64](t, ctx, `performance.now()`)
	waitFor(t, 15*time.Second, "4 heartbeats", func() bool { return h.count("heartbeat") >= 4 })

	type seekAt struct{ to, at float64 }
	var seeks []seekAt
	for _, to := range []float64{200, 30} {
		seek(t, ctx, to) // the player seeks inside the input event
		seeks = append(seeks, seekAt{to, eval[float64](t, ctx, `performance.now()`)})
		before := h.count("heartbeat")
		waitFor(t, 15*time.Second, "3 heartbeats after the seek", func() bool { return h.count("heartbeat") >= before+3 })
	}
	click(t, ctx, "play") // pause
	waitFor(t, 5*time.Second, "the pause send", func() bool { return h.count("pause") == 1 })

	starts := eval[[]scheduled](t, ctx, `__pulseTest.starts`)
	payloads := eval[[]payload](t, ctx, `__pulseTest.payloads`)
	require.NotEmpty(t, starts, "the audio was scheduled on the audio clock")
	require.GreaterOrEqual(t, len(payloads), 10)

	// The first start after play, and after each seek, anchors the audio:
	// from then on the audio clock plays media position
	// from + (clock - when) at rate 1.
	// from + (clock - when) at rate 1. Between the seek and that start,
	// the position waits at the target.
	type anchor struct{ from, seek, when, at, now float64 }
	anchorAfter := func(at, from float64) anchor {
		for _, s := range starts {
			if s.At >= at {
				return anchor{from, at, s.When, s.At, s.Now}
			}
		}
		t.Fatalf("no audio scheduled after %v ms", at)
		return anchor{}
	}
	anchors := []anchor{anchorAfter(clickAt, 0)}
	for _, s := range seeks {
		a := anchorAfter(s.at, s.to)
		// make bench measures how fast (target: 200 ms); here, that it
		// resumes at once rather than after a stall.
		assert.Less(t, a.at-s.at+(a.when-a.now)*1000, 1000.0, "the seek to %v s is heard within a second", s.to)
		anchors = append(anchors, a)
	}
	checked := 0
	for _, p := range payloads {
		if p.Event != "heartbeat" {
			continue // an event reports where it happened, not where the audio is when it goes out
		}
		var a *anchor
		for i := range anchors {
			if anchors[i].seek <= p.At {
				a = &anchors[i]
			}
		}
		if a == nil {
			continue
		}
		want := a.from
		if p.At >= a.at && p.Now >= a.when {
			want += p.Now - a.when
		}
		assert.InDelta(t, want, p.Position, 0.25, "a payload built at audio clock %.3f reports %.3f, the audio is at %.3f",
			p.Now, p.Position, want)
		checked++
	}
	assert.GreaterOrEqual(t, checked, 8)

	// What arrived is what was built, and the positions arrive in order
	// between seeks.
	for _, r := range h.posts() {
		assert.Equal(t, "john_doe", r.Fields["student_id"])
		assert.Equal(t, uuid, r.Fields["uuid"])
	}
	var long []string
	for _, lt := range eval[[]struct{ At, Ms float64 }](t, ctx, `__pulseTest.longtasks`) {
		if lt.At >= playAt && lt.Ms > 50 {
			long = append(long, fmt.Sprintf("%.0f ms at play%+.0f ms", lt.Ms, lt.At-playAt))
		}
	}
	assert.Empty(t, long, "main-thread tasks over 50 ms while playing (seeks at play%+.0f and %+.0f ms)",
		seeks[0].at-playAt, seeks[1].at-playAt)
}

// The controls: keyboard shortcuts, the waveform, mute, volume and speed.
func TestMP3Controls(t *testing.T) {
	srv, uuid, h, ctx := trackedMP3(t, "classic.mp3")
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe")
	armed(t, ctx)
	press(t, ctx, " ")
	waitFor(t, 10*time.Second, "playing", func() bool { return !mediaPaused(t, ctx) })
	waitPosition(t, ctx, "a second of playback", 1, 3)

	press(t, ctx, "l")
	waitPosition(t, ctx, "l: 10 s on", 11, 14)
	press(t, ctx, kb.ArrowRight)
	waitPosition(t, ctx, "→: 5 s on", 16, 19)
	press(t, ctx, "j")
	waitPosition(t, ctx, "j: 10 s back", 6, 9.5)
	press(t, ctx, kb.ArrowLeft)
	waitPosition(t, ctx, "←: 5 s back", 1, 4.5)

	press(t, ctx, "m")
	waitFor(t, 5*time.Second, "muted", func() bool {
		return eval[string](t, ctx, `document.getElementById("mute").getAttribute("aria-pressed")`) == "true"
	})
	assert.Equal(t, "Unmute", eval[string](t, ctx, `document.getElementById("mute").getAttribute("aria-label")`))
	click(t, ctx, "mute")
	waitFor(t, 5*time.Second, "unmuted", func() bool {
		return eval[string](t, ctx, `document.getElementById("mute").getAttribute("aria-pressed")`) == "false"
	})

	// A click on the waveform, three quarters along, seeks there.
	rect := eval[struct{ X, Y, W, H float64 }](t, ctx,
		`(() => { const r = document.getElementById("wave").getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height} })()`)
	require.Greater(t, rect.W, 100.0, "the waveform is drawn")
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(rect.X+rect.W*0.75, rect.Y+rect.H/2)))
	dur := 355.4
	waitPosition(t, ctx, "the waveform click", dur*0.75-1, dur*0.75+3)

	// Speed 2×: the position runs twice as fast as the clock.
	setPlaybackRate(t, ctx, "2")
	time.Sleep(500 * time.Millisecond)
	p0, t0 := mediaPosition(t, ctx), time.Now()
	time.Sleep(2 * time.Second)
	p1, t1 := mediaPosition(t, ctx), time.Now()
	assert.InDelta(t, 2, (p1-p0)/t1.Sub(t0).Seconds(), 0.3, "media seconds per second at 2×")

	press(t, ctx, "k")
	waitFor(t, 5*time.Second, "paused with k", func() bool { return mediaPaused(t, ctx) })
	assert.Equal(t, "Play", eval[string](t, ctx, `document.getElementById("play").getAttribute("aria-label")`))
	// Jumps less than a second apart coalesce into one seeked send.
	assert.GreaterOrEqual(t, h.count("seeked"), 1, "the receiver hears of the jumps\n%s", h.dump())
}

// ?t=, ?muted=1 and ?autoplay=1 do what the embed snippet promises: the
// sound starts at t= at once (the decoder does not work its way there
// from the start), and the start is not a seek.
func TestMP3URLOptions(t *testing.T) {
	srv, uuid, h, ctx := trackedMP3(t, "classic.mp3")
	instrumented(t, ctx)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe&t=5:00&muted=1&autoplay=1")
	waitFor(t, 10*time.Second, "autoplay", func() bool { return !mediaPaused(t, ctx) })
	waitFor(t, 10*time.Second, "the play send", func() bool { return h.count("play") > 0 })
	play := h.posts()[0]
	assert.Equal(t, "play", play.Fields["event"])
	assert.InDelta(t, 300, num(t, play.Fields["position"]), 1, "t=5:00 starts at 300 s")
	assert.Equal(t, "true", eval[string](t, ctx, `document.getElementById("mute").getAttribute("aria-pressed")`))
	waitPosition(t, ctx, "the position to move on from 300 s", 301.5, 310)
	assert.Less(t, eval[float64](t, ctx, `__pulseTest.starts[0].offset`), 1.0,
		"the first sound is the chunk at 300 s, not one from the start of the file")
	assert.Less(t, eval[int](t, ctx, `__pulseTest.starts.length`), 40, "nothing from before 300 s was scheduled")
	time.Sleep(1500 * time.Millisecond)
	assert.Zero(t, h.count("seeked"), "starting at t= is not a seek\n%s", h.dump())

	// A start past the end (a typo, a shorter file) starts at the beginning.
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?t=99999")
	click(t, ctx, "play")
	waitPosition(t, ctx, "playing from the beginning", 0.5, 10)
}

// A page nobody plays fetches the start of the file, not all of it.
func TestMP3PreloadsOnlyTheStart(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "classic.mp3") // 11 MB
	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid)
	armed(t, ctx)
	time.Sleep(2 * time.Second)
	arrived := eval[string](t, ctx, `document.getElementById("seek").style.getPropertyValue("--buffered")`)
	require.NotEmpty(t, arrived)
	// 512 KB, plus what the browser buffers of the stream meanwhile
	// (about 2 MB here): not the whole 11 MB.
	assert.Less(t, num(t, strings.TrimSuffix(arrived, "%")), 30.0, "arrived after 2 s without play: %s of 355 s", arrived)
	click(t, ctx, "play")
	waitFor(t, 10*time.Second, "the rest to arrive once playing", func() bool {
		v := eval[string](t, ctx, `document.getElementById("seek").style.getPropertyValue("--buffered")`)
		return v == "100.00%"
	})
}

// Browsers refuse sound without a click: ?autoplay=1 then shows a clear
// "click to play" state, and the click plays.
func TestMP3AutoplayRefused(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	ctx := newBrowserWith(t, "document-user-activation-required")
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?autoplay=1")
	waitFor(t, 10*time.Second, "the click-to-play state", func() bool {
		return eval[bool](t, ctx, `!document.getElementById("overlay").hidden`)
	})
	assert.Equal(t, "blocked", eval[string](t, ctx, `document.getElementById("player").dataset.state`))
	assert.Contains(t, eval[string](t, ctx, `document.getElementById("overlay").textContent`), "Click to play")
	click(t, ctx, "overlay")
	waitFor(t, 10*time.Second, "playing after the click", func() bool { return !mediaPaused(t, ctx) })
	waitPosition(t, ctx, "the position to move", 0.5, 10)
	assert.True(t, eval[bool](t, ctx, `document.getElementById("overlay").hidden`))
}

// The player remembers where the media was left and offers to resume.
func TestMP3Resume(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "classic.mp3")
	ctx := newBrowser(t)
	url := srv.URL + "/v/" + uuid + "?student=john_doe"
	openPlayer(t, ctx, url)
	assert.True(t, eval[bool](t, ctx, `document.getElementById("resume").hidden`), "nothing to resume yet")
	click(t, ctx, "play")
	waitPosition(t, ctx, "7 s of playback", 7, 12)
	click(t, ctx, "play")
	waitFor(t, 5*time.Second, "paused", func() bool { return mediaPaused(t, ctx) })
	left := mediaPosition(t, ctx)

	// A visit that does not play (here one opened at t=40) changes
	// nothing.
	openPlayer(t, ctx, url+"&t=40")
	assert.True(t, eval[bool](t, ctx, `document.getElementById("resume").hidden`), "t= means no offer")

	openPlayer(t, ctx, url)
	waitFor(t, 5*time.Second, "the offer to resume", func() bool {
		return eval[bool](t, ctx, `!document.getElementById("resume").hidden`)
	})
	assert.Contains(t, eval[string](t, ctx, `document.getElementById("resume").textContent`), "Resume from 0:")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".resume-yes"))))
	waitFor(t, 10*time.Second, "playing", func() bool { return !mediaPaused(t, ctx) })
	waitPosition(t, ctx, "playing from where it was left", left, left+3)
}

// Bad files never hang or break the page: a file that is not MP3 shows
// why it cannot play; a cut file plays what there is and says so.
func TestMP3BadFiles(t *testing.T) {
	srv := startPulse(t)
	text := srv.addMedia(t, "mpeg2.mp3")
	cut := srv.addMedia(t, "mpeg2.mp3")
	replace := func(uuid string, data []byte) {
		files, err := filepath.Glob(filepath.Join(srv.data, "media", uuid+".*"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		require.NoError(t, os.WriteFile(files[0], data, 0o644))
	}
	replace(text, []byte(strings.Repeat("this is a text file, not an MP3\n", 100)))
	full, err := os.ReadFile(filepath.Join(mp3Dir, "mpeg2.mp3"))
	require.NoError(t, err)
	replace(cut, full[:len(full)/25]) // 3 of the 75 s

	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+text)
	click(t, ctx, "play")
	waitFor(t, 10*time.Second, "an error for the viewer", func() bool {
		return eval[string](t, ctx, `document.getElementById("player").dataset.state`) == "error"
	})
	msg := eval[string](t, ctx, `document.getElementById("status").textContent`)
	assert.Contains(t, msg, "This media cannot be played")
	assert.Contains(t, msg, "not an MP3")
	// The Go program still runs (a panic would have ended it): the
	// controls still answer.
	press(t, ctx, "m")
	waitFor(t, 5*time.Second, "the player to answer a key", func() bool {
		return eval[string](t, ctx, `document.getElementById("mute").getAttribute("aria-pressed")`) == "true"
	})

	openPlayer(t, ctx, srv.URL+"/v/"+cut)
	click(t, ctx, "play")
	waitFor(t, 15*time.Second, "the end of the cut file", func() bool {
		return mediaPaused(t, ctx) && mediaPosition(t, ctx) > 2
	})
	assert.InDelta(t, 3, mediaPosition(t, ctx), 0.5, "it ends where the file ends")
	assert.Contains(t, eval[string](t, ctx, `document.getElementById("status").textContent`), "cut short")
	assert.Regexp(t, `^0:0[23] / 0:0[23]$`, eval[string](t, ctx, `document.getElementById("time").textContent`),
		"the duration is the file's own, not the one it had at import")
}

// At the smallest iframe size the controls that matter fit.
func TestPlayerAt320x180(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "classic.mp3")
	ctx := newBrowser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(320, 180)))
	openPlayer(t, ctx, srv.URL+"/v/"+uuid)
	for _, id := range []string{"play", "seek", "mute", "rate", "wave", "title"} {
		r := eval[struct{ L, T, R, B float64 }](t, ctx, `(() => { const r = document.getElementById("`+id+
			`").getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom} })()`)
		assert.True(t, r.R > r.L && r.B > r.T, "%s is shown", id)
		assert.True(t, r.L >= 0 && r.T >= 0 && r.R <= 320 && r.B <= 180, "%s fits in 320×180: %+v", id, r)
	}
	w := eval[float64](t, ctx, `document.getElementById("play").getBoundingClientRect().width`)
	assert.GreaterOrEqual(t, w, 40.0, "the play button stays a good touch target")
}

// engine=element plays the MP3 with the browser's <audio> element, and
// tracking works the same.
func TestMP3ElementEngine(t *testing.T) {
	srv, uuid, h, ctx := trackedMP3(t, "mpeg2.mp3")
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe&engine=element")
	armed(t, ctx)
	click(t, ctx, "play")
	waitFor(t, 10*time.Second, "the element to play", func() bool {
		return eval[float64](t, ctx, `document.getElementById("media").currentTime`) > 1.5
	})
	waitFor(t, 10*time.Second, "heartbeats", func() bool { return h.count("heartbeat") >= 1 })
	assert.Equal(t, "john_doe", h.posts()[0].Fields["student_id"])
}

// ?loop=1 plays a clip again from the start at its end: no ended, the
// position goes round.
func TestMP3Loop(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addClip(t, 3)
	h := startHook(t, true, nil)
	srv.addWebhook(t, h.URL, 60)
	ctx := newBrowser(t)
	openPlayer(t, ctx, srv.URL+"/v/"+uuid+"?student=john_doe&loop=1")
	armed(t, ctx)
	click(t, ctx, "play")
	waitPosition(t, ctx, "the end of the first round", 2.2, 3.1)
	waitPosition(t, ctx, "the second round", 0.2, 1.5)
	time.Sleep(time.Second)
	assert.False(t, mediaPaused(t, ctx), "still playing")
	assert.Zero(t, h.count("ended"), "a loop does not end\n%s", h.dump())
	assert.Zero(t, h.count("pause"), "nor pause")
}
