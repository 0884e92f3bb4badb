package audio

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pcm(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func TestDeinterleave(t *testing.T) {
	src := pcm(0, -32768, 16384, -16384, 32767, 1)
	l, r := make([]float32, 3), make([]float32, 3)
	Deinterleave(src, l, r)
	assert.Equal(t, []float32{0, 0.5, 32767.0 / 32768}, l)
	assert.Equal(t, []float32{-1, -0.5, 1.0 / 32768}, r)

	l, r = make([]float32, 1), make([]float32, 1)
	Deinterleave(src[:6], l, r) // a cut sample is left out
	assert.Equal(t, []float32{0}, l)
}

func TestPeak(t *testing.T) {
	assert.Equal(t, 0.0, Peak(nil))
	assert.Equal(t, 0.5, Peak(pcm(100, -16384, 3, 4)))
	assert.Equal(t, 1.0, Peak(pcm(-32768, 0)))
}

func TestPeaks(t *testing.T) {
	p := NewPeaks(4, 8)
	assert.True(t, p.Add(0, 0.5))
	assert.False(t, p.Add(1.9, 0.2), "quieter than the bin's peak")
	assert.True(t, p.Add(7.99, 1))
	assert.False(t, p.Add(8, 1), "past the end")
	assert.False(t, p.Add(-1, 1))
	assert.False(t, p.Add(math.NaN(), 1))
	assert.Equal(t, []byte{128, 0, 0, 255}, p.Bytes())
	assert.False(t, NewPeaks(10, 0).Add(0, 1), "no duration, no bins to fill")
}

// A timeline's position after a series of steps at context times.
func TestTimeline(t *testing.T) {
	const lead = 0.05
	type step func(tl *Timeline)
	at := func(now, want float64) step {
		return func(tl *Timeline) {
			assert.InDelta(t, want, tl.Position(now), 1e-9, "Position(%v)", now)
		}
	}
	start := func(now float64) step { return func(tl *Timeline) { tl.Start(now, lead) } }
	stop := func(now float64) step { return func(tl *Timeline) { tl.Stop(now) } }
	seek := func(now, pos float64) step { return func(tl *Timeline) { tl.Seek(now, pos, lead) } }
	rate := func(now, r float64) step { return func(tl *Timeline) { tl.SetRate(now, r, lead) } }
	until := func(end float64) step { return func(tl *Timeline) { tl.Place(tl.Pos, end) } }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"paused stays put", []step{at(0, 0), at(100, 0)}},
		{"plays after the lead", []step{start(10), until(100), at(10, 0), at(10.05, 0), at(11.05, 1), at(20.05, 10)}},
		{"pause and resume", []step{start(0), until(100), at(5.05, 5), stop(5.05), at(60, 5), start(60), until(100), at(61.05, 6)}},
		{"seek while playing", []step{start(0), until(100), seek(3.05, 40), until(100), at(3.05, 40), at(3.1, 40), at(5.1, 42)}},
		{"seek while paused", []step{seek(2, 30), at(2, 30), at(9, 30), start(9), until(100), at(10.05, 31)}},
		{"seek back", []step{start(0), until(100), at(20.05, 20), seek(20.05, 5), until(100), at(21.1, 6)}},
		{"double rate", []step{start(0), until(100), rate(1.05, 2), until(100), at(1.1, 1), at(2.1, 3)}},
		{"half rate", []step{start(0), until(100), rate(2.05, 0.5), until(100), at(4.1, 3)}},
		{"stall at the end of what is scheduled", []step{start(0), until(3), at(2.05, 2), at(5, 3), at(9, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTimeline(0)
			for _, s := range tc.steps {
				s(&tl)
			}
		})
	}
}

func TestTimelineStalled(t *testing.T) {
	tl := NewTimeline(0)
	assert.False(t, tl.Stalled(0), "paused is not stalled")
	tl.Start(0, 0.05)
	assert.False(t, tl.Stalled(0.01), "still in the lead")
	assert.True(t, tl.Stalled(0.06), "playing with nothing scheduled")
	tl.Place(0, 1)
	assert.False(t, tl.Stalled(0.5))
	assert.True(t, tl.Stalled(1.06))
	// Audio arrives: start again from where the clock waits.
	tl.Start(2, 0.05)
	assert.Equal(t, 1.0, tl.Pos)
	tl.Place(1, 2)
	assert.InDelta(t, 1.5, tl.Position(2.55), 1e-9)
}

// Chunks placed one after another start where the previous one ends, at
// any rate, from any position: no gaps, no overlaps.
func TestPlaceBackToBack(t *testing.T) {
	const rate = 44100
	for _, r := range []float64{1, 0.5, 1.5, 2} {
		for _, from := range []float64{0, 0.01, 12.3456} {
			tl := NewTimeline(0)
			tl.Seek(100, from, 0.05)
			tl.SetRate(100, r, 0.05)
			tl.Start(100, 0.05)
			prevEnd := math.NaN()
			first := true
			for n := 0; n < 400; n++ {
				s0, s1 := n*1152*4, (n+1)*1152*4 // 4-frame chunks
				start, end := float64(s0)/rate, float64(s1)/rate
				when, offset, ok := tl.Place(start, end)
				if !ok {
					require.LessOrEqual(t, end, from)
					continue
				}
				if first {
					assert.InDelta(t, 100.05, when, 1e-9, "the first chunk starts after the lead")
					assert.InDelta(t, from-max(start, 0), offset, 1e-9)
					assert.GreaterOrEqual(t, offset, 0.0)
					first = false
				} else {
					assert.Zero(t, offset)
					assert.InDelta(t, prevEnd, when, 1e-9, "chunk %d starts where the one before ends (rate %v)", n, r)
				}
				prevEnd = when + (end-start-offset)/r
			}
			assert.InDelta(t, float64(400*1152*4)/rate, tl.Until, 1e-9)
		}
	}
}

func TestLoudest(t *testing.T) {
	assert.Nil(t, Loudest([]int{}, 3))
	assert.Nil(t, Loudest([]int{1}, 0))
	assert.Equal(t, []int{5, 9}, Loudest([]int{1, 5, 9, 2}, 2))
	assert.Equal(t, []int{3, 3, 7, 7}, Loudest([]int{3, 7}, 4), "wider: each repeats")
	assert.Equal(t, []float64{0.5, 2}, Loudest([]float64{0.5, 0.1, 2}, 2))
}
