package browser

import (
	"sync"
	"syscall/js"
	"time"
)

// A long computation on the wasm main thread freezes every timer, event
// and frame until it ends. Yield lets the browser run what is waiting:
// it posts a message on a MessageChannel and blocks the calling goroutine
// until the message arrives, which takes one trip through the event loop
// and none of setTimeout's clamping to 4 ms
// (https://developer.mozilla.org/docs/Web/API/MessageChannel,
// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers).
// Under Node.js, where port messages starve timers, it uses setImmediate,
// as React's scheduler does. Never call it inside a js.FuncOf callback.
func Yield() {
	y := yielder()
	ch := make(chan struct{})
	y.mu.Lock()
	y.waiting = append(y.waiting, ch)
	y.mu.Unlock()
	y.post()
	<-ch
}

type yielding struct {
	mu      sync.Mutex
	post    func()
	waiting []chan struct{}
}

var yielder = sync.OnceValue(func() *yielding {
	y := &yielding{}
	wake := js.FuncOf(func(js.Value, []js.Value) any {
		y.mu.Lock()
		if len(y.waiting) > 0 {
			close(y.waiting[0])
			y.waiting = y.waiting[1:]
		}
		y.mu.Unlock()
		return nil
	})
	if si := js.Global().Get("setImmediate"); si.Type() == js.TypeFunction {
		y.post = func() { si.Invoke(wake) }
		return y
	}
	mc := js.Global().Get("MessageChannel").New()
	mc.Get("port1").Set("onmessage", wake)
	port := mc.Get("port2")
	y.post = func() { port.Call("postMessage", nil) }
	return y
})

// Budget is a slice of main-thread time for work done in steps: after
// each step, Spend yields to the browser once the slice is used up.
type Budget struct {
	Slice time.Duration
	start time.Time
}

// Spend yields when the current slice is used up, and starts a new one.
func (b *Budget) Spend() {
	if b.start.IsZero() {
		b.start = time.Now()
		return
	}
	if time.Since(b.start) >= b.Slice {
		Yield()
		b.start = time.Now()
	}
}

// started is when the player started.
var started = time.Now()

// Uptime returns the time since the player started, on the monotonic
// clock. Structs that the player hands around as interfaces keep times as
// Uptime durations rather than time.Time: a time.Time field there links
// time's formatting code (some 50 KB) into the player for fmt's sake.
func Uptime() time.Duration { return time.Since(started) }
