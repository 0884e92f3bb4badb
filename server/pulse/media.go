package pulse

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Media is a playable file in the library.
type Media struct {
	UUID      string    `json:"uuid"`
	Title     string    `json:"title"`
	Type      string    `json:"type"`     // MIME type, detected from the file's bytes
	Size      int64     `json:"size"`     // bytes
	Duration  float64   `json:"duration"` // seconds; 0 when unknown
	File      string    `json:"-"`        // file name inside the media folder
	Peaks     []byte    `json:"-"`        // waveform peaks, one byte (0–255) each; nil when unknown
	CreatedAt time.Time `json:"created_at"`
}

// IsVideo reports whether the media is played with a <video> element.
func (m *Media) IsVideo() bool { return strings.HasPrefix(m.Type, "video/") }

// MaxTitleLen bounds a media title.
const MaxTitleLen = 200

// ValidateTitle checks a media title.
func ValidateTitle(t string) error {
	switch {
	case strings.TrimSpace(t) == "":
		return FieldError("title", "is required")
	case !utf8.ValidString(t) || strings.ContainsFunc(t, isControl):
		return FieldError("title", "must be plain text without control characters")
	case utf8.RuneCountInString(t) > MaxTitleLen:
		return FieldError("title", "must be at most %d characters", MaxTitleLen)
	}
	return nil
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewID returns a random id with a prefix, such as "wh_3kq9…".
func NewID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + "_" + strings.ToLower(strings.TrimRight(base32hex(b[:]), "="))
}

func base32hex(b []byte) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	var sb strings.Builder
	var acc, bits uint
	for _, c := range b {
		acc = acc<<8 | uint(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(alphabet[acc>>bits&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(alphabet[acc<<(5-bits)&31])
	}
	return sb.String()
}

// ValidUUID reports whether s can be a media id: 1–64 characters of
// A-Z a-z 0-9 _ -. Pulse makes UUIDs; imported ids may differ.
func ValidUUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
