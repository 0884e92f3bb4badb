package mp3

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeAll decodes a whole file with Decoder and returns its PCM frames.
func decodeAll(tb testing.TB, b []byte) [][]byte {
	tb.Helper()
	d, err := NewDecoder(bytes.NewReader(b))
	require.NoError(tb, err)
	var frames [][]byte
	for {
		pcm, err := d.Frame()
		if err == io.EOF {
			return frames
		}
		require.NoError(tb, err)
		frames = append(frames, bytes.Clone(pcm))
	}
}

// example returns a recording, cut after about a minute: enough frames for
// every test, and quick to decode under Node.js too.
func example(tb testing.TB, name string) []byte {
	b := MustExample(tb, name)
	return b[:min(len(b), 2<<20)]
}

func TestIndexMatchesDecoder(t *testing.T) {
	for _, tc := range []struct {
		file    string
		rate    int
		samples int
	}{
		{"classic.mp3", 44100, 1152},
		{"mpeg2.mp3", 22050, 576},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := example(t, tc.file)
			var x Index
			require.NoError(t, x.Scan(b, true))
			assert.Equal(t, tc.rate, x.SampleRate())
			assert.Equal(t, tc.samples, x.FrameSamples())
			frames := decodeAll(t, b)
			require.Equal(t, len(frames), x.Frames(), "one index entry per decoded frame")
			for i, f := range frames {
				require.Len(t, f, tc.samples*4, "frame %d", i)
			}
			info, err := Analyze(bytes.NewReader(b), 10)
			require.NoError(t, err)
			assert.InDelta(t, info.Duration, x.Duration(), 1e-9, "the duration the server computed at import")
		})
	}
}

// Scanning as the file arrives, in pieces of any size, finds the same
// frames as scanning it whole.
func TestIndexIncremental(t *testing.T) {
	b := MustExample(t, "mpeg2.mp3")
	var whole Index
	require.NoError(t, whole.Scan(b, true))
	for _, step := range []int{1, 3, 417, 4096, 65536} {
		var x Index
		for n := 0; n < len(b); n += step {
			require.NoError(t, x.Scan(b[:min(n, len(b))], false))
		}
		require.NoError(t, x.Scan(b, true))
		assert.Equal(t, whole.offsets, x.offsets, "step %d", step)
	}
}

// Starting a decoder two frames before a frame gives that frame and the
// ones after it exactly as decoding from the start does: what seeking
// relies on.
func TestDecodeFromIndexIsExact(t *testing.T) {
	for _, file := range []string{"classic.mp3", "mpeg2.mp3"} {
		t.Run(file, func(t *testing.T) {
			b := example(t, file)
			var x Index
			require.NoError(t, x.Scan(b, true))
			all := decodeAll(t, b)
			for k := 0; k < x.Frames(); k += 1 + k/3 {
				j := x.Start(k)
				require.LessOrEqual(t, j, max(k-2, 0))
				d, err := NewDecoder(bytes.NewReader(b[x.Offset(j):]))
				require.NoError(t, err)
				for range k - j {
					_, err := d.Frame()
					require.NoError(t, err)
				}
				for i := k; i < min(k+3, x.Frames()); i++ {
					pcm, err := d.Frame()
					require.NoError(t, err)
					require.True(t, bytes.Equal(all[i], pcm), "frame %d decoded from frame %d differs", i, j)
				}
			}
		})
	}
}

func TestIndexTimes(t *testing.T) {
	b := MustExample(t, "classic.mp3")
	var x Index
	require.NoError(t, x.Scan(b, true))
	spf := 1152.0 / 44100
	assert.Equal(t, 0, x.FrameAt(-1))
	assert.Equal(t, 0, x.FrameAt(0))
	assert.Equal(t, 0, x.FrameAt(spf*0.99))
	assert.Equal(t, 1, x.FrameAt(spf))
	assert.Equal(t, 3828, x.FrameAt(100))
	assert.InDelta(t, 100, x.Time(3828), spf)
	assert.InDelta(t, 355.4, x.Duration(), 0.1)
}

func TestIndexJunk(t *testing.T) {
	b := MustExample(t, "mpeg2.mp3")
	var clean Index
	require.NoError(t, clean.Scan(b, true))

	t.Run("junk between frames is skipped", func(t *testing.T) {
		at := clean.Offset(50)
		junk := append(append(bytes.Clone(b[:at]), "junk\xff\xfbjunk"...), b[at:]...)
		var x Index
		require.NoError(t, x.Scan(junk, true))
		assert.Equal(t, clean.Frames(), x.Frames())
		assert.Equal(t, at+10, x.Offset(50))
	})
	t.Run("a cut file keeps its whole frames", func(t *testing.T) {
		var x Index
		require.NoError(t, x.Scan(b[:clean.Offset(100)+20], true))
		assert.Equal(t, 100, x.Frames())
		assert.Len(t, decodeAll(t, b[:clean.Offset(100)+20]), 100, "as go-mp3 decodes it")
	})
	t.Run("id3 tag", func(t *testing.T) {
		tag := []byte("ID3\x03\x00\x00\x00\x00\x01\x00")
		tagged := append(append(tag, bytes.Repeat([]byte{0xff}, 128)...), b[clean.Offset(0):]...)
		var x Index
		require.NoError(t, x.Scan(tagged, true))
		assert.Equal(t, clean.Frames(), x.Frames())
		assert.Equal(t, 138, x.Offset(0))
	})
	for name, data := range map[string][]byte{
		"text":     []byte("this is not an mp3 file, it is text"),
		"empty":    nil,
		"id3 only": []byte("ID3\x03\x00\x00\x00\x00\x00\x05hello"),
		"html":     []byte("<!doctype html><html><body>hello</body></html>"),
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			var x Index
			err := x.Scan(data, true)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "mp3: ")
			assert.Equal(t, 0, x.Frames())
		})
	}
	t.Run("mpeg 2.5 is refused", func(t *testing.T) {
		var x Index
		err := x.Scan([]byte{0xff, 0xe3, 0x18, 0xc4, 0, 0, 0, 0}, true)
		assert.ErrorIs(t, err, ErrMPEG25)
	})
}

func TestDecoderErrors(t *testing.T) {
	_, err := NewDecoder(bytes.NewReader([]byte("not an mp3 at all, only text")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mp3: ")
	_, err = NewDecoder(bytes.NewReader(nil))
	require.Error(t, err)

	b := MustExample(t, "mpeg2.mp3")
	d, err := NewDecoder(bytes.NewReader(b[:len(b)/3]))
	require.NoError(t, err)
	n := 0
	for {
		_, err := d.Frame()
		if err != nil {
			assert.ErrorIs(t, err, io.EOF, "a cut stream ends")
			break
		}
		n++
	}
	assert.InDelta(t, 75.02/3, float64(n*576)/22050, 0.5)
}

// go-mp3 panics on some input (this one, found by fuzzing go-mp3 itself,
// indexes past a table): every door of this package turns that into an
// error.
func TestGoMP3PanicsBecomeErrors(t *testing.T) {
	crash := append([]byte("\xff\xf3"), bytes.Repeat([]byte("0"), 8)...)
	crash = append(crash, '\xd5')
	crash = append(crash, bytes.Repeat([]byte("0"), 121)...)

	_, err := Analyze(bytes.NewReader(crash), 10)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mp3: ")

	d, err := NewDecoder(bytes.NewReader(crash))
	if err == nil {
		for range 10 {
			if _, err = d.Frame(); err != nil {
				break
			}
		}
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decoder failed", "the panic, recovered")
	if d != nil {
		_, again := d.Frame()
		assert.Equal(t, err, again, "a broken decoder stays broken")
	}
}
