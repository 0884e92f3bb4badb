package ui

import (
	"math"
	"strconv"
	"strings"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// Options are what an embedder may set in the player URL.
type Options struct {
	Start    float64 // t=: where to start, seconds; 0 for the beginning
	HasStart bool    // the URL has a t= (even 0, even unreadable): no offer to resume
	Autoplay bool    // autoplay=1: try to play at once
	Muted    bool    // muted=1
	Loop     bool    // loop=1
	// Element (engine=element) plays MP3 with the browser's own <audio>
	// element instead of Pulse's decoder: a way out for a browser where
	// the decoder misbehaves.
	Element bool
}

// ParseOptions reads the player options from the page's URL parameters.
// Values it does not understand are ignored: a link with a typo still
// plays.
func ParseOptions(q heartbeat.Query) Options {
	var o Options
	if v, ok := q.Get("t"); ok {
		o.Start, _ = ParseTime(v)
		o.HasStart = true
	}
	o.Autoplay = flag(q, "autoplay")
	o.Muted = flag(q, "muted")
	o.Loop = flag(q, "loop")
	if v, _ := q.Get("engine"); strings.EqualFold(v, "element") {
		o.Element = true
	}
	return o
}

func flag(q heartbeat.Query, name string) bool {
	v, ok := q.Get(name)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on", "":
		return true
	}
	return false
}

// ParseTime reads a start time as people write it: seconds ("90",
// "90.5"), a clock ("1:30", "1:02:03"), or units ("1m30s", "2h", "45s").
// It reports false for anything else, and for negative or absurd times.
func ParseTime(s string) (float64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || len(s) > 20 || strings.Trim(s, "0123456789.:hms") != "" {
		return 0, false // only digits, points, colons and units: no hex, no exponents
	}
	var t float64
	switch {
	case strings.Contains(s, ":"):
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, false
		}
		for i, p := range parts {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || v < 0 || (i > 0 && v >= 60) || (i < len(parts)-1 && v != math.Trunc(v)) || strings.ContainsAny(p, "+-eE") {
				return 0, false
			}
			t = t*60 + v
		}
	case strings.ContainsAny(s, "hms"):
		rest := s
		for _, unit := range []struct {
			suffix string
			scale  float64
		}{{"h", 3600}, {"m", 60}, {"s", 1}} {
			num, after, found := strings.Cut(rest, unit.suffix)
			if !found {
				continue
			}
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 || strings.ContainsAny(num, "+-eE") {
				return 0, false
			}
			t += v * unit.scale
			rest = after
		}
		if rest != "" {
			return 0, false
		}
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || strings.ContainsAny(s, "+-eE") {
			return 0, false
		}
		t = v
	}
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 || t > 100*3600 {
		return 0, false
	}
	return t, true
}

// Action is what a key press does in the player.
type Action int

// The keyboard shortcuts' actions.
const (
	NoAction Action = iota
	TogglePlay
	Back10
	Forward10
	Back5
	Forward5
	ToggleMute
	Fullscreen
)

// KeyAction maps a key (KeyboardEvent.key) to its action: space and k
// toggle playback, j and l jump 10 s, the arrows 5 s, m mutes, f goes
// fullscreen where there is video.
func KeyAction(key string, video bool) Action {
	switch key {
	case " ", "k", "K":
		return TogglePlay
	case "j", "J":
		return Back10
	case "l", "L":
		return Forward10
	case "ArrowLeft":
		return Back5
	case "ArrowRight":
		return Forward5
	case "m", "M":
		return ToggleMute
	case "f", "F":
		if video {
			return Fullscreen
		}
	}
	return NoAction
}

// Jump returns the position after a jump of delta seconds from pos, kept
// within the media.
func Jump(pos, delta, duration float64) float64 {
	p := max(pos+delta, 0)
	if duration > 0 && !math.IsInf(duration, 0) {
		p = min(p, duration)
	}
	return p
}

// OfferResume says whether to offer resuming at saved seconds into media
// of duration: not for the first few seconds, and not near the end, where
// starting over is what anyone wants.
func OfferResume(saved, duration float64) bool {
	if !(saved >= 5) {
		return false
	}
	if duration > 0 && !math.IsInf(duration, 0) && saved >= duration-5 {
		return false
	}
	return true
}
