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
}

// Colours of the bars: played, arrived, not yet arrived, and the cursor
// of a press.
const (
	wavePlayed   = "#3b82f6"
	waveArrived  = "#6b7280"
	waveNotYet   = "#374151"
	waveCursor   = "#f9fafb"
	waveBarWidth = 3 // CSS pixels per bar, gap included
)

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
func (w *Wave) SetPeaks(p []byte) { w.peaks = p }

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
	if cssW <= 0 || cssH <= 0 {
		return
	}
	dpr := js.Global().Get("devicePixelRatio").Float()
	if !(dpr >= 1) {
		dpr = 1
	}
	pw, ph := int(cssW*dpr), int(cssH*dpr)
	if c.Get("width").Int() != pw || c.Get("height").Int() != ph {
		c.Set("width", pw)
		c.Set("height", ph)
	}
	g := c.Call("getContext", "2d")
	if !g.Truthy() {
		return
	}
	g.Call("clearRect", 0, 0, pw, ph)
	if len(w.peaks) == 0 {
		return
	}
	n := max(int(cssW/waveBarWidth), 1)
	bar := float64(pw) / float64(n)
	played := w.played
	if !math.IsNaN(w.drag) {
		played = w.drag
	}
	for i, v := range Bars(w.peaks, n) {
		x := float64(i) * bar
		colour := waveNotYet
		switch at := (float64(i) + 0.5) / float64(n); {
		case at <= played:
			colour = wavePlayed
		case at <= w.buffered:
			colour = waveArrived
		}
		h := max(v*float64(ph), dpr) // silence still shows as a line
		g.Set("fillStyle", colour)
		g.Call("fillRect", x, (float64(ph)-h)/2, max(bar-dpr, 1), h)
	}
	if !math.IsNaN(w.drag) {
		g.Set("fillStyle", waveCursor)
		g.Call("fillRect", w.drag*float64(pw)-dpr, 0, 2*dpr, ph)
	}
}
