// Package library imports media files: it checks their type and structure
// from their bytes, measures MP3 duration and waveform with go-mp3 (through wasm/mp3),
// moves the file into the media folder and records it in the store, so that
// a failure at any step leaves neither a file nor a row behind.
package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/wasm/mp3"
)

// Peaks is how many waveform peaks are computed for an MP3.
const Peaks = 1000

// DefaultMaxSize is the default upload limit: 2 GiB.
const DefaultMaxSize int64 = 2 << 30

// Library imports media into a folder and a store.
type Library struct {
	Store   pulse.Store
	Dir     string // the media folder
	MaxSize int64  // bytes; 0 means DefaultMaxSize
}

// Kind is a media type Pulse accepts.
type Kind struct {
	MIME string
	Ext  string
}

// Sniff returns the media type of a file from its first bytes (at least
// 64 of them when the file has that many), or an EUnsupported error. It
// does not check the rest of the file: Probe does.
func Sniff(head []byte) (Kind, error) {
	switch {
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		brand := string(head[8:12])
		if brand == "M4A " || brand == "M4B " || brand == "M4P " {
			return Kind{"audio/mp4", ".m4a"}, nil
		}
		return Kind{"video/mp4", ".mp4"}, nil
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		if !bytes.Contains(head, []byte("webm")) {
			return Kind{}, pulse.Errorf(pulse.EUnsupported, "this is a Matroska (MKV) file: Pulse plays WebM, MP4, M4A, MP3 and Ogg")
		}
		return Kind{"video/webm", ".webm"}, nil
	case len(head) >= 4 && string(head[:4]) == "OggS":
		return Kind{"audio/ogg", ".ogg"}, nil
	case mp3.Sniff(head):
		return Kind{"audio/mpeg", ".mp3"}, nil
	}
	return Kind{}, pulse.Errorf(pulse.EUnsupported, "unsupported or unrecognised file type: Pulse plays MP3, M4A, MP4, WebM and Ogg (the type is read from the file's content, not its name)")
}

// Import reads a media file from r, checks and measures it, stores it as a
// new media titled title and returns it. Errors are *pulse.Error values a
// person can act on (EUnsupported, EInvalid, ETooLarge) or internal ones.
func (l *Library) Import(ctx context.Context, r io.Reader, title string) (*pulse.Media, error) {
	if err := pulse.ValidateTitle(title); err != nil {
		return nil, err
	}
	max := l.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("media folder: %w", err)
	}
	tmp, err := os.CreateTemp(l.Dir, ".upload-*")
	if err != nil {
		return nil, fmt.Errorf("media folder: %w", err)
	}
	tmpName := tmp.Name()
	keep := false
	defer func() {
		tmp.Close()
		if !keep {
			os.Remove(tmpName)
		}
	}()

	n, err := io.Copy(tmp, io.LimitReader(r, max+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, pulse.Errorf(pulse.ETooLarge, "the file is larger than the limit of %s", Size(max))
		}
		return nil, fmt.Errorf("receive file: %w", err)
	}
	if n > max {
		return nil, pulse.Errorf(pulse.ETooLarge, "the file is larger than the limit of %s", Size(max))
	}
	if n == 0 {
		return nil, pulse.Errorf(pulse.EInvalid, "the file is empty")
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("save file: %w", err)
	}
	kind, err := Probe(tmp, n)
	if err != nil {
		return nil, err
	}
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: strings.TrimSpace(title), Type: kind.MIME, Size: n}
	if kind.MIME == "audio/mpeg" {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		info, err := mp3.Analyze(tmp, Peaks)
		if err != nil {
			return nil, pulse.Errorf(pulse.EInvalid, "this MP3 cannot be played: %s", strings.TrimPrefix(err.Error(), "mp3: "))
		}
		m.Duration, m.Peaks = info.Duration, info.Peaks
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("save file: %w", err)
	}
	m.File = m.UUID + kind.Ext
	final := filepath.Join(l.Dir, m.File)
	if err := os.Rename(tmpName, final); err != nil {
		return nil, fmt.Errorf("save file: %w", err)
	}
	if err := l.Store.CreateMedia(ctx, m); err != nil {
		os.Remove(final)
		return nil, err
	}
	keep = true
	return m, nil
}

// Delete removes a media and its file.
func (l *Library) Delete(ctx context.Context, uuid string) error {
	m, err := l.Store.Media(ctx, uuid)
	if err != nil {
		return err
	}
	if err := l.Store.DeleteMedia(ctx, uuid); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(l.Dir, filepath.Base(m.File))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete media file: %w", err)
	}
	return nil
}

// Size formats a byte count for people: "2 GiB", "512 MiB".
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}

// ParseSize reads a byte count written for people: "2GiB", "500 MiB",
// "100MB", "1048576". KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB
// and TiB (and K, M, G, T) powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("library: %q is not a size such as 2GiB, 500MiB or 1048576", s)
	}
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("library: unknown unit %q in size %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", unit, s)
	}
	n := v * mult
	if n < 1 || n > 1<<50 {
		return 0, fmt.Errorf("library: size %q is out of range", s)
	}
	return int64(n), nil
}
