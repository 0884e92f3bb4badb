package pulse

import (
	"strings"
	"time"
	"unicode/utf8"
)

// SigningKey is one of the server's Ed25519 keys that sign page tokens
// (PROTOCOL.md §5). A key is published from its creation, signs from
// SignsFrom (later than CreatedAt for all but the first key, so that
// receivers have fetched it before they see its tokens) until RetiredAt,
// and stays published until the tokens it signed have expired.
type SigningKey struct {
	ID        string
	Private   []byte // the 64-byte ed25519.PrivateKey
	CreatedAt time.Time
	SignsFrom time.Time  // zero means CreatedAt
	RetiredAt *time.Time // when the next key starts signing; may be ahead
}

// EmbedKey is a secret an embedder (an LMS) signs player links with.
// The secret is kept as is: the server needs it to check signatures.
type EmbedKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Secret    []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Revoked reports whether the embed key was revoked.
func (k *EmbedKey) Revoked() bool { return k.RevokedAt != nil }

// ValidateKeyName checks the label of an embed key.
func ValidateKeyName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return FieldError("name", "is required")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		return FieldError("name", "must be plain text without control characters")
	case utf8.RuneCountInString(name) > MaxNameLen:
		return FieldError("name", "must be at most %d characters", MaxNameLen)
	}
	return nil
}
