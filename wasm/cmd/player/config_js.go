package main

import (
	"strings"
	"syscall/js"

	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// webhooks reads the player config (PROTOCOL.md §2), skipping entries that
// are not usable rather than failing: one bad webhook must not stop the
// others.
//
// Webhooks that require a signed link are left out when the page was not
// opened with a verified one.
func webhooks(cfg js.Value, linkVerified bool) []heartbeat.Webhook {
	list := cfg.Get("webhooks")
	if list.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", list).Bool() {
		browser.Warn("webhook config has no webhooks list: playing without tracking")
		return nil
	}
	var out []heartbeat.Webhook
	for i := range list.Length() {
		v := list.Index(i)
		if v.Type() != js.TypeObject {
			continue
		}
		w := heartbeat.Webhook{
			ID:            str(v, "id"),
			URL:           str(v, "url"),
			RequestField:  str(v, "request_field"),
			ResponseField: str(v, "response_field"),
			RPM:           num(v, "rpm", heartbeat.DefaultRPM),
			Events:        v.Get("events").Type() != js.TypeBoolean || v.Get("events").Bool(),
			RequireParam:  v.Get("require_param").Type() == js.TypeBoolean && v.Get("require_param").Bool(),
		}
		if rsl := v.Get("require_signed_link"); rsl.Type() == js.TypeBoolean && rsl.Bool() && !linkVerified {
			continue
		}
		if w.ID == "" || w.ResponseField == "" || !(strings.HasPrefix(w.URL, "https://") || strings.HasPrefix(w.URL, "http://")) {
			browser.Warn("skipping an unusable webhook in the config: " + w.ID)
			continue
		}
		out = append(out, w)
	}
	return out
}

func str(v js.Value, key string) string {
	if f := v.Get(key); f.Type() == js.TypeString {
		return f.String()
	}
	return ""
}

// num returns the number v[key], or def when it is absent or not a number.
func num(v js.Value, key string, def int) int {
	if f := v.Get(key); f.Type() == js.TypeNumber {
		return f.Int()
	}
	return def
}
