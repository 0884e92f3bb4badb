package browser

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// These tests run under Node.js (GOOS=js GOARCH=wasm go test
// -exec=$(go env GOROOT)/lib/wasm/go_js_wasm_exec), which has no DOM:
// fetch, navigator.sendBeacon, FormData and location are stubbed on
// globalThis, and the stubs record how the glue calls them.

// stub sets globalThis[name] to v for the rest of the test.
func stub(t *testing.T, name string, v any) {
	t.Helper()
	g := js.Global()
	if g.Get("document").Truthy() {
		// A browser's window.location and navigator cannot be replaced:
		// these tests are for Node.js; the e2e tests cover the browser.
		t.Skip("stubs browser globals: runs under Node.js")
	}
	old := g.Get(name)
	g.Set(name, v)
	t.Cleanup(func() {
		if old.IsUndefined() {
			g.Delete(name)
		} else {
			g.Set(name, old)
		}
	})
}

// funcOf is js.FuncOf, released when the test ends.
func funcOf(t *testing.T, f func(this js.Value, args []js.Value) any) js.Func {
	t.Helper()
	fn := js.FuncOf(f)
	t.Cleanup(fn.Release)
	return fn
}

// stubFormData replaces FormData with a constructor whose instances record
// their appends as [name, value] pairs in "entries".
func stubFormData(t *testing.T) js.Value {
	t.Helper()
	appendFn := funcOf(t, func(this js.Value, args []js.Value) any {
		this.Get("entries").Call("push", js.ValueOf([]any{args[0].String(), args[1].String()}))
		return nil
	})
	ctor := funcOf(t, func(this js.Value, _ []js.Value) any {
		this.Set("entries", js.Global().Get("Array").New())
		this.Set("append", appendFn)
		return nil
	})
	stub(t, "FormData", ctor)
	return ctor.Value
}

// entries returns what was appended to a stub FormData, in order.
func entries(t *testing.T, fd js.Value) []heartbeat.Field {
	t.Helper()
	require.Equal(t, js.TypeObject, fd.Type(), "body is an object")
	e := fd.Get("entries")
	var out []heartbeat.Field
	for i := range e.Length() {
		out = append(out, heartbeat.Field{Name: e.Index(i).Index(0).String(), Value: e.Index(i).Index(1).String()})
	}
	return out
}

// fetchCall is one call of the stub fetch.
type fetchCall struct {
	url  string
	opts js.Value
}

// stubFetch replaces fetch; answer returns the promise each call gets.
func stubFetch(t *testing.T, answer func(url string, opts js.Value) js.Value) *[]fetchCall {
	t.Helper()
	var calls []fetchCall
	stub(t, "fetch", funcOf(t, func(_ js.Value, args []js.Value) any {
		calls = append(calls, fetchCall{args[0].String(), args[1]})
		return answer(args[0].String(), args[1])
	}))
	return &calls
}

func resolve(v any) js.Value { return js.Global().Get("Promise").Call("resolve", v) }
func reject(v any) js.Value  { return js.Global().Get("Promise").Call("reject", v) }

// response is a fetch Response with a status and a body to cancel.
func response(t *testing.T, status int, cancelled *bool) js.Value {
	cancel := funcOf(t, func(js.Value, []js.Value) any {
		*cancelled = true
		return resolve(js.Undefined())
	})
	return js.ValueOf(map[string]any{"status": status, "body": map[string]any{"cancel": cancel}})
}

func typeError(msg string) js.Value { return js.Global().Get("TypeError").New(msg) }

var send = heartbeat.Send{
	Webhook: "wh_1", URL: "https://r.example/hook", Event: heartbeat.EventHeartbeat, Seq: 3,
	Fields: []heartbeat.Field{
		{Name: "uuid", Value: "uuid-1234"}, {Name: "position", Value: "15.4"}, {Name: "student_id", Value: "john_doe"},
		{Name: "event", Value: "heartbeat"}, {Name: "note", Value: "a&b=c\r\n<x>"},
	},
}

func TestPost(t *testing.T) {
	for _, tc := range []struct {
		opaque bool
		mode   string
	}{{false, "cors"}, {true, "no-cors"}} {
		t.Run(tc.mode, func(t *testing.T) {
			formData := stubFormData(t)
			cancelled := false
			calls := stubFetch(t, func(string, js.Value) js.Value { return resolve(response(t, 204, &cancelled)) })

			r := Post(send, tc.opaque)

			assert.Equal(t, heartbeat.Result{Status: 204}, r)
			require.Len(t, *calls, 1)
			c := (*calls)[0]
			assert.Equal(t, send.URL, c.url)
			assert.Equal(t, "POST", c.opts.Get("method").String())
			assert.Equal(t, "omit", c.opts.Get("credentials").String(), "no cookies")
			assert.Equal(t, tc.mode, c.opts.Get("mode").String())
			assert.Equal(t, "follow", c.opts.Get("redirect").String())
			assert.True(t, c.opts.Get("headers").IsUndefined(), "no custom headers: a CORS simple request")
			assert.True(t, c.opts.Get("signal").Truthy(), "a timeout can abort it")
			body := c.opts.Get("body")
			assert.True(t, body.InstanceOf(formData), "the body is a FormData")
			assert.Equal(t, send.Fields, entries(t, body), "every field, in order, byte-exact")
			assert.True(t, cancelled, "the body is drained")
		})
	}
}

func TestPostFailures(t *testing.T) {
	t.Run("rejected", func(t *testing.T) {
		stubFormData(t)
		stubFetch(t, func(string, js.Value) js.Value { return reject(typeError("Failed to fetch")) })
		r := Post(send, false)
		var je *JSError
		require.True(t, errors.As(r.Err, &je), "%v", r.Err)
		assert.Equal(t, JSError{Name: "TypeError", Message: "Failed to fetch"}, *je)
		assert.Equal(t, 0, r.Status)
		assert.True(t, r.Retryable())
	})
	t.Run("fetch throws", func(t *testing.T) {
		stubFormData(t)
		// A Go callback cannot throw: the stub is a JS function.
		stub(t, "fetch", js.Global().Get("Function").New(`throw new TypeError("Invalid URL")`))
		r := Post(send, false)
		require.Error(t, r.Err)
		assert.Contains(t, r.Err.Error(), "Invalid URL")
	})
	t.Run("HTTP status", func(t *testing.T) {
		stubFormData(t)
		cancelled := false
		stubFetch(t, func(string, js.Value) js.Value { return resolve(response(t, 429, &cancelled)) })
		assert.Equal(t, heartbeat.Result{Status: 429}, Post(send, false))
	})
}

func TestBeacon(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer bool // what sendBeacon returns
		throws bool
		want   bool
	}{
		{"queued", true, false, true},
		{"refused (quota full)", false, false, false},
		{"throws", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			formData := stubFormData(t)
			var url string
			var body js.Value
			calls := 0
			record := funcOf(t, func(_ js.Value, args []js.Value) any {
				calls++
				url, body = args[0].String(), args[1]
				return tc.answer
			})
			// A Go callback cannot throw: a JS wrapper does it after
			// recording the call.
			sendBeacon := js.Global().Get("Function").New("record", "throws",
				`return function (url, body) { const ok = record(url, body); if (throws) throw new TypeError("Illegal invocation"); return ok }`).
				Invoke(record, tc.throws)
			stub(t, "navigator", js.ValueOf(map[string]any{"sendBeacon": sendBeacon}))

			assert.Equal(t, tc.want, Beacon(send))
			assert.Equal(t, 1, calls, "called once, synchronously")
			assert.Equal(t, send.URL, url)
			assert.True(t, body.InstanceOf(formData), "the body is a FormData")
			assert.Equal(t, send.Fields, entries(t, body))
		})
	}
	t.Run("no sendBeacon", func(t *testing.T) {
		stub(t, "navigator", js.ValueOf(map[string]any{}))
		assert.False(t, Beacon(send))
	})
}

func TestDiagnose(t *testing.T) {
	netErr := &JSError{Name: "TypeError", Message: "Failed to fetch"}
	for _, tc := range []struct {
		name     string
		page     string // location.protocol of the player page
		url      string
		result   heartbeat.Result
		probe    func() js.Value // the HEAD probe's answer; nil: none expected
		kind     int
		contains []string
	}{
		{"429", "https:", "https://r.example/h", heartbeat.Result{Status: 429}, nil, Failed,
			[]string{"HTTP 429 Too Many Requests", "backing off", "rpm"}},
		{"503", "https:", "https://r.example/h", heartbeat.Result{Status: 503}, nil, Failed,
			[]string{"HTTP 503", "retrying with backoff"}},
		{"413", "https:", "https://r.example/h", heartbeat.Result{Status: 413}, nil, Failed,
			[]string{"HTTP 413 Payload Too Large", "not retried"}},
		{"404", "https:", "https://r.example/h", heartbeat.Result{Status: 404}, nil, Failed,
			[]string{"HTTP 404", "not retried", "webhook URL"}},
		{"timeout", "https:", "https://r.example/h", heartbeat.Result{Err: &JSError{Name: "AbortError", Message: "aborted"}}, nil, Failed,
			[]string{"no answer within 10s"}},
		{"mixed content", "https:", "http://r.example/h", heartbeat.Result{Err: netErr}, nil, Blocked,
			[]string{"mixed content", "https", "http://", "use an https:// URL"}},
		{"no CORS", "https:", "https://r.example/h", heartbeat.Result{Err: netErr},
			func() js.Value { return resolve(js.ValueOf(map[string]any{"status": 0, "type": "opaque"})) }, NoCORS,
			[]string{"Access-Control-Allow-Origin", "https://pulse.example"}},
		{"unreachable", "https:", "https://r.example/h", heartbeat.Result{Err: netErr},
			func() js.Value { return reject(typeError("Failed to fetch")) }, Failed,
			[]string{"could not be reached (TypeError: Failed to fetch)"}},
		{"http page, http URL: not mixed content", "http:", "http://r.example/h", heartbeat.Result{Err: netErr},
			func() js.Value { return reject(typeError("Failed to fetch")) }, Failed,
			[]string{"could not be reached"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub(t, "location", js.ValueOf(map[string]any{"protocol": tc.page, "origin": tc.page + "//pulse.example"}))
			calls := stubFetch(t, func(string, js.Value) js.Value {
				if tc.probe == nil {
					t.Error("unexpected probe")
					return reject(typeError("unexpected"))
				}
				return tc.probe()
			})

			kind, msg := Diagnose(tc.url, tc.result)

			assert.Equal(t, tc.kind, kind, msg)
			for _, s := range tc.contains {
				assert.Contains(t, msg, s)
			}
			if tc.probe == nil {
				assert.Empty(t, *calls, "no probe")
				return
			}
			require.Len(t, *calls, 1, "one probe")
			c := (*calls)[0]
			assert.Equal(t, tc.url, c.url)
			assert.Equal(t, "HEAD", c.opts.Get("method").String())
			assert.Equal(t, "no-cors", c.opts.Get("mode").String())
			assert.Equal(t, "omit", c.opts.Get("credentials").String())
		})
	}
}

func TestAwait(t *testing.T) {
	v, err := Await(resolve(42))
	require.NoError(t, err)
	assert.Equal(t, 42, v.Int())

	_, err = Await(reject("just a string"))
	assert.Equal(t, &JSError{Name: "Error", Message: "just a string"}, err)
}
