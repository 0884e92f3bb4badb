package media

import (
	"errors"
	"math"
	"syscall/js"

	"honnef.co/go/js/dom/v2"

	"github.com/pulsehq/pulse/wasm/browser"
)

// Element is a Media backed by an HTML <audio> or <video> element.
type Element struct {
	el   *dom.HTMLMediaElement
	v    js.Value
	subs []func(Event)
}

// NewElement wraps a media element and starts listening to its events.
func NewElement(el *dom.HTMLMediaElement) *Element {
	e := &Element{el: el, v: el.Underlying()}
	for _, ev := range Events {
		// syscall/js rather than dom's AddEventListener, whose event
		// wrappers would add every DOM event type to the player's size.
		e.v.Call("addEventListener", string(ev), js.FuncOf(func(js.Value, []js.Value) any {
			for _, f := range e.subs {
				f(ev)
			}
			return nil
		}))
	}
	return e
}

// Underlying returns the element.
func (e *Element) Underlying() *dom.HTMLMediaElement { return e.el }

// Play implements Media. It blocks until the browser accepts or refuses.
func (e *Element) Play() error {
	p := e.v.Call("play")
	if p.IsUndefined() || p.IsNull() { // old browsers return nothing
		return nil
	}
	ch := make(chan error, 1)
	ok := js.FuncOf(func(js.Value, []js.Value) any { ch <- nil; return nil })
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		err := &browser.JSError{Name: "Error", Message: "playback refused"}
		if len(args) > 0 && args[0].Type() == js.TypeObject {
			err = &browser.JSError{Name: args[0].Get("name").String(), Message: args[0].Get("message").String()}
		}
		ch <- err
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	return <-ch
}

// Pause implements Media.
func (e *Element) Pause() { e.el.Pause() }

// Seek implements Media.
func (e *Element) Seek(s float64) {
	if d := e.Duration(); !math.IsNaN(d) && !math.IsInf(d, 0) {
		s = min(s, d)
	}
	e.v.Set("currentTime", max(s, 0))
}

// Position implements Media.
func (e *Element) Position() float64 { return e.v.Get("currentTime").Float() }

// Duration implements Media.
func (e *Element) Duration() float64 { return e.v.Get("duration").Float() }

// Paused implements Media.
func (e *Element) Paused() bool { return e.el.Paused() }

// Ended implements Media.
func (e *Element) Ended() bool { return e.v.Get("ended").Bool() }

// Buffered implements Media.
func (e *Element) Buffered() []Range {
	b := e.v.Get("buffered")
	n := b.Get("length").Int()
	out := make([]Range, 0, n)
	for i := range n {
		out = append(out, Range{b.Call("start", i).Float(), b.Call("end", i).Float()})
	}
	return out
}

// Rate implements Media.
func (e *Element) Rate() float64 { return e.v.Get("playbackRate").Float() }

// SetRate implements Media. Pitch is kept (preservesPitch defaults on).
func (e *Element) SetRate(r float64) { e.v.Set("playbackRate", r) }

// Volume implements Media.
func (e *Element) Volume() float64 { return e.v.Get("volume").Float() }

// SetVolume implements Media.
func (e *Element) SetVolume(v float64) { e.v.Set("volume", min(max(v, 0), 1)) }

// Muted implements Media.
func (e *Element) Muted() bool { return e.v.Get("muted").Bool() }

// SetMuted implements Media.
func (e *Element) SetMuted(m bool) { e.v.Set("muted", m) }

// Err implements Media, in words for the viewer
// (https://developer.mozilla.org/docs/Web/API/MediaError/code).
func (e *Element) Err() error {
	me := e.v.Get("error")
	if !me.Truthy() {
		return nil
	}
	switch me.Get("code").Int() {
	case 1:
		return errors.New("loading the media was aborted")
	case 2:
		return errors.New("a network error stopped the media from loading")
	case 3:
		return errors.New("the media file is corrupt and cannot be decoded")
	case 4:
		return errors.New("this browser cannot play this media file, or it is missing")
	}
	return errors.New("the media failed: " + me.Get("message").String())
}

// On implements Media.
func (e *Element) On(f func(Event)) { e.subs = append(e.subs, f) }
