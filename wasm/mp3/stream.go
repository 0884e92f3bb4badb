package mp3

import (
	"errors"
	"fmt"
	"io"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// Decoder decodes an MP3 stream one frame at a time, for players that
// decode a little ahead of the playhead. It recovers go-mp3's panics into
// errors.
type Decoder struct {
	d      *gomp3.Decoder
	buf    []byte
	broken error
}

// NewDecoder starts decoding r, which must begin at a frame header (an
// Index offset) or at the start of the file. A frame's audio may depend
// on the frames before it (the Layer III bit reservoir and the synthesis
// filters' memory), so a decoder started mid-stream must start some frames
// early and drop them: Index.Start says where.
func NewDecoder(r io.Reader) (d *Decoder, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("mp3: corrupt stream: decoder failed: %v", p)
		}
	}()
	g, err := gomp3.NewDecoder(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("mp3: no audio frames")
		}
		return nil, fmt.Errorf("mp3: corrupt stream: %w", err)
	}
	return &Decoder{d: g, buf: make([]byte, 1152*4)}, nil
}

// SampleRate returns the stream's sample rate in Hz.
func (d *Decoder) SampleRate() int { return d.d.SampleRate() }

// Frame decodes the next frame and returns its audio: 16-bit little-endian
// stereo (mono is doubled), FrameSamples×4 bytes. The slice is reused by the
// next call. At the end of the stream it returns io.EOF; a stream cut
// short ends as if it ended there.
func (d *Decoder) Frame() (pcm []byte, err error) {
	if d.broken != nil {
		return nil, d.broken
	}
	defer func() {
		if p := recover(); p != nil {
			pcm, err = nil, fmt.Errorf("mp3: corrupt stream: decoder failed: %v", p)
			d.broken = err
		}
	}()
	// go-mp3 hands out one decoded frame per Read once its buffer is
	// empty, and buf holds the largest frame.
	n, err := d.d.Read(d.buf)
	if n > 0 {
		return d.buf[:n], nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	d.broken = fmt.Errorf("mp3: corrupt stream: %w", err)
	return nil, d.broken
}
