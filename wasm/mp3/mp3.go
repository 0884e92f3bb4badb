// Package mp3 is Pulse's only door to github.com/hajimehoshi/go-mp3, which
// is unmaintained upstream: everything that decodes MP3 goes through here,
// so that a replacement touches one package. It recovers the decoder's
// panics into errors and refuses input that is not MP3 before decoding it.
package mp3

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/pulsehq/pulse/wasm/audio"
)

// ErrNotMP3 is returned for input that does not start like an MP3 file.
var ErrNotMP3 = errors.New("mp3: not an MP3 file (no ID3 tag or MPEG audio frame at the start)")

// Sniff reports whether head, the first bytes of a file (at least 4), looks
// like MP3: an ID3v2 tag or an MPEG-1/2/2.5 Layer III frame header.
func Sniff(head []byte) bool {
	if len(head) >= 3 && string(head[:3]) == "ID3" {
		return true
	}
	return len(head) >= 4 && isFrameHeader(binary.BigEndian.Uint32(head))
}

// isFrameHeader reports whether h is a plausible Layer III frame header.
func isFrameHeader(h uint32) bool {
	const sync = 0xffe00000
	version := h >> 19 & 3
	layer := h >> 17 & 3
	bitrate := h >> 12 & 15
	rate := h >> 10 & 3
	return h&sync == sync && version != 1 && layer == 1 && bitrate != 0 && bitrate != 15 && rate != 3
}

// Info is what Analyze learns of an MP3 file.
type Info struct {
	SampleRate int     // Hz
	Duration   float64 // seconds of decoded audio
	Peaks      []byte  // waveform: the loudest sample of each slice, 0–255
}

// Analyze decodes the whole MP3 stream r and returns its duration and a
// waveform of npeaks peaks. Input that is not MP3, or that yields no audio,
// is an error; a stream cut short is decoded up to where it stops.
func Analyze(r io.Reader, npeaks int) (info Info, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = Info{}, fmt.Errorf("mp3: corrupt stream: decoder failed: %v", p)
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(10)
	if !Sniff(head) {
		return Info{}, ErrNotMP3
	}
	if err := checkID3(head); err != nil {
		return Info{}, err
	}
	d, err := gomp3.NewDecoder(br)
	if err != nil {
		return Info{}, decoderError(err)
	}
	info.SampleRate = d.SampleRate()
	if info.SampleRate <= 0 {
		return Info{}, errors.New("mp3: corrupt stream: no sample rate")
	}
	// One coarse peak per frame-sized slice, reduced to npeaks at the end.
	const slice = 1152
	var coarse []float64
	var samples int64
	buf := make([]byte, slice*4*16)
	peak, inSlice, restarts := 0.0, 0, 0
	for {
		n, rerr := d.Read(buf)
		for i := 0; i+4 <= n; i += 4 {
			l := int16(binary.LittleEndian.Uint16(buf[i:]))
			r := int16(binary.LittleEndian.Uint16(buf[i+2:]))
			peak = max(peak, math.Abs(float64(l)), math.Abs(float64(r)))
			inSlice++
			if inSlice == slice {
				coarse = append(coarse, peak)
				peak, inSlice = 0, 0
			}
		}
		samples += int64(n / 4)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if samples == 0 {
				return Info{}, decoderError(rerr)
			}
			// A broken stretch in the middle: go on after it, as the
			// player does (a new decoder finds the next frame header).
			if restarts++; restarts > maxRestarts {
				break
			}
			if d, err = gomp3.NewDecoder(br); err != nil {
				break // nothing decodes after it: the file ends there
			}
		}
	}
	if inSlice > 0 {
		coarse = append(coarse, peak)
	}
	if samples == 0 {
		return Info{}, errors.New("mp3: corrupt stream: no audio frames")
	}
	info.Duration = float64(samples) / float64(info.SampleRate)
	info.Peaks = Reduce(coarse, npeaks, 32768)
	return info, nil
}

// maxRestarts bounds how many broken stretches Analyze steps over in one
// file before it takes the rest as unreadable.
const maxRestarts = 1000

// decoderError words an error of go-mp3's for the person importing.
func decoderError(err error) error {
	if strings.Contains(err.Error(), "version 2.5") {
		return ErrMPEG25
	}
	return fmt.Errorf("mp3: corrupt stream: %w", err)
}

// checkID3 refuses an ID3v2 tag that claims to be larger than any real one,
// which would make the decoder allocate and skip that much.
func checkID3(head []byte) error {
	if len(head) < 10 || !bytes.HasPrefix(head, []byte("ID3")) {
		return nil
	}
	for _, b := range head[6:10] {
		if b&0x80 != 0 {
			return errors.New("mp3: corrupt ID3 tag size")
		}
	}
	size := int(head[6])<<21 | int(head[7])<<14 | int(head[8])<<7 | int(head[9])
	if size > 64<<20 {
		return fmt.Errorf("mp3: ID3 tag of %d bytes is too large", size)
	}
	return nil
}

// Reduce turns a series of levels (0…full) into n peaks of 0–255, each the
// largest level of its share of the series. It returns nil for no levels.
func Reduce(levels []float64, n int, full float64) []byte {
	if len(levels) == 0 || n <= 0 {
		return nil
	}
	loud := audio.Loudest(levels, min(n, len(levels)))
	out := make([]byte, len(loud))
	for i, m := range loud {
		out[i] = byte(math.Round(min(max(m, 0)/full, 1) * 255))
	}
	return out
}
