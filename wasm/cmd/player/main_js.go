// Command player is the Pulse player, compiled to WebAssembly. It only
// wires parts together: what plays (Pulse's own MP3 decoder through Web
// Audio, or the page's media element), the controls, the webhook config
// from the server, the heartbeat engine and the browser's network.
package main

import (
	"encoding/base64"
	"strings"
	"syscall/js"
	"time"

	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/embed"
	"github.com/pulsehq/pulse/wasm/heartbeat"
	"github.com/pulsehq/pulse/wasm/media"
	"github.com/pulsehq/pulse/wasm/player"
	"github.com/pulsehq/pulse/wasm/ui"
)

// configTimeout bounds the wait for the webhook config; playback never
// waits for it.
const configTimeout = 10 * time.Second

func main() {
	browser.Mark("pulse:main") // the runtime and every package's init are done
	page, err := pageConfig()
	if err != nil {
		browser.Warn("the player page is broken: " + err.Error())
		if st := browser.ElementByID("status"); st != nil {
			st.SetTextContent("The player could not start: " + err.Error())
		}
		return
	}
	query := heartbeat.ParseQuery(js.Global().Get("location").Get("search").String())
	opts := ui.ParseOptions(query)
	var controls *ui.Controls
	m := newMedia(page, opts, func(p []byte) { controls.SetPeaks(p) })
	controls = ui.Bind(m, ui.Config{UUID: page.uuid, Video: strings.HasPrefix(page.mediaType, "video/"), Options: opts})
	origin, _ := query.Get("origin")
	embed.Start(m, embed.Info{UUID: page.uuid, Session: page.session, OriginParam: origin})
	go func() {
		arm(page, m, query)
		// Fetching and decoding ahead, and the waveform, wait for tracking
		// to be armed: all run on the page's one thread, and arming is
		// what start-up waits for. Play does not wait.
		if p, ok := m.(interface{ Preload() }); ok {
			p.Preload()
		}
		if page.peaksURL != "" {
			loadPeaks(controls, page.peaksURL)
		}
	}()
	select {} // the player lives as long as the page
}

// newMedia picks what plays: MP3 through Pulse's decoder where the
// browser has Web Audio (unless the URL asks for engine=element), anything
// else with the page's media element. peaks receives the waveform the
// decoder computes, for media the server has none for.
func newMedia(p page, opts ui.Options, peaks func([]byte)) media.Media {
	if p.mediaType == "audio/mpeg" && !opts.Element && media.SupportsMP3() {
		mo := media.MP3Options{Duration: p.duration, Start: opts.Start, Loop: opts.Loop}
		if p.peaksURL == "" {
			mo.Peaks = peaks
		}
		return media.NewMP3(p.mediaURL, mo)
	}
	el := browser.MediaElementByID("media")
	if el == nil {
		panic("pulse: the page has no <audio> or <video> element #media")
	}
	if el.GetAttribute("src") == "" {
		el.SetAttribute("preload", "metadata")
		el.SetAttribute("src", p.mediaURL)
	}
	if opts.Loop {
		el.SetAttribute("loop", "")
	}
	return media.NewElement(el)
}

// loadPeaks fetches the waveform the server computed at import.
func loadPeaks(c *ui.Controls, url string) {
	v, err := browser.FetchJSON(url, configTimeout)
	if err != nil {
		browser.Warn("waveform unavailable (" + err.Error() + ")")
		return
	}
	list := v.Get("peaks")
	if list.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", list).Bool() {
		return
	}
	// One copy, not a call per peak: a clamped typed array makes every
	// entry a byte (non-numbers 0).
	arr := js.Global().Get("Uint8ClampedArray").Call("from", list.Call("slice", 0, 100000))
	peaks := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(peaks, arr)
	c.SetPeaks(peaks)
}

// page is what the server put in the page's #pulse-config.
type page struct {
	uuid, configURL     string
	mediaURL, mediaType string
	peaksURL            string
	duration            float64 // measured at import; 0 when unknown
	token, session      string  // the page token and its sid (PROTOCOL.md §5)
	linkVerified        bool    // opened with a verified signed link
}

func pageConfig() (page, error) {
	el := browser.ElementByID("pulse-config")
	if el == nil {
		return page{}, errString("no #pulse-config element")
	}
	v, err := browser.Call(js.Global().Get("JSON"), "parse", el.TextContent())
	if err != nil {
		return page{}, errString("bad #pulse-config: " + err.Error())
	}
	p := page{uuid: str(v, "uuid"), configURL: str(v, "config_url"), token: str(v, "token"), session: str(v, "session"),
		mediaURL: str(v, "media_url"), mediaType: str(v, "type"), peaksURL: str(v, "peaks_url"),
		linkVerified: v.Get("lv").Type() == js.TypeBoolean && v.Get("lv").Bool()}
	if d := v.Get("duration"); d.Type() == js.TypeNumber {
		p.duration = d.Float()
	}
	if p.session == "" {
		p.session = newSession() // no token: a session of our own
	}
	if p.uuid == "" || p.configURL == "" || p.mediaURL == "" {
		return page{}, errString("#pulse-config lacks uuid, config_url or media_url")
	}
	return p, nil
}

// arm loads the webhook config and starts tracking. Any failure means no
// tracking, never a broken player.
func arm(p page, m media.Media, query heartbeat.Query) {
	cfg, err := browser.FetchJSON(p.configURL, configTimeout)
	if err != nil {
		browser.Warn("webhook config unavailable (" + err.Error() + "): playing without tracking")
		return
	}
	hooks := webhooks(cfg, p.linkVerified)
	eng := heartbeat.New(heartbeat.Config{
		UUID:     p.uuid,
		Session:  p.session,
		Token:    p.token,
		Query:    query,
		Webhooks: hooks,
		Jitter:   func() float64 { return js.Global().Get("Math").Call("random").Float() },
	})
	tr := player.NewTracker(eng, hooks, m, sender{}, browser.Warn)

	// Final data goes out by beacon, synchronously, when the page is hidden
	// or goes away: https://developer.chrome.com/docs/web-platform/page-lifecycle-api
	doc := js.Global().Get("document")
	doc.Call("addEventListener", "visibilitychange", js.FuncOf(func(js.Value, []js.Value) any {
		if doc.Get("visibilityState").String() == "hidden" {
			tr.Hidden()
		}
		return nil
	}))
	js.Global().Call("addEventListener", "pagehide", js.FuncOf(func(js.Value, []js.Value) any {
		tr.Leave()
		return nil
	}))
	tr.Start()
	browser.Mark("pulse:armed")
	if n := eng.Active(); n > 0 {
		browser.Info("tracking armed: " + itoa(n) + " webhook(s)")
	}
}

// newSession returns 128 random bits, URL-safe, from crypto.getRandomValues.
func newSession() string {
	arr := js.Global().Get("Uint8Array").New(16)
	js.Global().Get("crypto").Call("getRandomValues", arr)
	b := make([]byte, 16)
	js.CopyBytesToGo(b, arr)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sender delivers heartbeats with the browser's fetch and sendBeacon.
type sender struct{}

func (sender) Post(s heartbeat.Send, opaque bool) heartbeat.Result { return browser.Post(s, opaque) }
func (sender) Beacon(s heartbeat.Send) bool                        { return browser.Beacon(s) }

func (sender) Diagnose(url string, r heartbeat.Result) player.Diagnosis {
	kind, msg := browser.Diagnose(url, r)
	switch kind {
	case browser.NoCORS:
		return player.Diagnosis{Kind: player.NoCORS, Message: msg}
	case browser.Blocked:
		return player.Diagnosis{Kind: player.Blocked, Message: msg}
	}
	return player.Diagnosis{Kind: player.Failed, Message: msg}
}

type errString string

func (e errString) Error() string { return string(e) }

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
