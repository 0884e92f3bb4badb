// Package browser is the player's thin glue to browser APIs through
// syscall/js: fetch and navigator.sendBeacon with FormData bodies, JSON
// loading, promises as Go calls, and console logging. The wasm never links
// net/http (it would add ~1.3 MB): every request goes through fetch here.
package browser

import (
	"errors"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// JSError is a JavaScript exception or promise rejection as a Go error.
type JSError struct {
	Name    string // such as "TypeError", "AbortError", "NotAllowedError"
	Message string
}

func (e *JSError) Error() string { return e.Name + ": " + e.Message }

func jsError(v js.Value) error {
	if v.Type() == js.TypeObject {
		return &JSError{Name: v.Get("name").String(), Message: v.Get("message").String()}
	}
	return &JSError{Name: "Error", Message: v.String()}
}

// Await waits for a promise and returns its value or its rejection as an
// error. It blocks the calling goroutine: never call it inside a js.FuncOf
// callback (start a goroutine), as net/http's roundtrip_js.go does.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg0(args))}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// Call calls method on v and turns a thrown exception into an error.
func Call(v js.Value, method string, args ...any) (result js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsError(je.Value)
				return
			}
			err = errors.New("browser: " + method + " failed")
		}
	}()
	return v.Call(method, args...), nil
}

// Warn and Info write to the browser console with a "pulse:" prefix.
func Warn(msg string) { js.Global().Get("console").Call("warn", "pulse: "+msg) }

// Info writes an informational console message.
func Info(msg string) { js.Global().Get("console").Call("info", "pulse: "+msg) }

// Mark sets a performance mark, for benchmarks and devtools timelines.
func Mark(name string) {
	if perf := js.Global().Get("performance"); perf.Truthy() && perf.Get("mark").Truthy() {
		perf.Call("mark", name)
	}
}

// formData builds a FormData body: multipart/form-data, a CORS-safelisted
// content type, so the request needs no preflight.
func formData(fields []heartbeat.Field) js.Value {
	fd := js.Global().Get("FormData").New()
	for _, f := range fields {
		fd.Call("append", f.Name, f.Value)
	}
	return fd
}

// PostTimeout is how long a heartbeat request may take before it counts
// as a network failure.
const PostTimeout = 10 * time.Second

// Post sends a heartbeat with fetch: a POST with a FormData body, no
// credentials and no custom headers (a CORS simple request). It blocks
// until the response or PostTimeout. With opaque it uses no-cors mode, for
// endpoints that do not answer CORS: the request goes out the same, and
// the answer is hidden (Status 0).
func Post(s heartbeat.Send, opaque bool) heartbeat.Result {
	ctrl := js.Global().Get("AbortController").New()
	timer := time.AfterFunc(PostTimeout, func() { ctrl.Call("abort") })
	defer timer.Stop()
	opts := js.ValueOf(map[string]any{
		"method":         "POST",
		"body":           formData(s.Fields),
		"credentials":    "omit",
		"mode":           map[bool]string{false: "cors", true: "no-cors"}[opaque],
		"cache":          "no-store",
		"redirect":       "follow",
		"referrerPolicy": "strict-origin",
		"signal":         ctrl.Get("signal"),
	})
	p, err := Call(js.Global(), "fetch", s.URL, opts)
	if err != nil {
		return heartbeat.Result{Err: err}
	}
	res, err := Await(p)
	if err != nil {
		return heartbeat.Result{Err: err}
	}
	// Drain the body so the connection can be reused; its content is not
	// ours to read.
	if body := res.Get("body"); body.Truthy() {
		if c, err := Call(body, "cancel"); err == nil {
			c.Call("catch", js.FuncOf(func(js.Value, []js.Value) any { return nil }))
		}
	}
	return heartbeat.Result{Status: res.Get("status").Int()}
}

// Beacon sends s with navigator.sendBeacon, synchronously, as the unload
// path needs (https://developer.mozilla.org/docs/Web/API/Navigator/sendBeacon).
// It returns false when the browser refused to queue it (its beacon quota,
// about 64 KB in flight, is full) or has no sendBeacon.
func Beacon(s heartbeat.Send) bool {
	nav := js.Global().Get("navigator")
	if !nav.Get("sendBeacon").Truthy() {
		return false
	}
	v, err := Call(nav, "sendBeacon", s.URL, formData(s.Fields))
	return err == nil && v.Truthy()
}

// FetchJSON GETs a same-origin URL and returns the parsed JSON body. Any
// HTTP error status is an error.
func FetchJSON(url string, timeout time.Duration) (js.Value, error) {
	ctrl := js.Global().Get("AbortController").New()
	timer := time.AfterFunc(timeout, func() { ctrl.Call("abort") })
	defer timer.Stop()
	p, err := Call(js.Global(), "fetch", url, js.ValueOf(map[string]any{
		"credentials": "same-origin",
		"signal":      ctrl.Get("signal"),
	}))
	if err != nil {
		return js.Undefined(), err
	}
	res, err := Await(p)
	if err != nil {
		return js.Undefined(), err
	}
	if !res.Get("ok").Bool() {
		return js.Undefined(), errors.New("HTTP " + strconv.Itoa(res.Get("status").Int()))
	}
	p, err = Call(res, "json")
	if err != nil {
		return js.Undefined(), err
	}
	return Await(p)
}

// Kinds of failure Diagnose tells apart.
const (
	Failed  = iota // retry or give up as the protocol says
	NoCORS         // the endpoint got it but answered no CORS
	Blocked        // the browser will never send it
)

// Diagnose explains, in words a person can act on, why a heartbeat to url
// failed with r, and which kind of failure it is. For a network error it
// probes the endpoint with a HEAD request in no-cors mode: when that gets
// through, the endpoint is up and the failure was CORS.
func Diagnose(url string, r heartbeat.Result) (kind int, msg string) {
	if r.Err == nil {
		switch {
		case r.Status == 429:
			return Failed, "HTTP 429 Too Many Requests: the endpoint asks players to slow down; backing off (lower the webhook's rpm?)"
		case r.Status == 413:
			return Failed, "HTTP 413 Payload Too Large: the endpoint refuses bodies this big (a very long URL parameter?); not retried"
		case r.Status >= 500:
			return Failed, "HTTP " + strconv.Itoa(r.Status) + ": the endpoint failed; retrying with backoff"
		default:
			return Failed, "HTTP " + strconv.Itoa(r.Status) + ": the endpoint refused the heartbeat; not retried (is the webhook URL right?)"
		}
	}
	var je *JSError
	if errors.As(r.Err, &je) && je.Name == "AbortError" {
		return Failed, "no answer within " + PostTimeout.String() + ": the endpoint is too slow or unreachable; retrying with backoff"
	}
	loc := js.Global().Get("location")
	if loc.Get("protocol").String() == "https:" && strings.HasPrefix(url, "http:") {
		return Blocked, "blocked as mixed content: this player page is https but the webhook URL is http://; use an https:// URL"
	}
	probe, err := Call(js.Global(), "fetch", url, js.ValueOf(map[string]any{
		"method": "HEAD", "mode": "no-cors", "credentials": "omit", "cache": "no-store",
	}))
	if err == nil {
		if _, err = Await(probe); err == nil {
			return NoCORS, "the endpoint answered without an Access-Control-Allow-Origin header that allows " +
				loc.Get("origin").String() + " (CORS): the receiver must send Access-Control-Allow-Origin: * or this origin"
		}
	}
	return Failed, "the endpoint could not be reached (" + r.Err.Error() + "): it is down, the name does not resolve, or the browser or an extension blocked it"
}
