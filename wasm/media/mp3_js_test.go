package media

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall/js"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/wasm/audio"
	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/mp3"
)

// These tests need Web Audio: make test runs them in headless Chromium
// (wasmbrowsertest), and they skip under Node.js, which has none.
func needWebAudio(t *testing.T) {
	t.Helper()
	if !js.Global().Get("OfflineAudioContext").Truthy() {
		if os.Getenv("PULSE_REQUIRE_BROWSER") != "" {
			t.Fatal("no Web Audio here, and PULSE_REQUIRE_BROWSER is set: run under wasmbrowsertest")
		}
		t.Skip("no Web Audio (Node.js): these run in Chromium under wasmbrowsertest")
	}
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	dir := os.Getenv("PULSE_MP3_DIR")
	require.NotEmpty(t, dir, "PULSE_MP3_DIR names go-mp3's example folder (scripts/test.sh sets it)")
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

// loaded returns an MP3 that has the whole file, decoding.
func loaded(data []byte) *MP3 {
	m := newMP3(MP3Options{})
	m.mu.Lock()
	m.data = data
	m.complete = true
	m.indexed(true)
	m.mu.Unlock()
	go m.decodeLoop()
	return m
}

// decoded returns the file's audio as go-mp3 decodes it from the start,
// left channel, from sample from on, n samples.
func decoded(t *testing.T, data []byte, from, n int) []float32 {
	t.Helper()
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	require.NoError(t, err)
	var left []float32
	for len(left) < from+n {
		pcm, err := d.Frame()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		l, r := make([]float32, len(pcm)/4), make([]float32, len(pcm)/4)
		audio.Deinterleave(pcm, l, r)
		left = append(left, l...)
	}
	return left[from:min(from+n, len(left))]
}

// render plays m into an OfflineAudioContext for seconds and returns the
// left channel, and where each scheduled chunk starts in the media.
func render(t *testing.T, m *MP3, rate int, seconds float64) ([]float32, []float64) {
	t.Helper()
	n := int(seconds * float64(rate))
	ctx := js.Global().Get("OfflineAudioContext").New(map[string]any{"numberOfChannels": 2, "length": n, "sampleRate": rate})
	m.UseContext(ctx)
	require.NoError(t, m.Play())
	deadline := time.Now().Add(20 * time.Second)
	for {
		m.mu.Lock()
		enough := m.tl.Until >= m.tl.Pos+seconds || m.eos
		m.mu.Unlock()
		if enough {
			break
		}
		require.True(t, time.Now().Before(deadline), "decoding %v s took over 20 s", seconds)
		time.Sleep(10 * time.Millisecond)
	}
	m.mu.Lock()
	var starts []float64
	for _, c := range m.queue {
		starts = append(starts, c.start)
	}
	m.mu.Unlock()
	buf, err := browser.Await(ctx.Call("startRendering"))
	require.NoError(t, err)
	ch := buf.Call("getChannelData", 0)
	out := make([]float32, ch.Get("length").Int())
	js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*len(out)),
		js.Global().Get("Uint8Array").New(ch.Get("buffer"), ch.Get("byteOffset"), 4*len(out)))
	return out, starts
}

func rms(s []float32) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// The decoded chunks, scheduled on the audio clock and rendered by the
// browser, are the decoded signal itself: same level, same length,
// sample for sample, with no gap or click where one chunk meets the next.
func TestRenderedSignalIsTheDecodedOne(t *testing.T) {
	needWebAudio(t)
	data := example(t, "classic.mp3")
	const rate, seconds = 44100, 5.0
	m := loaded(data)
	out, starts := render(t, m, rate, seconds+lead)
	start := int(math.Round(lead * rate)) // playback starts after the lead
	assert.Zero(t, rms(out[:start-1]), "silence before the first chunk")

	want := decoded(t, data, 0, int(seconds*rate))
	got := out[start : start+len(want)]
	require.Len(t, got, len(want))
	assert.InDelta(t, rms(want), rms(got), 1e-4, "level")
	assert.Greater(t, rms(want), 0.01, "the recording is not silent")
	worst, at := 0.0, 0
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > worst {
			worst, at = d, i
		}
	}
	assert.Less(t, worst, 1e-4, "rendered sample %d differs from the decoded one by %g", at, worst)

	// Chunk boundaries: every chunk starts where the one before ended.
	bounds := 0
	for _, cs := range starts {
		b := int(math.Round(cs * rate))
		if b == 0 || b >= len(want)-1 {
			continue
		}
		bounds++
		for i := b - 2; i <= b+2; i++ {
			assert.InDelta(t, want[i], got[i], 1e-4, "around the chunk boundary at sample %d", b)
		}
	}
	assert.Greater(t, bounds, 5, "5 s make several chunks")
}

// After a seek the audio clock plays the media from the target: the
// rendered audio is the decoded audio from that position on.
func TestRenderAfterSeek(t *testing.T) {
	needWebAudio(t)
	data := example(t, "classic.mp3")
	const rate, seconds, target = 44100, 2.0, 30.0
	m := loaded(data)
	m.Seek(target)
	assert.Equal(t, target, m.Position(), "the position is the seek target at once")
	out, _ := render(t, m, rate, seconds+lead)
	start := int(math.Round(lead * rate))
	want := decoded(t, data, int(math.Round(target*rate)), int(seconds*rate))
	got := out[start : start+len(want)]
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	assert.Less(t, worst, 1e-4, "audio after the seek is the media from %v s", target)
	assert.Greater(t, rms(got), 0.01)
}

// A file that is not MP3 fails with a message for the viewer, and Play
// returns it instead of hanging.
func TestNotMP3(t *testing.T) {
	needWebAudio(t)
	m := loaded([]byte("<!doctype html><p>this is a web page, not an MP3 file</p>"))
	err := m.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not an MP3")
	assert.Error(t, m.Play())
}

// A file cut short plays what there is and ends at its real end.
func TestTruncatedFileEnds(t *testing.T) {
	needWebAudio(t)
	data := example(t, "mpeg2.mp3")
	m := newMP3(MP3Options{Duration: 75})
	ended := make(chan struct{}, 1)
	m.On(func(ev Event) {
		if ev == Ended {
			ended <- struct{}{}
		}
	})
	m.mu.Lock()
	m.data = data[:len(data)/40] // about 1.9 s
	m.complete = true
	m.indexed(true)
	m.mu.Unlock()
	go m.decodeLoop()
	assert.True(t, m.CutShort())
	assert.InDelta(t, 1.9, m.Duration(), 0.2, "the duration is the file's own")
	out, _ := render(t, m, 22050, 2.5)
	assert.Greater(t, rms(out[:22050]), 0.001, "the part that is there plays")
	m.check()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("no ended event at the end of a cut file")
	}
	assert.True(t, m.Ended())
	assert.InDelta(t, m.Duration(), m.Position(), 1e-9)
}

// Without peaks from the server, the waveform comes from the decoded
// audio as it is decoded.
func TestPeaksFromDecodedAudio(t *testing.T) {
	needWebAudio(t)
	data := example(t, "mpeg2.mp3")
	got := make(chan []byte, 100)
	m := newMP3(MP3Options{Duration: 75.02, Peaks: func(p []byte) { got <- p }})
	m.mu.Lock()
	m.data = data
	m.complete = true
	m.indexed(true)
	m.warm = true
	m.mu.Unlock()
	go m.decodeLoop()
	select {
	case p := <-got:
		require.Len(t, p, 1000)
		loud := 0
		for _, v := range p[:10] { // the first 0.75 s: what aheadPaused decodes
			if v > 10 {
				loud++
			}
		}
		assert.Positive(t, loud, "the decoded start of the speech is in the waveform: %v", p[:10])
	case <-time.After(10 * time.Second):
		t.Fatal("no waveform from the decoded audio")
	}
}
