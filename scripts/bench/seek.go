package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// seekRun is how fast one page answered: pressing play in fresh pages,
// then seeks while playing.
type seekRun struct {
	clicks  []float64 // ms from the press on play to playing, one per fresh page
	sounds  []float64 // ms from the press to the first buffer's sound (Web Audio only)
	seeks   []float64 // ms from each seek to sound again
	longest float64   // longest long task during the seeks, ms (0: none over 50 ms)
	path    string
}

// seek: issue 5's responsiveness. The first press on play in a fresh page
// until the page plays (the Pulse player makes its AudioContext then), and
// seeks to random positions of classic.mp3 while playing until sound
// resumes (target: within 200 ms), in the player and in the JavaScript
// baseline, side by side.
func (b *bench) seek(ctx context.Context) error {
	if _, err := b.main(ctx); err != nil {
		return err
	}
	if err := b.staticServer(ctx); err != nil {
		return err
	}
	if _, err := b.startBrowser(ctx); err != nil {
		return err
	}
	// The same positions for both pages, and from run to run.
	rng := rand.New(rand.NewPCG(5, 6))
	to := make([]float64, b.o.seeks)
	for i := range to {
		to[i] = float64(int(rng.Float64()*(classicSeconds-10)*10)) / 10
	}
	b.logf("%d fresh plays and %d seeks in the player and in the JavaScript baseline, side by side", b.o.plays, b.o.seeks)
	var p, j seekRun
	var perr, jerr error
	var wg sync.WaitGroup
	wg.Go(func() { p, perr = b.seekRun(ctx, b.playerURL(b.uuid), to) })
	wg.Go(func() { j, jerr = b.seekRun(ctx, b.baselineURL(b.uuid), to) })
	wg.Wait()
	if perr != nil {
		return fmt.Errorf("player: %w", perr)
	}
	if jerr != nil {
		return fmt.Errorf("baseline: %w", jerr)
	}
	const base = "JavaScript baseline"
	resume := atMost("≤ 200 ms", 200)
	b.rep.add("seek", "first play click → playing, median", median(p.clicks), median(j.clicks), fmtMs, base, nil)
	b.rep.add("seek", "first play click → playing, p95", percentile(p.clicks, 0.95), percentile(j.clicks, 0.95), fmtMs, base, nil)
	b.rep.add("seek", "seek → sound resumes, median", median(p.seeks), median(j.seeks), fmtMs, base, resume)
	b.rep.add("seek", "seek → sound resumes, p95", percentile(p.seeks, 0.95), percentile(j.seeks, 0.95), fmtMs, base, resume)
	sound := "no AudioBufferSourceNode started"
	if len(p.sounds) > 0 {
		sound = fmtMs(median(p.sounds))
	}
	b.rep.note("seek", "First play: %d fresh page loads of each page (HTTP cache on), each pressing play once (a CDP mouse click) once "+
		"the page is armed and its play button enabled; the time from the pointerdown on the button to the page playing: the player's "+
		"#player data-state turning \"playing\", the baseline <audio> element's \"playing\" event. The press makes the player's "+
		"AudioContext (Chromium starts its audio output then) and asks it to resume; the first decoded buffer is due to sound "+
		"%s after the press (median).", b.o.plays, sound)
	b.rep.note("seek", "Seeks: in the last of those pages, after 2 s of playing, %d seeks to random positions of classic.mp3 (the same "+
		"positions for both pages, a fixed seed), 1 s of playing after each, set on the seek slider as a viewer does (input and change "+
		"events). Player: from performance.now() just before the input event is dispatched to the moment the first "+
		"AudioBufferSourceNode.start after it is due to sound (performance.now() at the start call + (when − currentTime) × 1000; a probe "+
		"wraps AudioBufferSourceNode.prototype.start before the page's scripts run); the audio device's own output latency is in neither "+
		"page's figure. Baseline: the slider's change handler sets currentTime, and the time is that of the <audio> element's \"seeked\" "+
		"event, or of its \"playing\" event when it had to wait for data. Playback path: player %s; baseline %s. Longest main-thread "+
		"task during the seeks: player %s, baseline %s.", b.o.seeks, p.path, j.path, longTask(p.longest, -1), longTask(j.longest, -1))
	return nil
}

// seekRun presses play in fresh pages, then seeks in the last of them.
func (b *bench) seekRun(ctx context.Context, url string, to []float64) (seekRun, error) {
	var r seekRun
	var t *tab
	defer func() {
		if t != nil {
			t.close()
		}
	}()
	for i := 0; i < max(b.o.plays, 1); i++ {
		if t != nil {
			t.close()
		}
		var err error
		if t, err = b.openPlayable(ctx, url); err != nil {
			return r, err
		}
		if err := t.play(); err != nil {
			return r, err
		}
		// A Web Audio page schedules its first buffer as soon as it is
		// decoded, right after it plays.
		t.waitFor("the first buffer", `window.__bench.starts.length > 0 || window.__bench.audioContexts === 0`, 5*time.Second)
		pr, err := eval[pageProbe](t, probeReadJS)
		if err != nil {
			return r, err
		}
		r.clicks = append(r.clicks, pr.PlayingAt-pr.ClickAt)
		if pr.Starts > 0 {
			r.sounds = append(r.sounds, pr.FirstSound-pr.ClickAt)
		}
	}
	if err := sleep(ctx, 2*time.Second); err != nil {
		return r, err
	}
	from, err := eval[float64](t, `performance.now()`)
	if err != nil {
		return r, err
	}
	for _, s := range to {
		ms, err := eval[float64](t, fmt.Sprintf(`window.__bench.seek(%g)`, s))
		if err != nil {
			return r, err
		}
		if ms < 0 {
			return r, fmt.Errorf("no sound within 10 s of a seek to %.1f s", s)
		}
		r.seeks = append(r.seeks, ms)
		if err := sleep(ctx, time.Second); err != nil {
			return r, err
		}
	}
	pr, err := eval[pageProbe](t, probeReadJS)
	if err != nil {
		return r, err
	}
	r.path = playPath(pr)
	if !pr.Playing {
		return r, fmt.Errorf("the page stopped playing during the seeks (path %s)", r.path)
	}
	for _, lt := range pr.LongTasks {
		if lt.Start >= from {
			r.longest = max(r.longest, lt.Dur)
		}
	}
	return r, nil
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
