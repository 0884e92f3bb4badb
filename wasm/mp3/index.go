package mp3

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// frameHeader is what a Layer III frame header says about its frame.
type frameHeader struct {
	size    int // bytes, header included
	samples int // per channel: 1152 (MPEG-1) or 576 (MPEG-2)
	rate    int // Hz
	mpeg    int // 1 or 2; 25 for MPEG-2.5
}

// Layer III bitrates in kbit/s by bitrate index, for MPEG-1 and for
// MPEG-2/2.5 (ISO/IEC 11172-3 and 13818-3).
var (
	bitratesV1 = [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	bitratesV2 = [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	ratesV1    = [3]int{44100, 48000, 32000}
)

// parseHeader reads the Layer III frame header at the start of b.
func parseHeader(b []byte) (frameHeader, bool) {
	if len(b) < 4 {
		return frameHeader{}, false
	}
	h := binary.BigEndian.Uint32(b)
	if !isFrameHeader(h) || h&3 == 2 { // emphasis 2 is reserved
		return frameHeader{}, false
	}
	version, bi, ri, pad := h>>19&3, int(h>>12&15), int(h>>10&3), int(h>>9&1)
	var f frameHeader
	switch version {
	case 3:
		f.mpeg, f.samples, f.rate = 1, 1152, ratesV1[ri]
		f.size = 144*bitratesV1[bi]*1000/f.rate + pad
	case 2:
		f.mpeg, f.samples, f.rate = 2, 576, ratesV1[ri]/2
		f.size = 72*bitratesV2[bi]*1000/f.rate + pad
	default:
		f.mpeg, f.samples, f.rate = 25, 576, ratesV1[ri]/4
		f.size = 72*bitratesV2[bi]*1000/f.rate + pad
	}
	return f, true
}

// id3Size returns the length of the ID3v2 tag at the start of b, 0 when
// there is none, and false while b is too short to tell.
func id3Size(b []byte) (int, bool) {
	if len(b) < 10 {
		return 0, len(b) >= 3 && string(b[:3]) != "ID3"
	}
	if string(b[:3]) != "ID3" {
		return 0, true
	}
	n := 10 + int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9])
	if b[5]&0x10 != 0 { // a footer follows the tag
		n += 10
	}
	return n, true
}

// MaxFileSize is the largest MP3 file an Index maps: frame offsets are
// kept in 32 bits, so that a one-hour file's index stays small.
const MaxFileSize = math.MaxUint32

// ErrMPEG25 is returned for MPEG-2.5 streams, which go-mp3 cannot decode.
var ErrMPEG25 = errors.New("mp3: MPEG-2.5 streams (8, 11.025 and 12 kHz) are not supported: re-encode the file at 16 kHz or more")

// Index maps an MP3 file's frames to their byte offsets as the file
// arrives, so that playback can start at any frame without decoding what
// comes before it. Every Layer III frame holds the same number of samples,
// so frame i starts at i*FrameSamples()/SampleRate() seconds, exactly
// where go-mp3's decoded output has it.
//
// It finds frames as go-mp3 does: one after another, skipping junk
// between them byte by byte; a header found after junk only counts when
// the frame after it starts with a header too, so that audio data that
// happens to look like a header is not taken for one.
type Index struct {
	offsets []uint32
	first   frameHeader
	next    int // where the next frame header is expected
	started bool
	cut     bool // the file ends inside a frame
	err     error
}

// Scan indexes the frames in data, which is the file from its first byte
// on: each call passes the same bytes plus what arrived since. final says
// that data is the whole file. It returns an error for a stream that is
// not MP3 or that go-mp3 cannot decode; the frames found before stay.
func (x *Index) Scan(data []byte, final bool) error {
	if x.err != nil {
		return x.err
	}
	if len(data) > MaxFileSize {
		x.err = fmt.Errorf("mp3: files over %d bytes are not supported", int64(MaxFileSize))
		return x.err
	}
	if !x.started {
		n, ok := id3Size(data)
		if !ok && !final {
			return nil
		}
		x.next, x.started = n, true
	}
	for x.next < len(data) {
		h, ok := parseHeader(data[x.next:])
		if ok && len(x.offsets) > 0 && (h.rate != x.first.rate || h.mpeg != x.first.mpeg) {
			ok = false // another stream's header: junk here
		}
		if ok && x.next+h.size > len(data) && !final {
			return nil // wait for the whole frame
		}
		if !ok {
			if len(data)-x.next < 4 && !final {
				return nil
			}
			at, found, wait := x.resync(data, final)
			if wait {
				return nil
			}
			if !found {
				x.next = len(data)
				break
			}
			x.next = at
			continue
		}
		if len(x.offsets) == 0 {
			if h.mpeg == 25 {
				x.err = ErrMPEG25
				return x.err
			}
			x.first = h
		}
		if x.next+h.size > len(data) { // final: go-mp3 does not decode a cut frame
			x.next, x.cut = len(data), true
			break
		}
		x.offsets = append(x.offsets, uint32(x.next))
		x.next += h.size
	}
	if final && len(x.offsets) == 0 {
		x.err = errors.New("mp3: no MPEG audio frames found: the file is not MP3 or is corrupt")
		return x.err
	}
	return nil
}

// resync looks for the next frame header after junk at x.next. A
// candidate counts when another header follows it (or the file ends
// there); wait says that more data is needed to tell.
func (x *Index) resync(data []byte, final bool) (at int, found, wait bool) {
	for i := x.next + 1; i+4 <= len(data); i++ {
		if data[i] != 0xff {
			continue
		}
		h, ok := parseHeader(data[i:])
		if !ok || (len(x.offsets) > 0 && (h.rate != x.first.rate || h.mpeg != x.first.mpeg)) {
			continue
		}
		end := i + h.size
		switch {
		case end == len(data) && final:
			return i, true, false
		case end+4 > len(data):
			if final {
				continue
			}
			return 0, false, true
		}
		if g, ok := parseHeader(data[end:]); ok && g.rate == h.rate && g.mpeg == h.mpeg {
			return i, true, false
		}
	}
	if !final {
		// Keep the last bytes: a header may be starting there.
		x.next = max(x.next, len(data)-3)
		return 0, false, true
	}
	return 0, false, false
}

// Cut reports whether the whole file ends inside a frame: a file cut
// short, as a broken download or copy leaves it.
func (x *Index) Cut() bool { return x.cut }

// Err returns the error that stopped indexing, if any.
func (x *Index) Err() error { return x.err }

// Frames returns how many frames have been found.
func (x *Index) Frames() int { return len(x.offsets) }

// SampleRate returns the stream's sample rate in Hz, 0 before the first
// frame.
func (x *Index) SampleRate() int { return x.first.rate }

// FrameSamples returns the samples per channel in each frame, 0 before
// the first frame.
func (x *Index) FrameSamples() int { return x.first.samples }

// Offset returns the byte offset of frame i.
func (x *Index) Offset(i int) int { return int(x.offsets[i]) }

// Duration returns the seconds of audio in the frames found so far.
func (x *Index) Duration() float64 { return x.Time(len(x.offsets)) }

// Time returns when frame i starts, in seconds.
func (x *Index) Time(i int) float64 {
	if x.first.rate == 0 {
		return 0
	}
	return float64(i) * float64(x.first.samples) / float64(x.first.rate)
}

// FrameAt returns the frame that plays at t seconds, which may lie past
// the frames found so far; negative t is frame 0.
func (x *Index) FrameAt(t float64) int {
	if x.first.rate == 0 || !(t > 0) {
		return 0
	}
	return int(t * float64(x.first.rate) / float64(x.first.samples))
}

// reservoir bounds how far back a frame's audio data may start: the
// Layer III main_data_begin reaches at most 511 bytes before the frame's
// own, plus the headers and side information of the frames in between.
const reservoir = 1024

// Start returns the frame to start decoding at for frame k to come out
// exactly as it does when decoding from the start of the file: two frames
// back at least (the frame before k must decode right too, for the
// synthesis filters' memory), and far enough back for the bit reservoir
// of the frame before k.
func (x *Index) Start(k int) int {
	if k <= 2 {
		return 0
	}
	k = min(k, len(x.offsets))
	j := k - 2
	for j > 0 && x.offsets[k-1]-x.offsets[j] < reservoir {
		j--
	}
	return j
}
