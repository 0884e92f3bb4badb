package ui

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"90", 90, true}, {"90.5", 90.5, true}, {"0", 0, true}, {" 12 ", 12, true},
		{"1:30", 90, true}, {"1:02:03", 3723, true}, {"0:05.5", 5.5, true},
		{"1m30s", 90, true}, {"2h", 7200, true}, {"45s", 45, true}, {"1h1m1s", 3661, true}, {"1M", 60, true},
		{"", 0, false}, {"-5", 0, false}, {"abc", 0, false}, {"1:75", 0, false}, {"1:2:3:4", 0, false},
		{"NaN", 0, false}, {"Inf", 0, false}, {"1e9", 0, false}, {"1x", 0, false}, {"5s1m", 0, false},
		{"99999999", 0, false}, {"1.5:30", 0, false}, {"<script>", 0, false}, {"1m-5s", 0, false},
		{"0x1p4", 0, false}, {"0x10", 0, false}, {"1_0", 0, false}, {"1..5", 0, false}, {"1:3.5.2", 0, false},
	} {
		got, ok := ParseTime(tc.in)
		assert.Equal(t, tc.ok, ok, "ParseTime(%q) ok", tc.in)
		assert.Equal(t, tc.want, got, "ParseTime(%q)", tc.in)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  Options
	}{
		{"", Options{}},
		{"?student=john_doe", Options{}},
		{"?t=90&autoplay=1&muted=1&loop=1", Options{Start: 90, HasStart: true, Autoplay: true, Muted: true, Loop: true}},
		{"?t=1:30&autoplay=true", Options{Start: 90, HasStart: true, Autoplay: true}},
		{"?t=0", Options{HasStart: true}},
		{"?autoplay=0&muted=false&loop=no", Options{}},
		{"?autoplay", Options{Autoplay: true}},
		{"?t=junk&t=30", Options{HasStart: true}},
		{"?engine=element", Options{Element: true}},
		{"?engine=ELEMENT", Options{Element: true}},
		{"?engine=other", Options{}},
	} {
		assert.Equal(t, tc.want, ParseOptions(heartbeat.ParseQuery(tc.query)), "ParseOptions(%q)", tc.query)
	}
}

func TestKeyAction(t *testing.T) {
	for _, tc := range []struct {
		key   string
		video bool
		want  Action
	}{
		{" ", false, TogglePlay}, {"k", false, TogglePlay}, {"K", false, TogglePlay},
		{"j", false, Back10}, {"l", false, Forward10}, {"ArrowLeft", false, Back5}, {"ArrowRight", false, Forward5},
		{"m", false, ToggleMute}, {"f", true, Fullscreen}, {"f", false, NoAction},
		{"a", false, NoAction}, {"Enter", false, NoAction}, {"ArrowUp", false, NoAction},
	} {
		assert.Equal(t, tc.want, KeyAction(tc.key, tc.video), "KeyAction(%q, %v)", tc.key, tc.video)
	}
}

func TestJump(t *testing.T) {
	assert.Equal(t, 15.0, Jump(5, 10, 100))
	assert.Equal(t, 0.0, Jump(3, -5, 100))
	assert.Equal(t, 100.0, Jump(95, 10, 100))
	assert.Equal(t, 105.0, Jump(95, 10, math.NaN()), "unknown duration: no upper bound")
	assert.Equal(t, 105.0, Jump(95, 10, math.Inf(1)))
}

func TestOfferResume(t *testing.T) {
	assert.False(t, OfferResume(0, 100))
	assert.False(t, OfferResume(4, 100), "the first seconds: start over")
	assert.True(t, OfferResume(30, 100))
	assert.False(t, OfferResume(96, 100), "near the end: start over")
	assert.True(t, OfferResume(30, math.NaN()))
	assert.False(t, OfferResume(math.NaN(), 100))
}

func TestBars(t *testing.T) {
	assert.Nil(t, Bars(nil, 10))
	assert.Nil(t, Bars([]byte{1}, 0))
	assert.Equal(t, []float64{1, 0.2}, Bars([]byte{255, 0, 51, 51}, 2), "the loudest of each share")
	assert.Equal(t, []float64{1, 1, 0, 0}, Bars([]byte{255, 0}, 4), "wider than the peaks: each peak repeats")
	assert.Len(t, Bars(make([]byte, 1000), 333), 333)
}

func TestWaveRender(t *testing.T) {
	const w, h = 12, 10
	img := make([]byte, 4*w*h)
	at := func(x, y int) RGBA { var c RGBA; copy(c[:], img[4*(y*w+x):]); return c }
	wi := WaveImage{W: w, H: h, Pitch: 3, Gap: 1, Played: 0.25, Buffered: 0.5, Cursor: math.NaN()}
	wi.Render(img, []byte{255, 128, 0, 255})
	// Four bars of 2 px, a 1 px gap after each.
	assert.Equal(t, WavePlayed, at(0, 0), "bar 0 is loud and played: full height")
	assert.Equal(t, WavePlayed, at(1, 9))
	assert.Equal(t, RGBA{}, at(2, 5), "the gap")
	assert.Equal(t, WaveArrived, at(3, 5), "bar 1: arrived, not played")
	assert.Equal(t, RGBA{}, at(3, 0), "bar 1 is half as loud: half height")
	assert.Equal(t, WaveNotYet, at(6, 4), "bar 2: silence is a line")
	assert.Equal(t, RGBA{}, at(6, 3))
	assert.Equal(t, WaveNotYet, at(9, 0), "bar 3: not arrived")

	wi.Cursor = 0.5
	wi.Render(img, []byte{255, 128, 0, 255})
	assert.Equal(t, WaveCursor, at(5, 0), "the cursor of a press, full height")
	assert.Equal(t, WaveCursor, at(6, 9))

	assert.Equal(t, wi.Key(), WaveImage{W: w, H: h, Pitch: 3, Gap: 1, Played: 0.26, Buffered: 0.5, Cursor: 0.5}.Key(),
		"a position inside the same bar draws the same")
	assert.NotEqual(t, wi.Key(), WaveImage{W: w, H: h, Pitch: 3, Gap: 1, Played: 0.5, Buffered: 0.5, Cursor: 0.5}.Key())
}
