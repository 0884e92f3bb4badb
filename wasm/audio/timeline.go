package audio

// Timeline maps the audio context's clock to a position in the media. The
// player schedules decoded chunks against it; the position it reports is
// the audio clock's, so what heartbeats say is what is heard.
//
// While playing, the media is at Pos when the context's clock reads At,
// and advances Rate media seconds per context second from there, but
// never past Until, the end of the audio scheduled so far: when decoding
// or the network falls behind, the position waits there (a stall) instead
// of running ahead of the sound.
type Timeline struct {
	Pos     float64 // media seconds at context time At
	At      float64 // context seconds
	Rate    float64 // playback rate, 1 is normal
	Playing bool
	Until   float64 // media seconds: the end of the scheduled audio
}

// NewTimeline returns a paused timeline at pos, at normal rate.
func NewTimeline(pos float64) Timeline { return Timeline{Pos: pos, Rate: 1, Until: pos} }

// Position returns the media position at context time now.
func (t *Timeline) Position(now float64) float64 {
	if !t.Playing || now <= t.At {
		return t.Pos
	}
	return max(min(t.Pos+(now-t.At)*t.Rate, t.Until), t.Pos)
}

// Start starts the clock from the current position, lead seconds after
// now: the time it takes to schedule the first chunk. Nothing is scheduled
// yet.
func (t *Timeline) Start(now, lead float64) {
	t.Pos = t.Position(now)
	t.At, t.Playing, t.Until = now+lead, true, t.Pos
}

// Stop stops the clock where it is.
func (t *Timeline) Stop(now float64) {
	t.Pos = t.Position(now)
	t.Playing, t.Until = false, t.Pos
}

// Seek moves to pos; a playing timeline plays on from there after lead.
// What was scheduled is void.
func (t *Timeline) Seek(now, pos, lead float64) {
	t.Pos, t.At, t.Until = pos, now+lead, pos
}

// SetRate changes the playback rate from the current position on, after
// lead. What was scheduled is void: it must be scheduled again.
func (t *Timeline) SetRate(now, rate, lead float64) {
	t.Pos = t.Position(now)
	t.At, t.Rate, t.Until = now+lead, rate, t.Pos
}

// Stalled reports whether the clock is waiting for audio: playing, and at
// the end of what was scheduled.
func (t *Timeline) Stalled(now float64) bool {
	return t.Playing && now >= t.At && t.Position(now) >= t.Until
}

// Place says how to play a chunk of media [start, end) seconds: start its
// buffer at context time when, offset seconds into it. ok is false for a
// chunk that lies wholly before the position. Chunks placed one after
// another start exactly where the one before ends. Placing a chunk
// extends Until to its end.
func (t *Timeline) Place(start, end float64) (when, offset float64, ok bool) {
	if end <= t.Pos {
		return 0, 0, false
	}
	if start >= t.Pos {
		when = t.At + (start-t.Pos)/t.Rate
	} else {
		when, offset = t.At, t.Pos-start
	}
	t.Until = max(t.Until, end)
	return when, offset, true
}
