// Package ui binds the player page's controls to a media.Media: the
// play/pause button (named "Play" or "Pause" for screen readers), the seek
// slider with its value in words and the buffered range, the time, volume
// and mute, the playback rate, full screen for video, the waveform, the
// keyboard shortcuts, the "click to play" state, resuming where the viewer
// left off, and the status line.
//
// Elements are found and changed with honnef.co/go/js/dom/v2; events are
// listened to through syscall/js, which keeps dom's event wrappers (and
// their size) out of the player.
package ui

import (
	"errors"
	"math"
	"strconv"
	"syscall/js"
	"time"

	"honnef.co/go/js/dom/v2"

	"github.com/pulsehq/pulse/wasm/audio"
	"github.com/pulsehq/pulse/wasm/browser"
	"github.com/pulsehq/pulse/wasm/media"
)

// Config is what Bind needs besides the page.
type Config struct {
	UUID    string  // the media, for remembering where it was left
	Video   bool    // the media has pictures: full screen, no waveform
	Options Options // from the player URL
}

// Controls is the bound player UI.
type Controls struct {
	m      media.Media
	cfg    Config
	root   *dom.BasicHTMLElement
	play   *dom.BasicHTMLElement
	seek   *dom.BasicHTMLElement
	time   *dom.BasicHTMLElement
	status *dom.BasicHTMLElement
	mute   *dom.BasicHTMLElement
	volume *dom.BasicHTMLElement
	rate   *dom.BasicHTMLElement
	full   *dom.BasicHTMLElement
	over   *dom.BasicHTMLElement
	resume *dom.BasicHTMLElement
	wave   *Wave

	dragging  bool
	lastSaved time.Duration // browser.Uptime of the last save
	unlocked  bool
	notice    string // shown when there is no other message
	played    bool   // the viewer has played the media on this page: its position is worth remembering
	autoplay  bool   // playing came from autoplay=1, not from the viewer
}

// on listens to a DOM event with a Go function that must not block.
func on(e *dom.BasicHTMLElement, event string, f func(ev js.Value)) {
	if e == nil {
		return
	}
	e.Underlying().Call("addEventListener", event, js.FuncOf(func(_ js.Value, args []js.Value) any {
		f(args[0])
		return nil
	}))
}

func prop(e *dom.BasicHTMLElement, name string) js.Value { return e.Underlying().Get(name) }

func setProp(e *dom.BasicHTMLElement, name string, v any) {
	if e != nil {
		e.Underlying().Set(name, v)
	}
}

// Bind finds the controls in the page (ids player, play, seek, time, status,
// mute, volume, rate, fullscreen, wave, overlay, resume) and connects
// them to m. Controls the page lacks are left out.
func Bind(m media.Media, cfg Config) *Controls {
	byID := browser.ElementByID
	c := &Controls{
		m: m, cfg: cfg,
		root: byID("player"), play: byID("play"), seek: byID("seek"), time: byID("time"),
		status: byID("status"), mute: byID("mute"), volume: byID("volume"), rate: byID("rate"),
		full: byID("fullscreen"), over: byID("overlay"), resume: byID("resume"),
	}
	if w := byID("wave"); w != nil && !cfg.Video {
		c.wave = NewWave(w.Underlying(), func(frac float64) {
			if d := m.Duration(); d > 0 && !math.IsInf(d, 0) {
				m.Seek(frac * d)
			}
		})
	}
	on(c.play, "click", func(js.Value) { c.Toggle() })
	on(c.over, "click", func(js.Value) { c.Toggle() })
	on(c.seek, "input", func(js.Value) {
		c.dragging = true
		v := prop(c.seek, "valueAsNumber").Float()
		c.showTime(v)
		m.Seek(v)
	})
	on(c.seek, "change", func(js.Value) { c.dragging = false })
	on(c.mute, "click", func(js.Value) { m.SetMuted(!m.Muted()) })
	on(c.volume, "input", func(js.Value) {
		m.SetVolume(prop(c.volume, "valueAsNumber").Float())
		if m.Muted() {
			m.SetMuted(false)
		}
	})
	on(c.rate, "change", func(js.Value) {
		if r, err := strconv.ParseFloat(prop(c.rate, "value").String(), 64); err == nil {
			m.SetRate(r)
		}
	})
	on(c.full, "click", func(js.Value) { c.fullscreen() })
	docEl := browser.Element(js.Global().Get("document").Get("documentElement"))
	on(docEl, "keydown", c.key)
	// Browsers start sound only from a click or key: the first one
	// anywhere starts the audio context, so that playing later works.
	on(docEl, "pointerdown", func(js.Value) { c.unlock() })
	js.Global().Call("addEventListener", "pagehide", js.FuncOf(func(js.Value, []js.Value) any {
		c.save(true)
		return nil
	}))
	js.Global().Call("addEventListener", "resize", js.FuncOf(func(js.Value, []js.Value) any {
		c.draw()
		return nil
	}))
	m.On(c.update)

	for _, e := range []*dom.BasicHTMLElement{c.play, c.seek, c.mute, c.volume, c.rate, c.full} {
		setProp(e, "disabled", false)
	}
	c.root.SetAttribute("data-state", "paused")
	c.showDuration()
	c.showVolume()
	c.start()
	return c
}

// start applies the URL options: muted, the start time or the offer to
// resume, and autoplay.
func (c *Controls) start() {
	o := c.cfg.Options
	if o.Muted {
		c.m.SetMuted(true)
	}
	d := c.m.Duration()
	switch {
	case o.HasStart && o.Start > 0 && d > 0 && o.Start >= d:
		// A start at or past the end (a typo, or a shorter recording):
		// from the beginning.
	case o.Start > 0 && c.m.Position() < o.Start:
		// Media that took the start as an option is there already; the
		// media element seeks.
		c.m.Seek(o.Start)
		c.showTime(o.Start)
	case !o.HasStart:
		c.offerResume()
	}
	if o.Autoplay {
		c.autoplay = true
		go func() {
			if err := c.m.Play(); err != nil {
				c.refused(err)
			}
		}()
	}
}

// Toggle plays or pauses. Play waits for the browser's answer, so it runs
// on a goroutine, never inside the click callback.
func (c *Controls) Toggle() {
	c.unlock()
	c.autoplay = false
	if !c.m.Paused() {
		c.m.Pause()
		return
	}
	c.hideResume()
	go func() {
		if err := c.m.Play(); err != nil {
			c.refused(err)
		}
	}()
}

// refused shows why playback did not start: the autoplay policy gets the
// "click to play" state, anything else a message.
func (c *Controls) refused(err error) {
	if c.m.Err() != nil {
		return // the media failed: update shows why
	}
	if isNotAllowed(err) && c.over != nil {
		c.root.SetAttribute("data-state", "blocked")
		c.over.RemoveAttribute("hidden")
		c.Status("")
		return
	}
	c.Status("Playback did not start (" + err.Error() + "). Press play to try again.")
}

func isNotAllowed(err error) bool {
	var je *browser.JSError
	return errors.As(err, &je) && je.Name == "NotAllowedError"
}

// unlock starts the audio context of media that has one, inside the
// viewer's gesture.
func (c *Controls) unlock() {
	if c.unlocked {
		return
	}
	if u, ok := c.m.(interface{ Unlock() }); ok {
		c.unlocked = true
		u.Unlock()
	}
}

// Status shows a message to the viewer; "" clears it, and shows the
// notice, if any, again.
func (c *Controls) Status(msg string) {
	if msg == "" {
		msg = c.notice
	}
	if c.status != nil {
		c.status.SetTextContent(msg)
	}
}

// Notice shows a lasting message, such as a file that is cut short.
func (c *Controls) Notice(msg string) {
	c.notice = msg
	c.Status(msg)
}

func (c *Controls) key(e js.Value) {
	if e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool() || e.Get("altKey").Bool() {
		return
	}
	c.unlock()
	key := e.Get("key").String()
	act := KeyAction(key, c.cfg.Video)
	if act == NoAction {
		return
	}
	tag, id := "", ""
	if t := e.Get("target"); t.Truthy() && t.Get("tagName").Type() == js.TypeString {
		tag, id = t.Get("tagName").String(), t.Get("id").String()
	}
	switch {
	case key == " " && (tag == "BUTTON" || tag == "SELECT"):
		return // a focused button clicks itself on space
	case (act == Back5 || act == Forward5) && (id == "volume" || tag == "SELECT"):
		return // the arrows move the volume slider and the rate list
	}
	e.Call("preventDefault")
	m := c.m
	switch act {
	case TogglePlay:
		c.Toggle()
	case Back10, Forward10, Back5, Forward5:
		delta := map[Action]float64{Back10: -10, Forward10: 10, Back5: -5, Forward5: 5}[act]
		m.Seek(Jump(m.Position(), delta, m.Duration()))
	case ToggleMute:
		m.SetMuted(!m.Muted())
	case Fullscreen:
		c.fullscreen()
	}
}

// fullscreen enters or leaves full screen with the whole player
// (https://developer.mozilla.org/docs/Web/API/Fullscreen_API).
func (c *Controls) fullscreen() {
	doc := js.Global().Get("document")
	if doc.Get("fullscreenElement").Truthy() {
		doc.Call("exitFullscreen")
		return
	}
	if el := c.root.Underlying(); el.Get("requestFullscreen").Truthy() {
		p := el.Call("requestFullscreen")
		if p.Truthy() {
			p.Call("catch", js.FuncOf(func(js.Value, []js.Value) any {
				c.Status("Full screen is not allowed here (the embedding page must allow it: allow=\"fullscreen\").")
				return nil
			}))
		}
	}
}

func (c *Controls) update(ev media.Event) {
	switch ev {
	case media.Play, media.Playing:
		if ev == media.Playing {
			c.root.RemoveAttribute("data-buffering")
		}
		c.Status("")
		c.root.SetAttribute("data-state", "playing")
		c.play.SetAttribute("aria-label", "Pause")
		if c.over != nil {
			c.over.SetAttribute("hidden", "")
		}
		c.played = true
		if !c.autoplay {
			// The viewer chose to play from here. After autoplay, the
			// offer stays: they may still want to resume.
			c.hideResume()
		}
	case media.Pause, media.Ended:
		c.root.SetAttribute("data-state", "paused")
		c.play.SetAttribute("aria-label", "Play")
		c.save(true)
	case media.Waiting:
		c.root.SetAttribute("data-buffering", "true")
	case media.TimeUpdate, media.Seeked, media.Seeking:
		if ev != media.Seeking {
			c.root.RemoveAttribute("data-buffering")
		}
		if !c.dragging {
			c.showPosition()
		}
		c.save(false)
		c.draw()
	case media.DurationChange:
		c.showDuration()
		if cs, ok := c.m.(interface{ CutShort() bool }); ok && cs.CutShort() {
			c.Notice("This recording is cut short: it ends at " + audio.Clock(c.m.Duration()) + ".")
		}
	case media.Progress:
		c.draw()
	case media.VolumeChange:
		c.showVolume()
	case media.RateChange:
		setProp(c.rate, "value", strconv.FormatFloat(c.m.Rate(), 'f', -1, 64))
	case media.Error:
		c.root.SetAttribute("data-state", "error")
		if c.over != nil {
			c.over.SetAttribute("hidden", "")
		}
		if err := c.m.Err(); err != nil {
			c.Status("This media cannot be played: " + err.Error() + ".")
		}
	}
}

// SetPeaks gives the waveform its peaks (0–255 each).
func (c *Controls) SetPeaks(p []byte) {
	if c.wave != nil {
		c.wave.SetPeaks(p)
		c.draw()
	}
}

// HasPeaks reports whether the waveform has peaks to draw.
func (c *Controls) HasPeaks() bool { return c.wave != nil && c.wave.HasPeaks() }

func (c *Controls) draw() {
	d := c.m.Duration()
	played, buffered := 0.0, 0.0
	if d > 0 && !math.IsInf(d, 0) {
		played = min(c.m.Position()/d, 1)
		for _, r := range c.m.Buffered() {
			buffered = max(buffered, min(r.End/d, 1))
		}
	}
	if c.seek != nil {
		st := prop(c.seek, "style")
		st.Call("setProperty", "--played", strconv.FormatFloat(played*100, 'f', 2, 64)+"%")
		st.Call("setProperty", "--buffered", strconv.FormatFloat(buffered*100, 'f', 2, 64)+"%")
	}
	if c.wave != nil {
		c.wave.Draw(played, buffered)
	}
}

func (c *Controls) showDuration() {
	if d := c.m.Duration(); d > 0 && !math.IsInf(d, 0) {
		c.seek.SetAttribute("max", strconv.FormatFloat(d, 'f', 3, 64))
	}
	c.showPosition()
	c.draw()
}

// showPosition moves the seek slider and the time to the position.
func (c *Controls) showPosition() {
	pos := c.m.Position()
	setProp(c.seek, "value", strconv.FormatFloat(pos, 'f', 3, 64))
	c.showTime(pos)
}

func (c *Controls) showTime(pos float64) {
	d := c.m.Duration()
	total := audio.Clock(d)
	if math.IsNaN(d) || d <= 0 {
		total = "--:--"
	}
	if math.IsInf(d, 1) {
		total = "live"
	}
	if c.time != nil {
		c.time.SetTextContent(audio.Clock(pos) + " / " + total)
	}
	c.seek.SetAttribute("aria-valuetext", audio.Clock(pos)+" of "+total)
}

func (c *Controls) showVolume() {
	muted := c.m.Muted() || c.m.Volume() == 0
	if c.mute != nil {
		c.mute.SetAttribute("aria-pressed", strconv.FormatBool(c.m.Muted()))
		c.mute.SetAttribute("aria-label", map[bool]string{false: "Mute", true: "Unmute"}[c.m.Muted()])
		c.root.SetAttribute("data-muted", strconv.FormatBool(muted))
	}
	setProp(c.volume, "value", strconv.FormatFloat(c.m.Volume(), 'f', 2, 64))
}

// --- Resume ------------------------------------------------------------

// storage returns localStorage, or undefined where the browser refuses it
// (a sandboxed iframe, storage turned off): resuming is then unavailable.
func storage() (s js.Value) {
	defer func() {
		if recover() != nil {
			s = js.Undefined()
		}
	}()
	return js.Global().Get("localStorage")
}

func (c *Controls) resumeKey() string { return "pulse:position:" + c.cfg.UUID }

// save remembers the position, every few seconds while playing and at
// once when asked; at the end it forgets it.
func (c *Controls) save(now bool) {
	if c.cfg.UUID == "" || !c.played || (!now && c.lastSaved != 0 && browser.Uptime()-c.lastSaved < 5*time.Second) {
		return
	}
	c.lastSaved = browser.Uptime()
	st := storage()
	if !st.Truthy() {
		return
	}
	defer func() { recover() }() // quota full, storage revoked: nothing to do
	if c.m.Ended() || !OfferResume(c.m.Position(), c.m.Duration()) {
		st.Call("removeItem", c.resumeKey())
		return
	}
	st.Call("setItem", c.resumeKey(), strconv.FormatFloat(c.m.Position(), 'f', 1, 64))
}

// offerResume shows "Resume from m:ss" when this browser left the media
// part way through.
func (c *Controls) offerResume() {
	st := storage()
	if c.resume == nil || c.cfg.UUID == "" || !st.Truthy() {
		return
	}
	v, err := browser.Call(st, "getItem", c.resumeKey())
	if err != nil || v.Type() != js.TypeString {
		return
	}
	at, perr := strconv.ParseFloat(v.String(), 64)
	if perr != nil || !OfferResume(at, c.m.Duration()) {
		return
	}
	root := c.resume.Underlying()
	root.Call("querySelector", ".resume-text").Set("textContent", "Resume from "+audio.Clock(at)+"?")
	yes, no := root.Call("querySelector", ".resume-yes"), root.Call("querySelector", ".resume-no")
	yes.Call("addEventListener", "click", js.FuncOf(func(js.Value, []js.Value) any {
		c.m.Seek(at)
		c.hideResume()
		if c.m.Paused() {
			c.Toggle()
		}
		return nil
	}))
	no.Call("addEventListener", "click", js.FuncOf(func(js.Value, []js.Value) any {
		c.hideResume()
		if st := storage(); st.Truthy() {
			browser.Call(st, "removeItem", c.resumeKey())
		}
		return nil
	}))
	c.resume.RemoveAttribute("hidden")
}

func (c *Controls) hideResume() {
	if c.resume != nil {
		c.resume.SetAttribute("hidden", "")
	}
}
