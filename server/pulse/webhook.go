package pulse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
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
// host that is a DNS name or an IP address (as browsers would send it: no
// non-ASCII names, no IPv4 addresses in other forms than a.b.c.d), no
// credentials, at most MaxURLLen bytes.
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
	if strings.HasSuffix(u.Host, ":") {
		return FieldError(field, "has a \":\" after the host but no port: remove it or add a port number")
	}
	if p := u.Port(); p != "" && (len(p) > 5 || atoiPort(p) == 0 || atoiPort(p) > 65535) {
		return FieldError(field, "has an invalid port %q", p)
	}
	if err := validateHost(u); err != nil {
		return FieldError(field, "%s", err.Error())
	}
	return nil
}

// validateHost checks the host of a parsed http(s) URL. Browsers turn
// non-ASCII names into punycode and read numbers such as 127.1 or 0x7f.1
// as IPv4 addresses (WHATWG URL, "host parsing"): Pulse refuses those
// forms rather than guess differently from the browser what the host is.
func validateHost(u *url.URL) error {
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("has an invalid IPv6 address %q", host)
		}
		return nil
	}
	for _, c := range host {
		if c >= 0x80 {
			return fmt.Errorf("has a host with non-ASCII characters (%q): write it in punycode (xn--…) as browsers send it", host)
		}
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return nil
	}
	name := strings.TrimSuffix(host, ".") // a fully qualified name may end with a dot
	if name == "" || len(name) > 253 {
		return fmt.Errorf("has an invalid host %q: it must be a DNS name or an IP address", host)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("has an invalid host %q: it must be a DNS name (labels of 1-63 letters, digits and hyphens, not starting or ending with a hyphen) or an IP address", host)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("has an invalid host %q: it must be a DNS name (letters, digits, hyphens and dots) or an IP address", host)
			}
		}
	}
	if last := strings.ToLower(labels[len(labels)-1]); isNumberLabel(last) {
		return fmt.Errorf("has a host %q that browsers would read as an IPv4 address: write IPv4 addresses as four numbers 0-255, such as 192.0.2.1", host)
	}
	return nil
}

// isNumberLabel reports whether a host's last label makes browsers parse
// the host as IPv4: all decimal digits, or 0x and hexadecimal digits.
func isNumberLabel(l string) bool {
	if strings.HasPrefix(l, "0x") {
		l = l[2:]
		return strings.Trim(l, "0123456789abcdef") == ""
	}
	return l != "" && strings.Trim(l, "0123456789") == ""
}

// Origin returns the origin of a valid webhook URL written as browsers
// write it (new URL(raw).origin, WHATWG URL "origin serialization"): the
// scheme and host in lower case, an IPv6 address compressed and in
// brackets, and the port only when it is not the scheme's default (443 for
// https, 80 for http). The admin panel compares it with what the browser
// computes, so the two must agree.
func Origin(raw string) (string, error) {
	if err := ValidateURL(raw); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.HasPrefix(u.Host, "[") {
		host = "[" + whatwgIPv6(netip.MustParseAddr(host)) + "]"
	}
	if p := u.Port(); p != "" {
		n := atoiPort(p)
		if !(scheme == "https" && n == 443 || scheme == "http" && n == 80) {
			host += ":" + strconv.Itoa(n)
		}
	}
	return scheme + "://" + host, nil
}

// whatwgIPv6 writes an IPv6 address as the WHATWG URL standard does: eight
// hexadecimal pieces without leading zeros, the first longest run of two or
// more zero pieces as "::", and never a dotted IPv4 tail (netip writes
// ::ffff:127.0.0.1 where browsers write ::ffff:7f00:1).
func whatwgIPv6(a netip.Addr) string {
	b := a.As16()
	var pieces [8]uint16
	for i := range pieces {
		pieces[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	start, length := -1, 1
	for i := 0; i < 8; {
		if pieces[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			sb.WriteString("::")
			i += length - 1
			continue
		}
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), ":") {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(pieces[i]), 16))
	}
	return sb.String()
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

// isLoopback reports whether browsers treat http:// requests to host as
// potentially trustworthy, hence not mixed content (W3C Secure Contexts
// §3.1: 127.0.0.0/8, ::1 and localhost names). The host must be an IP
// address, not a name that starts like one: 127.0.0.1.evil.example is not
// loopback.
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return false
	}
	return a.Is4() && a.IsLoopback() || a == netip.IPv6Loopback()
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
