package ui

import (
	"math"
	"syscall/js"
)

// Wave draws waveform peaks on a canvas, coloured by what has been played
// and what has arrived, and seeks where it is clicked or touched (a press
// and drag previews the place; letting go seeks there).
type Wave struct {
	canvas   js.Value
	peaks    []byte
	seek     func(frac float64)
	drag     float64 // where a press is, 0–1; NaN when none
	played   float64
	buffered float64

	// The image, rendered in Go and put on the canvas in one call: three
	// calls a frame instead of three a bar.
	img     []byte
	data    js.Value // the canvas's ImageData, of the canvas's size
	drawn   [6]int   // WaveImage.Key of what the canvas shows
	drawnOf []byte   // the peaks it shows
}

// waveBarWidth is the CSS pixels from one bar to the next, gap included.
const waveBarWidth = 3

// NewWave binds a canvas; seek is called with the fraction of the media
// the viewer chose.
func NewWave(canvas js.Value, seek func(frac float64)) *Wave {
	w := &Wave{canvas: canvas, seek: seek, drag: math.NaN()}
	frac := func(e js.Value) float64 {
		r := canvas.Call("getBoundingClientRect")
		width := r.Get("width").Float()
		if width <= 0 {
			return 0
		}
		return min(max((e.Get("clientX").Float()-r.Get("left").Float())/width, 0), 1)
	}
	listen := func(name string, f func(e js.Value)) {
		canvas.Call("addEventListener", name, js.FuncOf(func(_ js.Value, args []js.Value) any {
			f(args[0])
			return nil
		}))
	}
	listen("pointerdown", func(e js.Value) {
		if e.Get("button").Int() != 0 {
			return
		}
		canvas.Call("setPointerCapture", e.Get("pointerId"))
		w.drag = frac(e)
		w.redraw()
	})
	listen("pointermove", func(e js.Value) {
		if !math.IsNaN(w.drag) {
			w.drag = frac(e)
			w.redraw()
		}
	})
	listen("pointerup", func(e js.Value) {
		if math.IsNaN(w.drag) {
			return
		}
		f := frac(e)
		w.drag = math.NaN()
		w.played = f
		w.redraw()
		seek(f)
	})
	listen("pointercancel", func(js.Value) {
		w.drag = math.NaN()
		w.redraw()
	})
	return w
}

// SetPeaks sets the peaks to draw.
func (w *Wave) SetPeaks(p []byte) { w.peaks, w.drawnOf = p, nil }

// HasPeaks reports whether there are peaks to draw.
func (w *Wave) HasPeaks() bool { return len(w.peaks) > 0 }

// Draw draws the waveform with played and buffered as fractions 0–1.
func (w *Wave) Draw(played, buffered float64) {
	w.played, w.buffered = played, buffered
	w.redraw()
}

func (w *Wave) redraw() {
	c := w.canvas
	cssW, cssH := c.Get("clientWidth").Float(), c.Get("clientHeight").Float()
	if cssW <= 0 || cssH <= 0 || len(w.peaks) == 0 {
		return
	}
	dpr := js.Global().Get("devicePixelRatio").Float()
	if !(dpr >= 1) {
		dpr = 1
	}
	wi := WaveImage{W: int(cssW * dpr), H: int(cssH * dpr), Pitch: int(waveBarWidth * dpr), Gap: int(dpr),
		Played: w.played, Buffered: w.buffered, Cursor: w.drag}
	if !math.IsNaN(w.drag) {
		wi.Played = w.drag
	}
	key := wi.Key()
	if key == w.drawn && len(w.drawnOf) > 0 && &w.drawnOf[0] == &w.peaks[0] {
		return // nothing visible changed
	}
	g := c.Call("getContext", "2d")
	if !g.Truthy() {
		return
	}
	if c.Get("width").Int() != wi.W || c.Get("height").Int() != wi.H || !w.data.Truthy() {
		c.Set("width", wi.W)
		c.Set("height", wi.H)
		w.data = g.Call("createImageData", wi.W, wi.H)
		w.img = make([]byte, 4*wi.W*wi.H)
	}
	wi.Render(w.img, w.peaks)
	js.CopyBytesToJS(w.data.Get("data"), w.img)
	g.Call("putImageData", w.data, 0, 0)
	w.drawn, w.drawnOf = key, w.peaks
}
