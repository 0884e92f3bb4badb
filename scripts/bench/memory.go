package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pulsehq/pulse/server/pulse"
	_ "modernc.org/sqlite" // the "sqlite" driver, to seed databases directly
)

// hourSeconds is the length of the long MP3 of the memory figure.
const hourSeconds = 3600

// memory: the player's peak memory while playing a one-hour MP3 (made
// with ffmpeg from classic.mp3), with seeks across it, against the empty
// Go wasm (wasm memory) and the JavaScript baseline (JS heap).
func (b *bench) memory(ctx context.Context) error {
	s, err := b.main(ctx)
	if err != nil {
		return err
	}
	if err := b.staticServer(ctx); err != nil {
		return err
	}
	uuid, size, err := b.hourMedia(ctx, s.data)
	if err != nil {
		return err
	}
	player, err := b.playMemory(ctx, b.playerURL(uuid), playerStudent)
	if err != nil {
		return fmt.Errorf("player: %w", err)
	}
	baseline, err := b.playMemory(ctx, b.baselineURL(uuid), baselineStudent)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	floor, err := b.emptyMemory(ctx)
	if err != nil {
		return fmt.Errorf("empty Go wasm: %w", err)
	}
	b.rep.add("memory", "player wasm memory, peak while playing a 1 h MP3", player.wasm, floor, fmtMB, "empty Go wasm", nil)
	b.rep.add("memory", "player wasm memory beyond the MP3's own bytes (peak − file size)", player.wasm-size, floor, fmtMB, "empty Go wasm", nil)
	b.rep.add("memory", "decoded PCM in AudioBuffers started and not yet ended, peak", player.pcm, math.NaN(), fmtMB,
		"— (the <audio> element decodes inside the browser)", nil)
	b.rep.add("memory", "player JS heap, peak while playing a 1 h MP3", player.heap, baseline.heap, fmtMB, "JavaScript baseline", nil)
	// No ratio: the baseline holds next to none.
	b.rep.addText("memory", "player array buffers outside the JS heap, peak (CDP backingStorageSize)", fmtMB(player.backing),
		fmtMB(baseline.backing)+" (JavaScript baseline)", "", "")
	avail := "unavailable (the player page is not cross-origin isolated)"
	if player.uasm {
		avail = "available, not used"
	}
	b.rep.note("memory", "The 1 h MP3 is classic.mp3 re-encoded at 128 kbps by ffmpeg (libmp3lame) and looped to %d s with -stream_loop (%s); "+
		"it is added to the data folder directly (file and row), with classic.mp3's waveform repeated as its peaks. Each page plays it 20 s from "+
		"the start, then 5 s after seeks to 15:00, 30:00 and 59:50 (seek slider input and change events); the last position its "+
		"heartbeats reported: %.0f s (player), %.0f s (baseline). Playback path: player %s; baseline %s.",
		hourSeconds, fmtMB(size), player.last, baseline.last, player.path, baseline.path)
	b.rep.note("memory", "Wasm memory = the byteLength of the WebAssembly.Memory the Go instance exports (captured by wrapping "+
		"WebAssembly.instantiate*), sampled every 100 ms in the page; it only grows, so its peak is its last value. The player keeps the "+
		"whole compressed file in it (one allocation of the Content-Length) and sets debug.SetMemoryLimit(file size + 48 MB) = %s, so that "+
		"Go collects its garbage before the heap doubles; the PCM it decodes (at most 6 s ahead of the playhead) is copied out of it into "+
		"AudioBuffers of 0.1–0.5 s each. Decoded PCM = the bytes (frames × channels × 4) of the AudioBuffers the page has started and whose "+
		"\"ended\" event has not fired yet (the probe wraps AudioBufferSourceNode.prototype.start), at its peak.",
		fmtMB(size+48<<20))
	garbage := ""
	if player.backing > 0 && player.backingGC < player.backing/2 {
		garbage = ": most of the player's peak was garbage that V8 had not collected yet"
	}
	b.rep.note("memory", "JS heap = CDP Runtime.getHeapUsage usedSize, sampled every 500 ms, and array buffers outside it = its "+
		"backingStorageSize (the backing stores of ArrayBuffers and typed arrays, such as the Uint8Array chunks of the fetch stream, which "+
		"the player copies into its wasm memory and drops); after a forced garbage collection at the end (CDP HeapProfiler.collectGarbage) "+
		"those were %s (player) and %s (baseline)%s. "+
		"performance.measureUserAgentSpecificMemory: %s. The empty Go wasm's memory is read once it has started. The baseline's "+
		"<audio> element buffers and decodes inside the browser, in none of these figures.",
		fmtMB(player.backingGC), fmtMB(baseline.backingGC), garbage, avail)
	return nil
}

// hourMedia makes the one-hour MP3 and adds it to the data folder.
func (b *bench) hourMedia(ctx context.Context, data string) (uuid string, size float64, err error) {
	enc, hour := b.tmpPath("classic128.mp3"), b.tmpPath("hour.mp3")
	if _, err := b.output(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", b.classic, "-c:a", "libmp3lame", "-b:a", "128k", enc); err != nil {
		return "", 0, err
	}
	if _, err := b.output(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", enc,
		"-t", fmt.Sprint(hourSeconds), "-c", "copy", hour); err != nil {
		return "", 0, err
	}
	st, err := os.Stat(hour)
	if err != nil {
		return "", 0, err
	}
	db, err := openDB(filepath.Join(data, "pulse.db"))
	if err != nil {
		return "", 0, err
	}
	defer closeDB(db)
	var peaks []byte
	if err := db.QueryRowContext(ctx, `SELECT peaks FROM media WHERE uuid = ?`, b.uuid).Scan(&peaks); err != nil {
		return "", 0, fmt.Errorf("read classic.mp3's peaks: %w", err)
	}
	hourPeaks := make([]byte, len(peaks))
	for i := range hourPeaks {
		t := math.Mod(float64(i)/float64(len(hourPeaks))*hourSeconds, classicSeconds)
		hourPeaks[i] = peaks[int(t/classicSeconds*float64(len(peaks)))]
	}
	uuid = pulse.NewUUID()
	file := uuid + ".mp3"
	if err := os.Rename(hour, filepath.Join(data, "media", file)); err != nil {
		return "", 0, err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO media (uuid, title, type, size, duration, file, peaks, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		uuid, "One hour of Mozart (bench)", "audio/mpeg", st.Size(), float64(hourSeconds), file, hourPeaks, time.Now().UnixMilli())
	if err != nil {
		return "", 0, fmt.Errorf("add the 1 h media: %w", err)
	}
	return uuid, float64(st.Size()), nil
}

// openDB opens a Pulse database directly, to seed it faster than the
// store's one-transaction-per-row API can.
func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	return db, db.Ping()
}

// closeDB folds the write-ahead log into the database before closing it,
// so that the server does not start by replaying a large WAL.
func closeDB(db *sql.DB) {
	db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	db.Close()
}

type memRun struct {
	wasm, heap float64 // peaks, bytes
	backing    float64 // peak of V8's array buffer backing storage, bytes
	backingGC  float64 // the same after a forced garbage collection at the end
	pcm        float64 // peak PCM in started, not yet ended AudioBuffers, bytes
	uasm       bool    // measureUserAgentSpecificMemory usable
	last       float64 // the last position a heartbeat reported, s
	path       string
}

// playMemory plays the long media with seeks and samples memory.
func (b *bench) playMemory(ctx context.Context, url, student string) (memRun, error) {
	var r memRun
	start := time.Now()
	t, err := b.openPlayable(ctx, url)
	if err != nil {
		return r, err
	}
	defer t.close()
	r.uasm, _ = eval[bool](t, `typeof performance.measureUserAgentSpecificMemory === "function" && self.crossOriginIsolated === true`)
	sample := func(d time.Duration) error {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, err := chromedp.Call(t.ctx, cdpruntime.GetHeapUsage, cdp.Empty{})
			if err != nil {
				return err
			}
			r.heap = max(r.heap, h.UsedSize)
			r.backing = max(r.backing, h.BackingStorageSize)
			time.Sleep(500 * time.Millisecond)
		}
		return nil
	}
	if err := t.play(); err != nil {
		return r, err
	}
	if err := sample(20 * time.Second); err != nil {
		return r, err
	}
	for _, to := range []float64{900, 1800, 3590} {
		if _, err := eval[bool](t, fmt.Sprintf(`(() => { const s = document.getElementById("seek"); s.value = %g;
			s.dispatchEvent(new Event("input", {bubbles: true})); s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, to)); err != nil {
			return r, err
		}
		if err := sample(5 * time.Second); err != nil {
			return r, err
		}
	}
	pr, err := eval[pageProbe](t, probeReadJS)
	if err != nil {
		return r, err
	}
	r.wasm = max(pr.PeakWasm, pr.Wasm)
	// What of the backing storage is garbage that V8 has not collected yet.
	if _, err := chromedp.Call(t.ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		return r, err
	}
	h, err := chromedp.Call(t.ctx, cdpruntime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		return r, err
	}
	r.backingGC = h.BackingStorageSize
	r.pcm = pr.PeakPCM
	r.path = playPath(pr)
	if !pr.Playing {
		return r, fmt.Errorf("the page stopped playing (path %s)", r.path)
	}
	for _, h := range b.hook.from(student, start) {
		r.last = max(r.last, h.position)
	}
	return r, nil
}

// emptyMemory returns the wasm memory of the empty Go wasm once started.
func (b *bench) emptyMemory(ctx context.Context) (float64, error) {
	t, err := b.newTab(ctx, tabOptions{probe: true})
	if err != nil {
		return 0, err
	}
	defer t.close()
	if err := t.navigate(b.emptyURL()); err != nil {
		return 0, err
	}
	if _, err := t.waitArmed(30 * time.Second); err != nil {
		return 0, err
	}
	time.Sleep(300 * time.Millisecond)
	return eval[float64](t, `window.__bench.wasmBytes()`)
}
