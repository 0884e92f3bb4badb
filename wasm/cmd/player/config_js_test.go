package main

import (
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// Runs under Node.js: GOOS=js GOARCH=wasm go test -exec=go_js_wasm_exec.

func parse(t *testing.T, body string) js.Value {
	t.Helper()
	return js.Global().Get("JSON").Call("parse", body)
}

func TestWebhooksConfig(t *testing.T) {
	const seed = `"id": "wh_1", "url": "https://api.my-school.com/video-tracking", "request_field": "student", "response_field": "student_id"`
	want := heartbeat.Webhook{ID: "wh_1", URL: "https://api.my-school.com/video-tracking", RequestField: "student",
		ResponseField: "student_id", RPM: 2, Events: true}
	with := func(f func(w *heartbeat.Webhook)) []heartbeat.Webhook {
		w := want
		f(&w)
		return []heartbeat.Webhook{w}
	}
	for _, tc := range []struct {
		name     string
		body     string
		verified bool
		want     []heartbeat.Webhook
	}{
		{"PROTOCOL.md §2 example", `{"uuid": "uuid-1234", "webhooks": [{` + seed + `, "rpm": 2, "events": true, "require_param": false}]}`, false,
			[]heartbeat.Webhook{want}},
		{"no rpm means the default 2, not 1", `{"webhooks": [{` + seed + `}]}`, false, []heartbeat.Webhook{want}},
		{"rpm not a number: the default", `{"webhooks": [{` + seed + `, "rpm": "6"}]}`, false, []heartbeat.Webhook{want}},
		{"rpm kept as sent (the engine clamps it)", `{"webhooks": [{` + seed + `, "rpm": 600}]}`, false,
			with(func(w *heartbeat.Webhook) { w.RPM = 600 })},
		{"events off", `{"webhooks": [{` + seed + `, "rpm": 6, "events": false}]}`, false,
			with(func(w *heartbeat.Webhook) { w.RPM, w.Events = 6, false })},
		{"events not a boolean: on", `{"webhooks": [{` + seed + `, "events": "no"}]}`, false, []heartbeat.Webhook{want}},
		{"require_param", `{"webhooks": [{` + seed + `, "require_param": true}]}`, false,
			with(func(w *heartbeat.Webhook) { w.RequireParam = true })},
		{"signed link required, not verified", `{"webhooks": [{` + seed + `, "require_signed_link": true}]}`, false, nil},
		{"signed link required and verified", `{"webhooks": [{` + seed + `, "require_signed_link": true}]}`, true,
			[]heartbeat.Webhook{want}},
		{"unusable entries skipped, the rest kept", `{"webhooks": [
			{"url": "https://r.example/a", "response_field": "x"},
			{"id": "b", "url": "javascript:alert(1)", "response_field": "x"},
			{"id": "c", "url": "https://r.example/c"},
			"not an object", null, 7,
			{` + seed + `}]}`, false, []heartbeat.Webhook{want}},
		{"no webhooks list", `{"uuid": "uuid-1234"}`, false, nil},
		{"webhooks not a list", `{"webhooks": {"0": {` + seed + `}}}`, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, webhooks(parse(t, tc.body), tc.verified))
		})
	}
}
