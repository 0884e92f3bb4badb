package heartbeat

import (
	"sort"
	"time"
)

// span is a played range of media time, in seconds, with start <= end.
type span struct{ start, end float64 }

// Watched measures how much distinct media was actually played: the union of
// the played ranges. Seeking adds nothing, replaying adds nothing, and a range
// never ends before it starts.
//
// The zero value is ready to use. All positions are media seconds.
type Watched struct {
	done   []span // closed ranges, sorted and disjoint
	open   bool   // a range is being played right now
	cur    span   // the open range, valid when open
	lastAt time.Time
}

// maxRate bounds how fast a position may plausibly move while playing
// (browsers allow up to 16×; the player offers 2×). A bigger jump between
// two position updates is a seek that was not reported, not playing.
const maxRate = 4

// Start opens a played range at pos (playback started or resumed, or a seek
// settled while playing).
func (w *Watched) Start(now time.Time, pos float64) {
	w.Stop(now, -1)
	w.open = true
	w.cur = span{pos, pos}
	w.lastAt = now
}

// Update extends the open range to pos when pos is a plausible continuation
// of playback; otherwise it closes the open range and starts a new one at
// pos, so that an unreported seek adds nothing.
func (w *Watched) Update(now time.Time, pos float64) {
	if !w.open {
		return
	}
	elapsed := now.Sub(w.lastAt).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	if pos >= w.cur.end && pos-w.cur.end <= elapsed*maxRate+0.5 {
		w.cur.end = pos
		w.lastAt = now
		return
	}
	if pos < w.cur.end && w.cur.end-pos <= 0.05 {
		// Position updates can jitter backwards by a few milliseconds.
		w.lastAt = now
		return
	}
	w.Start(now, pos)
}

// Stop closes the open range, first extending it to pos when pos is a
// plausible end of it. A negative pos closes the range where it stands,
// which is what a seek needs: when it is reported the position is already
// the seek's target.
func (w *Watched) Stop(now time.Time, pos float64) {
	if !w.open {
		return
	}
	if pos >= 0 {
		w.Update(now, pos)
	}
	w.open = false
	w.add(w.cur)
}

func (w *Watched) add(s span) {
	if s.end > s.start {
		w.done = union(append(w.done, s))
	}
}

// union sorts and merges ranges in place.
func union(rs []span) []span {
	if len(rs) < 2 {
		return rs
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	merged := rs[:1]
	for _, r := range rs[1:] {
		last := &merged[len(merged)-1]
		if r.start <= last.end {
			last.end = max(last.end, r.end)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// Seconds returns the total length of the union of played ranges, including
// the open one.
func (w *Watched) Seconds() float64 {
	rs := w.done
	if w.open && w.cur.end > w.cur.start {
		rs = union(append(append(make([]span, 0, len(rs)+1), rs...), w.cur))
	}
	total := 0.0
	for _, r := range rs {
		total += r.end - r.start
	}
	return total
}
