package pulse

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits and defaults of webhook fields (PROTOCOL.md §1).
const (
	MaxNameLen  = 120
	MaxURLLen   = 2048
	MaxFieldLen = 64
	MinRPM      = 1
	MaxRPM      = 60
	DefaultRPM  = 2
)

// ReservedFields are the payload names a response field may not take
// (PROTOCOL.md §3).
var ReservedFields = []string{"uuid", "position", "event", "duration", "session", "seq", "watched", "progress", "token"}

// Webhook is a client-side webhook as an admin configures it.
type Webhook struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	URL               string    `json:"url"`
	RequestField      string    `json:"request_field"`
	ResponseField     string    `json:"response_field"`
	RPM               int       `json:"rpm"`
	Active            bool      `json:"active"`
	Events            bool      `json:"events"`
	RequireParam      bool      `json:"require_param"`
	RequireSignedLink bool      `json:"require_signed_link"`
	Scope             Scope     `json:"scope"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// NewWebhook returns a webhook with the protocol's defaults: rpm 2, active,
// events on, any media.
func NewWebhook() *Webhook {
	return &Webhook{RPM: DefaultRPM, Active: true, Events: true}
}

// Validate checks every rule of PROTOCOL.md §1 and returns the first broken
// one as an EInvalid *Error naming the field.
func (w *Webhook) Validate() error {
	if n := utf8.RuneCountInString(w.Name); n > MaxNameLen {
		return FieldError("name", "must be at most %d characters, got %d", MaxNameLen, n)
	}
	if !utf8.ValidString(w.Name) || strings.ContainsFunc(w.Name, isControl) {
		return FieldError("name", "must be plain text without control characters")
	}
	if err := ValidateURL(w.URL); err != nil {
		return err
	}
	if err := validateFieldName("request_field", w.RequestField); err != nil {
		return err
	}
	if err := validateFieldName("response_field", w.ResponseField); err != nil {
		return err
	}
	if slices.Contains(ReservedFields, w.ResponseField) {
		return FieldError("response_field", "%q is a reserved payload name (reserved: %s)", w.ResponseField, strings.Join(ReservedFields, ", "))
	}
	if w.RPM < MinRPM || w.RPM > MaxRPM {
		return FieldError("rpm", "must be %d-%d requests per minute, got %d", MinRPM, MaxRPM, w.RPM)
	}
	return w.Scope.validate()
}

// Warnings lists what is allowed but likely wrong in w, for the admin.
func (w *Webhook) Warnings() []string {
	var out []string
	if u, err := url.Parse(w.URL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		out = append(out, "browsers block http:// requests from a player served over https (mixed content): use https://")
	}
	return out
}

// ValidateURL checks a webhook target: an absolute http or https URL with a
// host, no credentials, at most MaxURLLen bytes.
func ValidateURL(raw string) error {
	const field = "url"
	switch {
	case raw == "":
		return FieldError(field, "is required")
	case len(raw) > MaxURLLen:
		return FieldError(field, "must be at most %d characters, got %d", MaxURLLen, len(raw))
	case !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return isControl(r) || r == ' ' }):
		return FieldError(field, "must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return FieldError(field, "is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return FieldError(field, "must start with https:// or http://")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return FieldError(field, "must be an absolute URL with a host")
	case u.User != nil:
		return FieldError(field, "must not contain a user name or password: every player would see it")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return FieldError(field, "must not contain a #fragment")
	}
	if p := u.Port(); p != "" && (len(p) > 5 || p == "0" || atoiPort(p) > 65535) {
		return FieldError(field, "has an invalid port %q", p)
	}
	return nil
}

func atoiPort(p string) int {
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func validateFieldName(field, v string) error {
	if v == "" {
		return FieldError(field, "is required")
	}
	if len(v) > MaxFieldLen {
		return FieldError(field, "must be at most %d characters, got %d", MaxFieldLen, len(v))
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return FieldError(field, "may only contain A-Z a-z 0-9 _ . - (got %q)", c)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// Scope says which media a webhook applies to: all of them when Media is
// empty, otherwise the listed media uuids. In JSON it is "all" or a list.
type Scope struct {
	Media []string
}

// All reports whether the scope covers every media.
func (s Scope) All() bool { return len(s.Media) == 0 }

// Covers reports whether the scope includes the media uuid.
func (s Scope) Covers(uuid string) bool { return s.All() || slices.Contains(s.Media, uuid) }

// MaxScope is how many media one webhook may name.
const MaxScope = 1000

func (s Scope) validate() error {
	if len(s.Media) > MaxScope {
		return FieldError("scope", "may name at most %d media, got %d", MaxScope, len(s.Media))
	}
	seen := map[string]bool{}
	for _, id := range s.Media {
		if !ValidUUID(id) {
			return FieldError("scope", "%q is not a media id", id)
		}
		if seen[id] {
			return FieldError("scope", "names %q twice", id)
		}
		seen[id] = true
	}
	return nil
}

// MarshalJSON encodes the scope as "all" or a list of media uuids.
func (s Scope) MarshalJSON() ([]byte, error) {
	if s.All() {
		return []byte(`"all"`), nil
	}
	return json.Marshal(s.Media)
}

// UnmarshalJSON accepts "all" or a non-empty list of media uuids.
func (s *Scope) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil || v != "all" {
			return FieldError("scope", `must be "all" or a list of media ids`)
		}
		s.Media = nil
		return nil
	}
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil || ids == nil {
		return FieldError("scope", `must be "all" or a list of media ids`)
	}
	if len(ids) == 0 {
		return FieldError("scope", `an empty list would apply to no media: use "all" or name media`)
	}
	s.Media = ids
	return nil
}
