package token

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// MustKey returns a new key created at t.
func MustKey(tb testing.TB, t time.Time) Key {
	tb.Helper()
	k, err := NewKey(t)
	require.NoError(tb, err)
	return k
}

func claims() Claims {
	return Claims{Issuer: "https://pulse.example", UUID: "uuid-1234", SID: "sess", Q: map[string]string{"student": "john_doe"},
		LV: true, IssuedAt: now.Unix(), Expiry: now.Add(DefaultTTL).Unix()}
}

func set(tb testing.TB, keys ...Key) *jose.JSONWebKeySet {
	tb.Helper()
	b, err := JWKS(keys)
	require.NoError(tb, err)
	s, err := ParseJWKS(b)
	require.NoError(tb, err)
	return s
}

func TestRoundTrip(t *testing.T) {
	k := MustKey(t, now)
	raw, err := Sign(k, claims())
	require.NoError(t, err)
	header, _, _ := strings.Cut(raw, ".")
	h, _ := base64.RawURLEncoding.DecodeString(header)
	assert.JSONEq(t, `{"alg":"EdDSA","kid":"`+k.ID+`","typ":"JWT"}`, string(h))

	got, err := Verify(raw, set(t, k), "https://pulse.example", now.Add(time.Hour))
	require.NoError(t, err)
	want := claims()
	assert.Equal(t, &want, got)
}

// forge re-signs a token's parts with a changed header or payload.
func segment(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyFailures(t *testing.T) {
	k := MustKey(t, now)
	other := MustKey(t, now)
	good, err := Sign(k, claims())
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	keys := set(t, k)

	expired := claims()
	expired.Expiry = now.Add(-2 * time.Minute).Unix()
	expiredTok, _ := Sign(k, expired)
	future := claims()
	future.IssuedAt = now.Add(time.Hour).Unix()
	futureTok, _ := Sign(k, future)
	noSID := claims()
	noSID.SID = ""
	noSIDTok, _ := Sign(k, noSID)
	otherTok, _ := Sign(other, claims())
	tampered := claims()
	tampered.Q = map[string]string{"student": "someone_else"}
	noneHeader := segment(map[string]string{"alg": "none", "typ": "JWT", "kid": k.ID})
	hsHeader := segment(map[string]string{"alg": "HS256", "typ": "JWT", "kid": k.ID})
	wrongKid := segment(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": "nope"})

	for _, tc := range []struct {
		name, raw, issuer string
		want              error
	}{
		{"bad signature (another key's, same kid)", parts[0] + "." + parts[1] + "." + strings.Split(otherTok, ".")[2], "", ErrSignature},
		{"tampered claims", parts[0] + "." + segment(tampered) + "." + parts[2], "", ErrSignature},
		{"wrong kid", wrongKid + "." + parts[1] + "." + parts[2], "", ErrUnknownKey},
		{"key not published", otherTok, "", ErrUnknownKey},
		{"alg none", noneHeader + "." + parts[1] + ".", "", ErrMalformed},
		{"alg HS256", hsHeader + "." + parts[1] + "." + parts[2], "", ErrMalformed},
		{"garbage", "not.a.jwt", "", ErrMalformed},
		{"empty", "", "", ErrMalformed},
		{"expired", expiredTok, "", ErrExpired},
		{"issued in the future", futureTok, "", ErrNotYet},
		{"wrong issuer", good, "https://evil.example", ErrIssuer},
		{"no sid", noSIDTok, "", ErrClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.raw, keys, tc.issuer, now)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	old := MustKey(t, now.Add(-24*time.Hour))
	oldTok, err := Sign(old, claims())
	require.NoError(t, err)

	// Rotate: a new key is published now and signs from a minute on; the
	// old one signs until then, and retires.
	cur := MustKey(t, now)
	cur.SignsFrom = now.Add(time.Minute)
	old.RetiredAt = cur.SignsFrom
	keys := []Key{old, cur}
	k, ok := Current(keys, now)
	require.True(t, ok)
	assert.Equal(t, old.ID, k.ID, "the old key signs until the new one is due")
	assert.True(t, old.Signs(now))
	assert.False(t, cur.Signs(now))
	require.Len(t, Published(keys, now, DefaultTTL), 2, "the new key is published before it signs")
	k, _ = Current(keys, cur.SignsFrom)
	assert.Equal(t, cur.ID, k.ID, "then the new one signs")
	k, _ = Current(keys, now.Add(-48*time.Hour))
	assert.Equal(t, old.ID, k.ID, "a clock behind every key's start takes the one due first")
	_, ok = Current(nil, now)
	assert.False(t, ok)
	late := claims()
	late.IssuedAt = cur.SignsFrom.Unix()
	_, err = Sign(old, late)
	assert.Error(t, err, "a retired key does not sign")
	_, err = Sign(old, claims())
	assert.NoError(t, err, "before it retires, it does")

	// While old tokens can still be valid, the old key is published...
	pub := Published(keys, now.Add(DefaultTTL-time.Minute), DefaultTTL)
	require.Len(t, pub, 2)
	_, err = Verify(oldTok, set(t, pub...), "", now.Add(time.Hour))
	assert.NoError(t, err, "an old token stays valid after rotation")
	// ...and once they have expired, it is dropped.
	pub = Published(keys, now.Add(DefaultTTL+2*Leeway), DefaultTTL)
	require.Len(t, pub, 1)
	assert.Equal(t, cur.ID, pub[0].ID)
}

func TestJWKSShape(t *testing.T) {
	k := MustKey(t, now)
	b, err := JWKS([]Key{k})
	require.NoError(t, err)
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Len(t, doc.Keys, 1)
	assert.Equal(t, "OKP", doc.Keys[0]["kty"])
	assert.Equal(t, "Ed25519", doc.Keys[0]["crv"])
	assert.Equal(t, "EdDSA", doc.Keys[0]["alg"])
	assert.Equal(t, "sig", doc.Keys[0]["use"])
	assert.Equal(t, k.ID, doc.Keys[0]["kid"])
	assert.NotContains(t, doc.Keys[0], "d", "never the private key")
}
