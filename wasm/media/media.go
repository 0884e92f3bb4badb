// Package media is the player's view of whatever plays: an HTML media
// element for video and most audio, and (for MP3) Pulse's own decoder
// playing through Web Audio. The heartbeat tracking consumes this interface
// only, so it behaves the same whatever plays.
package media

// Event is something that happened to the media, named as the
// HTMLMediaElement event it corresponds to.
type Event string

// The events a Media reports.
const (
	Play           Event = "play"           // playback started or resumed
	Pause          Event = "pause"          // paused, by the user or by reaching the end
	Seeking        Event = "seeking"        // a seek began; Position is its target
	Seeked         Event = "seeked"         // a seek settled
	Ended          Event = "ended"          // playback reached the end
	TimeUpdate     Event = "timeupdate"     // the position moved while playing
	DurationChange Event = "durationchange" // the duration became known or changed
	Waiting        Event = "waiting"        // stalled, buffering; not a pause
	Playing        Event = "playing"        // playing again after a stall or start
	LoadStart      Event = "loadstart"      // the source (re)started loading; same session
	Progress       Event = "progress"       // more of the media was buffered
	RateChange     Event = "ratechange"     // the playback rate changed
	VolumeChange   Event = "volumechange"   // volume or mute changed
	Error          Event = "error"          // the media failed; see Err
)

// Events lists every Event, for adapters that subscribe by name.
var Events = []Event{Play, Pause, Seeking, Seeked, Ended, TimeUpdate, DurationChange, Waiting, Playing,
	LoadStart, Progress, RateChange, VolumeChange, Error}

// Range is a span of media time in seconds.
type Range struct{ Start, End float64 }

// Media is something that plays. Methods never block, except Play, which
// waits for the browser to accept or refuse playback: call it from a
// goroutine, never from inside a JS callback.
type Media interface {
	// Play starts or resumes playback. It returns an error when the
	// browser refuses, such as NotAllowedError under the autoplay policy.
	Play() error
	// Pause pauses playback.
	Pause()
	// Seek jumps to a position in seconds, clamped to the media.
	Seek(seconds float64)
	// Position is the exact current playback position in seconds.
	Position() float64
	// Duration is the length in seconds: NaN while unknown, +Inf for live.
	Duration() float64
	// Paused reports whether playback is paused (true before the first play).
	Paused() bool
	// Ended reports whether playback has reached the end.
	Ended() bool
	// Buffered lists the buffered ranges.
	Buffered() []Range
	// Rate, Volume and Muted read and set playback rate (1 is normal),
	// volume (0–1) and mute.
	Rate() float64
	SetRate(r float64)
	Volume() float64
	SetVolume(v float64)
	Muted() bool
	SetMuted(m bool)
	// Err describes the last Error event, in words for the viewer.
	Err() error
	// On registers f to be called for every event, in order, from the
	// browser's event loop: f must not block.
	On(f func(Event))
}
