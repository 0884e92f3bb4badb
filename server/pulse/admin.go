package pulse

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Admin is a person who may sign in to the admin panel.
type Admin struct {
	ID           string    `json:"id"`
	Username     string    `json:"username"`
	PasswordHash string    `json:"-"` // bcrypt
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Session is a signed-in admin's browser session. Its ID is the SHA-256 of
// the cookie value, so a copy of the database opens no session.
type Session struct {
	ID        string    `json:"-"`
	AdminID   string    `json:"admin_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Expired reports whether the session has expired at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// Token is an API token for automation. Only the SHA-256 of the secret is
// stored; Prefix (the first characters of the secret) lets people tell
// their tokens apart.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       string     `json:"-"`
	AdminID    string     `json:"admin_id"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return t.RevokedAt != nil }

// Limits of admin and token fields.
const (
	MaxUsernameLen  = 64
	MinPasswordLen  = 8
	MaxPasswordLen  = 72 // bcrypt's limit, in bytes
	MaxTokenNameLen = 120
)

// ValidateUsername checks an admin user name: 1–64 characters of
// A-Z a-z 0-9 _ . @ -.
func ValidateUsername(u string) error {
	if u == "" {
		return FieldError("username", "is required")
	}
	if len(u) > MaxUsernameLen {
		return FieldError("username", "must be at most %d characters", MaxUsernameLen)
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '@' || c == '-') {
			return FieldError("username", "may only contain A-Z a-z 0-9 _ . @ -")
		}
	}
	return nil
}

// ValidatePassword checks a new admin password: 8–72 bytes (bcrypt reads
// no further), no control characters.
func ValidatePassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < MinPasswordLen:
		return FieldError("password", "must be at least %d characters", MinPasswordLen)
	case len(p) > MaxPasswordLen:
		return FieldError("password", "must be at most %d bytes", MaxPasswordLen)
	case !utf8.ValidString(p) || strings.ContainsFunc(p, isControl):
		return FieldError("password", "must be text without control characters")
	}
	return nil
}

// ValidateTokenName checks an API token's label.
func ValidateTokenName(n string) error {
	switch {
	case strings.TrimSpace(n) == "":
		return FieldError("name", "is required: say what the token is for, such as \"LMS sync\"")
	case utf8.RuneCountInString(n) > MaxTokenNameLen:
		return FieldError("name", "must be at most %d characters", MaxTokenNameLen)
	case !utf8.ValidString(n) || strings.ContainsFunc(n, isControl):
		return FieldError("name", "must be plain text without control characters")
	}
	return nil
}
