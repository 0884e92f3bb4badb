package ui

import "github.com/pulsehq/pulse/wasm/audio"

// Bars resamples waveform peaks (0–255) to n bars of 0–1 for a drawing n
// bars wide: each bar is the loudest peak of its share, so that no loud
// moment disappears when the drawing is narrow.
func Bars(peaks []byte, n int) []float64 {
	loud := audio.Loudest(peaks, n)
	if loud == nil {
		return nil
	}
	out := make([]float64, n)
	for i, p := range loud {
		out[i] = float64(p) / 255
	}
	return out
}

// RGBA is a colour of the waveform.
type RGBA [4]byte

// The waveform's colours: played, arrived, not yet arrived, and the
// cursor of a press.
var (
	WavePlayed  = RGBA{0x3b, 0x82, 0xf6, 0xff}
	WaveArrived = RGBA{0x6b, 0x72, 0x80, 0xff}
	WaveNotYet  = RGBA{0x37, 0x41, 0x51, 0xff}
	WaveCursor  = RGBA{0xf9, 0xfa, 0xfb, 0xff}
)

// WaveImage is a waveform to draw: an image w×h pixels of bars pitch
// pixels apart (gap of them empty), coloured by the fractions 0–1 of the
// media played and arrived, and a cursor (NaN for none).
type WaveImage struct {
	W, H, Pitch, Gap         int
	Played, Buffered, Cursor float64
}

// bar returns the bar at fraction f of n bars.
func bar(f float64, n int) int { return int(f * float64(n)) }

// Key identifies what Render draws, to tell when a redraw would change
// nothing.
func (wi WaveImage) Key() [6]int {
	n := max(wi.W/max(wi.Pitch, 1), 1)
	cur := -1
	if wi.Cursor == wi.Cursor { // not NaN
		cur = int(wi.Cursor * float64(wi.W))
	}
	return [6]int{wi.W, wi.H, wi.Pitch, bar(wi.Played+0.5/float64(n), n), bar(wi.Buffered+0.5/float64(n), n), cur}
}

// Render draws peaks (0–255 each) into img, RGBA rows of W pixels, which
// must hold W×H pixels; it clears it first. Silence still shows as a
// line one pixel high.
func (wi WaveImage) Render(img []byte, peaks []byte) {
	clear(img[:4*wi.W*wi.H])
	pitch := max(wi.Pitch, 1)
	n := max(wi.W/pitch, 1)
	width := max(pitch-wi.Gap, 1)
	fill := func(x0, x1, y0, y1 int, c RGBA) {
		for y := max(y0, 0); y < min(y1, wi.H); y++ {
			row := img[4*y*wi.W:]
			for x := max(x0, 0); x < min(x1, wi.W); x++ {
				copy(row[4*x:4*x+4], c[:])
			}
		}
	}
	for i, v := range Bars(peaks, n) {
		c := WaveNotYet
		switch at := (float64(i) + 0.5) / float64(n); {
		case at <= wi.Played:
			c = WavePlayed
		case at <= wi.Buffered:
			c = WaveArrived
		}
		h := max(int(v*float64(wi.H)+0.5), 1)
		y0 := (wi.H - h) / 2
		fill(i*pitch, i*pitch+width, y0, y0+h, c)
	}
	if wi.Cursor == wi.Cursor {
		x := int(wi.Cursor * float64(wi.W))
		fill(x-1, x+1, 0, wi.H, WaveCursor)
	}
}
