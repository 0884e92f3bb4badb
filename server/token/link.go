package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

// Signed links (PROTOCOL.md §5): an embedder signs the player URLs it
// builds with an embed key: exp=<unix seconds>, kid=<embed key id> and
// sig=base64url(HMAC-SHA256(secret, canonical)), where canonical is
//
//	path + "?" + the query parameters other than sig, sorted by name
//	(repeated names keep their order), each as name=value with both
//	percent-encoded (every byte but A-Z a-z 0-9 - . _ ~ as %XX,
//	uppercase), joined by "&".
//
// The same bytes come out of Go and of JavaScript's encodeURIComponent with
// !'()* also escaped, whatever order or encoding the URL arrived in.
//
// A signature covers parameters only when every reader of the URL sees the
// same ones: the page token and the player decode the query leniently, as
// browsers do (heartbeat.ParseQuery: a ";" is a plain character, "%zz"
// stays as it is, bad UTF-8 becomes U+FFFD), while Go's url.ParseQuery
// drops such parameters. So a signed link whose query is not well formed
// (a ";", a "%" without two hex digits, bytes that are not UTF-8) is
// refused rather than verified on what one parser saw.

// Errors of VerifyLink.
var (
	ErrLinkIncomplete = errors.New("link: sig needs kid and exp")
	ErrLinkKey        = errors.New("link: unknown or revoked embed key")
	ErrLinkExpired    = errors.New("link: expired")
	ErrLinkSignature  = errors.New("link: bad signature")
	ErrLinkMalformed  = errors.New("link: malformed query")
)

// ParseQuery parses a player URL's raw query (without its "?") strictly:
// parameters split on "&", "+" is a space, and each name and value must
// percent-decode cleanly to UTF-8 with no ";" in them. On such a query it gives the parameters
// that heartbeat.ParseQuery (the player's and the page token's parser)
// gives, in the same order; on any other it fails with ErrLinkMalformed.
func ParseQuery(raw string) (url.Values, error) {
	if strings.HasPrefix(raw, "?") {
		// The player's parser takes a leading "?" for the separator.
		return nil, fmt.Errorf("%w: the query starts with a second '?'", ErrLinkMalformed)
	}
	q := url.Values{}
	for rest := raw; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		if strings.Contains(part, ";") {
			return nil, fmt.Errorf("%w: parameter %q contains a semicolon", ErrLinkMalformed, clipParam(part))
		}
		name, value, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(name)
		v, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: parameter %q has a %% that does not start an escape", ErrLinkMalformed, clipParam(part))
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: parameter %q is not UTF-8", ErrLinkMalformed, clipParam(part))
		}
		q[k] = append(q[k], v)
	}
	return q, nil
}

// clipParam bounds a parameter quoted in an error.
func clipParam(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Canonical returns the string a link signature covers.
func Canonical(path string, query url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	names := make([]string, 0, len(query))
	for k := range query {
		if k != "sig" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range query[k] {
			pairs = append(pairs, pair{k, v})
		}
	}
	var b strings.Builder
	b.WriteString(path)
	b.WriteByte('?')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escape(p.k))
		b.WriteByte('=')
		b.WriteString(escape(p.v))
	}
	return b.String()
}

// escape percent-encodes every byte but the RFC 3986 unreserved ones.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// LinkSignature computes sig for a canonical string.
func LinkSignature(secret []byte, canonical string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignLink adds kid, exp and sig to a player URL.
func SignLink(raw, kid string, secret []byte, exp time.Time) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("link: %w", err)
	}
	q, err := ParseQuery(u.RawQuery)
	if err != nil {
		return "", err
	}
	q.Del("sig")
	q.Set("kid", kid)
	q.Set("exp", strconv.FormatInt(exp.Unix(), 10))
	q.Set("sig", LinkSignature(secret, Canonical(u.EscapedPath(), q)))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// VerifyLink checks the signature of a player URL's path and raw query. It
// returns false and no error for a URL without sig: an unsigned link. A
// signed one whose query is not well formed (see ParseQuery) fails with
// ErrLinkMalformed. For the others, secret returns the embed key's secret
// (false when unknown or revoked); the signature is compared in constant
// time.
func VerifyLink(path, rawQuery string, secret func(kid string) ([]byte, bool), now time.Time) (bool, error) {
	query, err := ParseQuery(rawQuery)
	if err != nil {
		if _, signed := heartbeat.ParseQuery(rawQuery).Get("sig"); signed {
			return false, err
		}
		return false, nil // unsigned: nothing to verify, lv stays false
	}
	sigs, signed := query["sig"]
	if !signed {
		return false, nil
	}
	kid, exp := query.Get("kid"), query.Get("exp")
	if len(sigs) != 1 || kid == "" || exp == "" || len(query["kid"]) != 1 || len(query["exp"]) != 1 {
		return false, ErrLinkIncomplete
	}
	expAt, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false, fmt.Errorf("%w: exp %q is not unix seconds", ErrLinkIncomplete, exp)
	}
	key, ok := secret(kid)
	if !ok {
		return false, fmt.Errorf("%w %q", ErrLinkKey, kid)
	}
	got, err := base64.RawURLEncoding.DecodeString(sigs[0])
	want := hmac.New(sha256.New, key)
	want.Write([]byte(Canonical(path, query)))
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return false, ErrLinkSignature
	}
	if !now.Before(time.Unix(expAt, 0)) {
		return false, fmt.Errorf("%w at %s", ErrLinkExpired, time.Unix(expAt, 0).UTC().Format(time.RFC3339))
	}
	return true, nil
}
