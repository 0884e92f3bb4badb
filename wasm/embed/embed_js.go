package embed

import (
	"math"
	"syscall/js"
	"time"

	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/media"
)

// Info identifies the player in every event.
type Info struct {
	UUID    string
	Session string
	// OriginParam is the player URL's origin parameter, if any.
	OriginParam string
}

// timeupdateEvery bounds timeupdate events to 4 a second.
const timeupdateEvery = 250 * time.Millisecond

// API is a running embedding API.
type API struct {
	m        media.Media
	info     Info
	parent   js.Value
	origin   string
	lastTick time.Duration // browser.Uptime of the last timeupdate
}

// Start connects the embedding API of a player in an iframe. Outside an
// iframe, or when the embedding origin is unknown, it does nothing and
// returns nil.
func Start(m media.Media, info Info) *API {
	win := js.Global()
	parent := win.Get("parent")
	if !parent.Truthy() || parent.Equal(win) {
		return nil
	}
	var ancestors []string
	if ao := win.Get("location").Get("ancestorOrigins"); ao.Truthy() {
		for i := range ao.Length() {
			ancestors = append(ancestors, ao.Index(i).String())
		}
	}
	origin := Origin(ancestors, info.OriginParam, win.Get("document").Get("referrer").String())
	if origin == "" {
		return nil
	}
	a := &API{m: m, info: info, parent: parent, origin: origin}
	m.On(a.event)
	win.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) > 0 {
			a.command(args[0])
		}
		return nil
	}))
	a.post("ready", nil)
	return a
}

func (a *API) event(ev media.Event) {
	switch ev {
	case media.Play, media.Pause, media.Seeked, media.Ended:
		if ev == media.Pause && a.m.Ended() {
			return // reaching the end is "ended"
		}
		a.post(string(ev), nil)
	case media.TimeUpdate:
		if now := browser.Uptime(); a.lastTick == 0 || now-a.lastTick >= timeupdateEvery {
			a.lastTick = now
			a.post("timeupdate", nil)
		}
	case media.Error:
		msg := "the media failed"
		if err := a.m.Err(); err != nil {
			msg = err.Error()
		}
		a.post("error", map[string]any{"message": msg})
	}
}

// post sends an event to the embedding page, at its origin only.
func (a *API) post(event string, extra map[string]any) {
	msg := map[string]any{
		"type":     "pulse",
		"event":    event,
		"uuid":     a.info.UUID,
		"session":  a.info.Session,
		"position": a.m.Position(),
		"duration": nil,
	}
	if d := a.m.Duration(); d > 0 && !math.IsInf(d, 0) && !math.IsNaN(d) {
		msg["duration"] = d
	}
	for k, v := range extra {
		msg[k] = v
	}
	a.parent.Call("postMessage", msg, a.origin)
}

func (a *API) reply(id js.Value, result any, err string) {
	msg := map[string]any{"type": "pulse", "reply": id, "ok": err == ""}
	if err != "" {
		msg["error"] = err
	} else {
		msg["result"] = result
	}
	a.parent.Call("postMessage", msg, a.origin)
}

// command runs a command from the parent window at the embedding origin;
// anything else is ignored.
func (a *API) command(e js.Value) {
	if !e.Get("source").Equal(a.parent) || e.Get("origin").String() != a.origin {
		return
	}
	d := e.Get("data")
	if d.Type() != js.TypeObject || d.Get("type").String() != "pulse" || d.Get("command").Type() != js.TypeString {
		return
	}
	id := d.Get("id")
	args := d.Get("args")
	arg := func() (js.Value, bool) {
		if args.Type() != js.TypeObject || args.Length() < 1 {
			return js.Undefined(), false
		}
		return args.Index(0), true
	}
	switch cmd := d.Get("command").String(); cmd {
	case "ping":
		a.post("ready", nil)
	case "play":
		go func() { // Play waits for the browser: never inside the callback
			if err := a.m.Play(); err != nil {
				a.reply(id, nil, err.Error())
				return
			}
			a.reply(id, nil, "")
		}()
	case "pause":
		a.m.Pause()
		a.reply(id, nil, "")
	case "seek":
		v, ok := arg()
		if !ok || v.Type() != js.TypeNumber || math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0) {
			a.reply(id, nil, "seek needs a number of seconds")
			return
		}
		a.m.Seek(v.Float())
		a.reply(id, nil, "")
	case "setVolume":
		v, ok := arg()
		if !ok || v.Type() != js.TypeNumber || math.IsNaN(v.Float()) {
			a.reply(id, nil, "setVolume needs a number from 0 to 1")
			return
		}
		a.m.SetVolume(min(max(v.Float(), 0), 1))
		a.reply(id, nil, "")
	case "setMuted":
		v, ok := arg()
		if !ok || v.Type() != js.TypeBoolean {
			a.reply(id, nil, "setMuted needs true or false")
			return
		}
		a.m.SetMuted(v.Bool())
		a.reply(id, nil, "")
	case "getPosition":
		a.reply(id, a.m.Position(), "")
	default:
		a.reply(id, nil, "unknown command "+cmd)
	}
}
