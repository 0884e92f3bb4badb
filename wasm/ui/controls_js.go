// Package ui binds the player page's controls to a media.Media with
// honnef.co/go/js/dom/v2: the play/pause button (named "Play" or "Pause"
// for screen readers), the seek slider with its value in words, the time,
// the status line and the keyboard.
package ui

import (
	"math"
	"strconv"

	"honnef.co/go/js/dom/v2"

	"github.com/pulsehq/pulse/wasm/media"
)

// Controls is the bound player UI.
type Controls struct {
	m        media.Media
	root     *dom.BasicHTMLElement
	play     *dom.HTMLButtonElement
	seek     *dom.HTMLInputElement
	time     dom.Element
	status   dom.Element
	dragging bool
}

// Bind finds the controls in doc (ids player, play, seek, time, status) and
// connects them to m.
func Bind(doc dom.Document, m media.Media) *Controls {
	c := &Controls{
		m:      m,
		root:   doc.GetElementByID("player").(dom.HTMLElement).(*dom.BasicHTMLElement),
		play:   doc.GetElementByID("play").(*dom.HTMLButtonElement),
		seek:   doc.GetElementByID("seek").(*dom.HTMLInputElement),
		time:   doc.GetElementByID("time"),
		status: doc.GetElementByID("status"),
	}
	c.play.AddEventListener("click", false, func(dom.Event) { c.Toggle() })
	c.seek.AddEventListener("input", false, func(dom.Event) {
		c.dragging = true
		v := c.seek.ValueAsNumber()
		c.showTime(v)
		m.Seek(v)
	})
	c.seek.AddEventListener("change", false, func(dom.Event) { c.dragging = false })
	doc.AddEventListener("keydown", false, c.key)
	m.On(c.update)
	c.play.SetDisabled(false)
	c.seek.SetDisabled(false)
	c.root.SetAttribute("data-state", "paused")
	c.showDuration()
	return c
}

// Toggle plays or pauses. Play waits for the browser's answer, so it runs
// on a goroutine, never inside the click callback.
func (c *Controls) Toggle() {
	if !c.m.Paused() {
		c.m.Pause()
		return
	}
	go func() {
		if err := c.m.Play(); err != nil {
			c.Status("Playback did not start (" + err.Error() + "). Press play to try again.")
		}
	}()
}

// Status shows a message to the viewer ("" clears it).
func (c *Controls) Status(msg string) { c.status.SetTextContent(msg) }

func (c *Controls) key(e dom.Event) {
	ke, ok := e.(*dom.KeyboardEvent)
	if !ok || ke.CtrlKey() || ke.MetaKey() || ke.AltKey() {
		return
	}
	target := ""
	if t := ke.Target(); t != nil {
		target = t.TagName()
	}
	switch ke.Key() {
	case " ", "k":
		// A focused button already clicks itself on space.
		if target == "BUTTON" && ke.Key() == " " {
			return
		}
		ke.PreventDefault()
		c.Toggle()
	}
}

func (c *Controls) update(ev media.Event) {
	switch ev {
	case media.Play, media.Playing:
		c.Status("")
		c.root.SetAttribute("data-state", "playing")
		c.play.SetAttribute("aria-label", "Pause")
	case media.Pause, media.Ended:
		c.root.SetAttribute("data-state", "paused")
		c.play.SetAttribute("aria-label", "Play")
	case media.Waiting:
		c.root.SetAttribute("data-buffering", "true")
	case media.TimeUpdate, media.Seeked:
		c.root.RemoveAttribute("data-buffering")
		if !c.dragging {
			pos := c.m.Position()
			c.seek.SetValue(strconv.FormatFloat(pos, 'f', 3, 64))
			c.showTime(pos)
		}
	case media.DurationChange:
		c.showDuration()
	case media.Error:
		c.root.SetAttribute("data-state", "error")
		if err := c.m.Err(); err != nil {
			c.Status("This media cannot be played: " + err.Error() + ".")
		}
	}
}

func (c *Controls) showDuration() {
	if d := c.m.Duration(); d > 0 && !math.IsInf(d, 0) {
		c.seek.SetAttribute("max", strconv.FormatFloat(d, 'f', 3, 64))
	}
	c.showTime(c.m.Position())
}

func (c *Controls) showTime(pos float64) {
	d := c.m.Duration()
	total := Clock(d)
	if math.IsNaN(d) || d <= 0 {
		total = "--:--"
	}
	if math.IsInf(d, 1) {
		total = "live"
	}
	c.time.SetTextContent(Clock(pos) + " / " + total)
	c.seek.SetAttribute("aria-valuetext", Clock(pos)+" of "+total)
}
