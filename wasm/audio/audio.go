// Package audio is the pure part of Pulse's Web Audio player: the
// timeline that turns the audio context's clock into a media position
// across play, pause, seeks, rate changes and stalls; where each decoded
// chunk must start so that chunks play back to back; PCM conversion; and
// waveform peaks from decoded audio. Nothing here calls the browser: the
// context time is passed in, so it is tested natively.
package audio

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// Deinterleave converts 16-bit little-endian stereo PCM (go-mp3's output)
// into two planes of samples in [-1, 1), as an AudioBuffer holds them. left
// and right must hold len(pcm)/4 samples each.
func Deinterleave(pcm []byte, left, right []float32) {
	n := len(pcm) / 4
	left, right = left[:n], right[:n]
	for i := range n {
		left[i] = float32(int16(binary.LittleEndian.Uint16(pcm[4*i:]))) / 32768
		right[i] = float32(int16(binary.LittleEndian.Uint16(pcm[4*i+2:]))) / 32768
	}
}

// Peak returns the largest absolute sample of 16-bit stereo PCM, 0–1.
func Peak(pcm []byte) float64 {
	m := 0
	for i := 0; i+2 <= len(pcm); i += 2 {
		v := int(int16(binary.LittleEndian.Uint16(pcm[i:])))
		m = max(m, v, -v)
	}
	return float64(m) / 32768
}

// Peaks is a waveform computed from decoded audio, for media whose peaks
// the server did not compute: a fixed number of bins over the duration,
// each the loudest sample decoded in its span so far.
type Peaks struct {
	bins     []float64
	duration float64
}

// NewPeaks returns n empty bins over duration seconds.
func NewPeaks(n int, duration float64) *Peaks {
	return &Peaks{bins: make([]float64, max(n, 1)), duration: duration}
}

// Add records a stretch of audio that starts at t seconds and peaks at
// level (0–1). It reports whether a bin changed.
func (p *Peaks) Add(t, level float64) bool {
	if !(p.duration > 0) || !(t >= 0) || t >= p.duration {
		return false
	}
	i := min(int(t/p.duration*float64(len(p.bins))), len(p.bins)-1)
	if level <= p.bins[i] {
		return false
	}
	p.bins[i] = level
	return true
}

// Bytes returns the bins as 0–255, the form the server's peaks take.
func (p *Peaks) Bytes() []byte {
	out := make([]byte, len(p.bins))
	for i, v := range p.bins {
		out[i] = byte(math.Round(min(max(v, 0), 1) * 255))
	}
	return out
}

// Loudest splits levels into n shares in order and returns the largest
// level of each, so that no loud moment is lost when a waveform is drawn
// or stored narrower than it was measured. Wider than levels, each level
// repeats. It returns nil for no levels.
func Loudest[T cmp.Ordered](levels []T, n int) []T {
	if len(levels) == 0 || n <= 0 {
		return nil
	}
	out := make([]T, n)
	for i := range n {
		lo, hi := i*len(levels)/n, (i+1)*len(levels)/n
		out[i] = slices.Max(levels[lo:max(hi, lo+1)])
	}
	return out
}
