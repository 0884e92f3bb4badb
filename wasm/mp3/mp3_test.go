package mp3

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MustExample returns the bytes of one of go-mp3's example recordings,
// from PULSE_MP3_DIR (set by scripts/test.sh, and needed under Node.js,
// which cannot run commands) or from the module cache.
func MustExample(tb testing.TB, name string) []byte {
	tb.Helper()
	dir := os.Getenv("PULSE_MP3_DIR")
	if dir == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3").Output()
		require.NoError(tb, err, "find go-mp3 in the module cache (or set PULSE_MP3_DIR)")
		dir = filepath.Join(strings.TrimSpace(string(out)), "example")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(tb, err)
	return b
}

func TestAnalyzeSpeech(t *testing.T) {
	b := MustExample(t, "mpeg2.mp3")
	info, err := Analyze(bytes.NewReader(b), 1000)
	require.NoError(t, err)
	assert.Equal(t, 22050, info.SampleRate)
	assert.InDelta(t, 75.02, info.Duration, 0.05)
	require.Len(t, info.Peaks, 1000)
	loud := 0
	for _, p := range info.Peaks {
		if p > 20 {
			loud++
		}
	}
	assert.Greater(t, loud, 500, "speech is mostly not silence")
}

func TestAnalyzeTruncatedKeepsWhatDecodes(t *testing.T) {
	b := MustExample(t, "mpeg2.mp3")
	info, err := Analyze(bytes.NewReader(b[:len(b)/2]), 100)
	require.NoError(t, err)
	assert.InDelta(t, 37.5, info.Duration, 1)
}

func TestAnalyzeRefusesGarbage(t *testing.T) {
	for name, b := range map[string][]byte{
		"text":           []byte("hello, this is not an mp3 file at all\n"),
		"empty":          nil,
		"html":           []byte("<!doctype html><title>x</title>"),
		"sync then junk": append([]byte{0xff, 0xfb, 0x90, 0x64}, bytes.Repeat([]byte{0}, 10)...),
		"huge id3":       append([]byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f"), bytes.Repeat([]byte{1}, 100)...),
		"id3 only":       []byte("ID3\x04\x00\x00\x00\x00\x00\x10" + strings.Repeat("x", 16)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Analyze(bytes.NewReader(b), 100)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "mp3: "), err.Error())
		})
	}
}

func TestReduce(t *testing.T) {
	assert.Nil(t, Reduce(nil, 10, 1))
	assert.Equal(t, []byte{255, 128}, Reduce([]float64{1, 0.2, 0.5, 0.1}, 2, 1))
	assert.Equal(t, []byte{0, 255}, Reduce([]float64{0, 2}, 5, 1), "never more peaks than levels; clamped")
}

func TestSniff(t *testing.T) {
	assert.True(t, Sniff([]byte("ID3\x03")))
	assert.True(t, Sniff([]byte{0xff, 0xfb, 0x90, 0x64}), "MPEG-1 layer III 128 kbps")
	assert.False(t, Sniff([]byte{0xff, 0xfd, 0x90, 0x64}), "layer II")
	assert.False(t, Sniff([]byte("OggS")))
	assert.False(t, Sniff(nil))
}

// A broken stretch in the middle is stepped over, as the player does: the
// duration is that of all the audio, not of the part before it.
func TestAnalyzeStepsOverJunk(t *testing.T) {
	b := MustExample(t, "mpeg2.mp3")
	var x Index
	require.NoError(t, x.Scan(b, true))
	at := x.Offset(x.Frames() / 2)
	junk := append(append(bytes.Clone(b[:at]), bytes.Repeat([]byte("junk, not audio "), 4096)...), b[at:]...)
	info, err := Analyze(bytes.NewReader(junk), 100)
	require.NoError(t, err)
	assert.InDelta(t, 75.02, info.Duration, 0.5, "both halves count")
	var y Index
	require.NoError(t, y.Scan(junk, true))
	assert.InDelta(t, y.Duration(), info.Duration, 0.2, "import and player agree")
}

func TestAnalyzeMPEG25(t *testing.T) {
	// An MPEG-2.5 layer III header (8 kHz), then zeros.
	_, err := Analyze(bytes.NewReader(append([]byte{0xff, 0xe3, 0x18, 0xc4}, make([]byte, 4096)...)), 10)
	assert.ErrorIs(t, err, ErrMPEG25)
}
