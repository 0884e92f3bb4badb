package library

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

func example(t *testing.T, name string) []byte {
	t.Helper()
	dir := os.Getenv("PULSE_MP3_DIR")
	if dir == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3").Output()
		require.NoError(t, err)
		dir = filepath.Join(strings.TrimSpace(string(out)), "example")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

func newLibrary(t *testing.T) *Library {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return &Library{Store: s, Dir: filepath.Join(dir, "media")}
}

// files lists what is in the media folder.
func (l *Library) files(t *testing.T) []string {
	entries, _ := os.ReadDir(l.Dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestImportMP3(t *testing.T) {
	l := newLibrary(t)
	m, err := l.Import(context.Background(), bytes.NewReader(example(t, "mpeg2.mp3")), "  Alice  ")
	require.NoError(t, err)
	assert.Equal(t, "Alice", m.Title)
	assert.Equal(t, "audio/mpeg", m.Type)
	assert.InDelta(t, 75.02, m.Duration, 0.05)
	assert.Len(t, m.Peaks, Peaks)
	assert.Equal(t, []string{m.UUID + ".mp3"}, l.files(t))
	got, err := l.Store.Media(context.Background(), m.UUID)
	require.NoError(t, err)
	assert.Equal(t, m.Peaks, got.Peaks)

	require.NoError(t, l.Delete(context.Background(), m.UUID))
	assert.Empty(t, l.files(t), "deleting removes the file")
}

func TestImportRefusals(t *testing.T) {
	mp3 := example(t, "mpeg2.mp3")
	for _, tc := range []struct {
		name  string
		body  []byte
		max   int64
		title string
		code  string
	}{
		{"text named mp3", []byte("this is not audio"), 0, "x", pulse.EUnsupported},
		{"empty", nil, 0, "x", pulse.EInvalid},
		{"too large", mp3, 1000, "x", pulse.ETooLarge},
		{"corrupt mp3", append([]byte{0xff, 0xfb, 0x90, 0x64}, bytes.Repeat([]byte{0x55}, 5000)...), 0, "x", pulse.EInvalid},
		{"mkv", append([]byte{0x1a, 0x45, 0xdf, 0xa3}, []byte("matroska")...), 0, "x", pulse.EUnsupported},
		// Header-only files: the first bytes are right, the rest is not.
		{"m4a header only", []byte("\x00\x00\x00\x20ftypM4A \x00\x00"), 0, "x", pulse.EInvalid},
		{"mp4 header only", []byte("\x00\x00\x00\x20ftypisom\x00\x00"), 0, "x", pulse.EInvalid},
		{"webm header only", append([]byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84}, []byte("webm")...), 0, "x", pulse.EInvalid},
		{"ogg header only", []byte("OggS\x00\x02"), 0, "x", pulse.EInvalid},
		{"mp4 without moov", ftyp("isom", "isom", "mp41"), 0, "x", pulse.EInvalid},
		{"truncated mp4", MustMP4(t, "isom", "vide")[:300], 0, "x", pulse.EInvalid},
		{"heic image", cat(ftyp("heic", "mif1", "heic"), mp4Box("meta", make([]byte, 40))), 0, "x", pulse.EUnsupported},
		{"webm without Segment", ebmlHeader("webm"), 0, "x", pulse.EInvalid},
		{"ogg with a bad CRC", flipByte(MustOgg(t), 30), 0, "x", pulse.EInvalid},
		{"ogg speex", oggPage(0x02, cat([]byte("Speex   "), make([]byte, 72))), 0, "x", pulse.EUnsupported},
		{"no title", mp3, 0, "  ", pulse.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLibrary(t)
			l.MaxSize = tc.max
			_, err := l.Import(context.Background(), bytes.NewReader(tc.body), tc.title)
			require.Error(t, err)
			assert.Equal(t, tc.code, pulse.ErrorCode(err), err.Error())
			assert.Empty(t, l.files(t), "no partial file left")
			list, _ := l.Store.MediaList(context.Background())
			assert.Empty(t, list, "no row left")
		})
	}
}

func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

func TestImportTruncatedMP3Plays(t *testing.T) {
	l := newLibrary(t)
	b := example(t, "mpeg2.mp3")
	m, err := l.Import(context.Background(), bytes.NewReader(b[:len(b)/3]), "cut")
	require.NoError(t, err)
	assert.InDelta(t, 25, m.Duration, 1)
}

// TestSniff checks the type read from first bytes; Probe then checks the
// structure (TestProbeRefuses: header-only files are refused).
func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		mime string
	}{
		{"m4a", MustMP4(t, "M4A ", "soun"), "audio/mp4"},
		{"mp4", MustMP4(t, "isom", "vide"), "video/mp4"},
		{"webm", MustWebM(t), "video/webm"},
		{"ogg", MustOgg(t), "audio/ogg"},
		{"mp3 with ID3", []byte("ID3\x04\x00"), "audio/mpeg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Sniff(tc.head)
			require.NoError(t, err)
			assert.Equal(t, tc.mime, k.MIME)
		})
	}
}

// TestImportContainers imports minimal valid MP4, M4A, WebM and Ogg files.
func TestImportContainers(t *testing.T) {
	for _, tc := range []struct {
		name, mime, ext string
		file            []byte
	}{
		{"m4a", "audio/mp4", ".m4a", MustMP4(t, "M4A ", "soun")},
		{"mp4", "video/mp4", ".mp4", MustMP4(t, "mp42", "vide")},
		{"webm", "video/webm", ".webm", MustWebM(t)},
		{"ogg", "audio/ogg", ".ogg", MustOgg(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLibrary(t)
			m, err := l.Import(context.Background(), bytes.NewReader(tc.file), tc.name)
			require.NoError(t, err)
			assert.Equal(t, tc.mime, m.Type)
			assert.Equal(t, []string{m.UUID + tc.ext}, l.files(t))
		})
	}
}

func TestSize(t *testing.T) {
	assert.Equal(t, "2 GiB", Size(2<<30))
	assert.Equal(t, "439.6 KiB", Size(450187))
	assert.Equal(t, "12 B", Size(12))
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"2GiB", 2 << 30}, {"500 MiB", 500 << 20}, {"100MB", 100e6}, {"1048576", 1 << 20}, {"1.5G", 3 << 29}, {"64k", 64 << 10},
	} {
		got, err := ParseSize(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, "ParseSize(%q)", tc.in)
	}
	for _, bad := range []string{"", "GiB", "-1", "0", "2 parsecs", "1e3", "9999999TiB"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, "ParseSize(%q)", bad)
	}
}
