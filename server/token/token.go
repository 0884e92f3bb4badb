// Package token makes heartbeats verifiable (PROTOCOL.md §5): page tokens,
// JWTs signed with the server's Ed25519 keys (alg EdDSA, with a kid), and
// the JWKS that publishes their public halves. It uses go-jose
// (github.com/go-jose/go-jose/v4) for all JOSE work; nothing here
// hand-rolls JWT encoding or signature checks.
//
// The same Verify serves the receiver kit (server/receiver): a receiver
// checks a token against the keys of the server's JWKS.
package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultTTL is how long a page token stays valid.
const DefaultTTL = 12 * time.Hour

// Leeway is the clock skew tolerated between the server and a receiver.
const Leeway = time.Minute

// Claims are the claims of a page token.
type Claims struct {
	Issuer   string            `json:"iss"`
	UUID     string            `json:"uuid"`
	SID      string            `json:"sid"`
	Q        map[string]string `json:"q"`
	LV       bool              `json:"lv"`
	IssuedAt int64             `json:"iat"`
	Expiry   int64             `json:"exp"`
}

// Key is an Ed25519 signing key with its id. It is in the JWKS from its
// creation, signs from SignsFrom until RetiredAt, and stays in the JWKS
// until the tokens it signed have expired.
type Key struct {
	ID        string
	Private   ed25519.PrivateKey
	CreatedAt time.Time
	SignsFrom time.Time // zero means CreatedAt
	RetiredAt time.Time // zero while no later key is due to sign
}

// signsFrom is when k starts signing.
func (k Key) signsFrom() time.Time {
	if k.SignsFrom.IsZero() {
		return k.CreatedAt
	}
	return k.SignsFrom
}

// Signs reports whether k is the key that signs at now.
func (k Key) Signs(now time.Time) bool {
	return !now.Before(k.signsFrom()) && (k.RetiredAt.IsZero() || now.Before(k.RetiredAt))
}

// NewKey returns a fresh key created at now.
func NewKey(now time.Time) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("token: generate key: %w", err)
	}
	var id [9]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, err
	}
	return Key{ID: "k" + now.UTC().Format("20060102") + "-" + fmt.Sprintf("%x", id[:]), Private: priv, CreatedAt: now.UTC()}, nil
}

// Current returns the key that signs at now: of the keys whose signing has
// begun, the one that began last. Should none have begun (a clock behind
// the one that rotated), it is the one due first. It is false only without
// keys.
func Current(keys []Key, now time.Time) (Key, bool) {
	var cur, first Key
	found := false
	for i, k := range keys {
		if i == 0 || k.signsFrom().Before(first.signsFrom()) {
			first = k
		}
		if !now.Before(k.signsFrom()) && (!found || !k.signsFrom().Before(cur.signsFrom())) {
			cur, found = k, true
		}
	}
	if !found {
		return first, len(keys) > 0
	}
	return cur, true
}

// Published returns the keys a JWKS must show at now: those that sign or
// will (a key is published before it signs), and those retired less than
// ttl ago, whose tokens may still be valid.
func Published(keys []Key, now time.Time, ttl time.Duration) []Key {
	var out []Key
	for _, k := range keys {
		if k.RetiredAt.IsZero() || now.Before(k.RetiredAt.Add(ttl+Leeway)) {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// JWKS encodes the public halves of keys as a JSON Web Key Set.
func JWKS(keys []Key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       k.Private.Public(),
			KeyID:     k.ID,
			Algorithm: string(jose.EdDSA),
			Use:       "sig",
		})
	}
	return json.Marshal(set)
}

// Sign signs claims with key as a compact JWT (alg EdDSA, typ JWT, kid).
func Sign(key Key, c Claims) (string, error) {
	if !key.RetiredAt.IsZero() && !time.Unix(c.IssuedAt, 0).Before(key.RetiredAt) {
		return "", errors.New("token: a retired key does not sign")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.ID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key.Private}, opts)
	if err != nil {
		return "", fmt.Errorf("token: signer: %w", err)
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}

// Errors of Verify. Each wraps the detail.
var (
	ErrMalformed  = errors.New("token: malformed")      // not a compact JWS, or not EdDSA (alg none included)
	ErrUnknownKey = errors.New("token: unknown key id") // no key in the set has the token's kid
	ErrSignature  = errors.New("token: bad signature")  // tampered, or signed by another key
	ErrExpired    = errors.New("token: expired")
	ErrNotYet     = errors.New("token: issued in the future")
	ErrIssuer     = errors.New("token: wrong issuer")
	ErrClaims     = errors.New("token: claims incomplete")
)

// Verify checks a compact JWT against a key set and returns its claims: the
// algorithm must be EdDSA, the kid must be in the set, the signature must
// hold, and at now (with Leeway) it must have been issued and not expired.
// When issuer is not empty, the iss claim must equal it.
func Verify(raw string, keys *jose.JSONWebKeySet, issuer string, now time.Time) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrMalformed)
	}
	kid := tok.Headers[0].KeyID
	found := keys.Key(kid)
	if kid == "" || len(found) == 0 {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	var c Claims
	var std jwt.Claims
	if err := tok.Claims(found[0].Key, &c, &std); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	switch {
	case c.Expiry == 0 || c.IssuedAt == 0 || c.UUID == "" || c.SID == "":
		return nil, fmt.Errorf("%w: exp, iat, uuid and sid are required", ErrClaims)
	case now.After(time.Unix(c.Expiry, 0).Add(Leeway)):
		return nil, fmt.Errorf("%w at %s", ErrExpired, time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	case now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return nil, ErrNotYet
	case issuer != "" && c.Issuer != issuer:
		return nil, fmt.Errorf("%w %q, want %q", ErrIssuer, c.Issuer, issuer)
	}
	return &c, nil
}

// ParseJWKS decodes a JSON Web Key Set, keeping only Ed25519 public keys.
func ParseJWKS(b []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("token: bad JWKS: %w", err)
	}
	keep := set.Keys[:0]
	for _, k := range set.Keys {
		if _, ok := k.Key.(ed25519.PublicKey); ok && k.KeyID != "" {
			keep = append(keep, k)
		}
	}
	set.Keys = keep
	return &set, nil
}
