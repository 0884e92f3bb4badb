package receiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/token"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// jwksServer publishes keys, which a test may change, and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []token.Key
	down    bool
	fetches atomic.Int32
}

func newJWKS(t *testing.T, keys ...token.Key) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := token.JWKS(s.keys)
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func mustKey(t *testing.T) token.Key {
	k, err := token.NewKey(t0)
	require.NoError(t, err)
	return k
}

func signed(t *testing.T, k token.Key, iss string, q map[string]string) string {
	raw, err := token.Sign(k, token.Claims{Issuer: iss, UUID: "u1", SID: "s1", Q: q, IssuedAt: t0.Unix(), Expiry: t0.Add(token.DefaultTTL).Unix()})
	require.NoError(t, err)
	return raw
}

func beat(tok, student string) *Heartbeat {
	return &Heartbeat{UUID: "u1", Session: "s1", Token: tok,
		Fields: [][2]string{{"uuid", "u1"}, {"position", "1"}, {"student_id", student}, {"session", "s1"}, {"token", tok}}}
}

func TestVerify(t *testing.T) {
	k := mustKey(t)
	srv := newJWKS(t, k)
	v := &Verifier{JWKSURL: srv.URL + "/.well-known/jwks.json", Now: func() time.Time { return t0.Add(time.Hour) }}
	tok := signed(t, k, srv.URL, map[string]string{"student": "john_doe"})
	expect := Expect{RequestField: "student", ResponseField: "student_id"}

	c, err := v.Verify(context.Background(), beat(tok, "john_doe"), expect)
	require.NoError(t, err)
	assert.Equal(t, "john_doe", c.Q["student"])

	forged := beat(tok, "jane")
	_, err = v.Verify(context.Background(), forged, expect)
	assert.ErrorIs(t, err, ErrMismatch, "another student's value with John's token")

	other := beat(tok, "john_doe")
	other.UUID = "u2"
	_, err = v.Verify(context.Background(), other, expect)
	assert.ErrorIs(t, err, ErrMismatch)

	other = beat(tok, "john_doe")
	other.Session = "s2"
	_, err = v.Verify(context.Background(), other, expect)
	assert.ErrorIs(t, err, ErrMismatch)

	_, err = v.Verify(context.Background(), beat("", "john_doe"), expect)
	assert.ErrorIs(t, err, ErrNoToken)

	_, err = v.Verify(context.Background(), beat("made.up.token", "john_doe"), expect)
	assert.ErrorIs(t, err, token.ErrMalformed)

	evil := signed(t, k, "https://evil.example", map[string]string{"student": "john_doe"})
	_, err = v.Verify(context.Background(), beat(evil, "john_doe"), expect)
	assert.ErrorIs(t, err, token.ErrIssuer)

	// Without a mapping, the value must be one the page was opened with.
	_, err = v.Verify(context.Background(), beat(tok, "john_doe"), Expect{})
	assert.NoError(t, err)
	_, err = v.Verify(context.Background(), beat(tok, "jane"), Expect{})
	assert.ErrorIs(t, err, ErrMismatch)
	assert.Equal(t, int32(1), srv.fetches.Load(), "the key set is cached")
}

func TestVerifyFollowsRotation(t *testing.T) {
	old := mustKey(t)
	srv := newJWKS(t, old)
	now := t0.Add(time.Hour)
	v := &Verifier{JWKSURL: srv.URL, Now: func() time.Time { return now }}
	q := map[string]string{"student": "john_doe"}
	_, err := v.Verify(context.Background(), beat(signed(t, old, srv.URL, q), "john_doe"), Expect{})
	require.NoError(t, err)

	// The server rotates: a token from the new key makes the verifier
	// refetch once, and tokens of the old key still verify.
	cur := mustKey(t)
	srv.mu.Lock()
	srv.keys = []token.Key{cur, old}
	srv.mu.Unlock()
	now = now.Add(time.Minute)
	_, err = v.Verify(context.Background(), beat(signed(t, cur, srv.URL, q), "john_doe"), Expect{})
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), beat(signed(t, old, srv.URL, q), "john_doe"), Expect{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), srv.fetches.Load())

	// Unknown keys cannot make it fetch more than once per MinRefresh.
	stranger := mustKey(t)
	for range 5 {
		_, err = v.Verify(context.Background(), beat(signed(t, stranger, srv.URL, q), "john_doe"), Expect{})
		assert.ErrorIs(t, err, token.ErrUnknownKey)
	}
	assert.Equal(t, int32(2), srv.fetches.Load(), "no refetch storm")

	// While the server is down, the cached set keeps working.
	srv.mu.Lock()
	srv.down = true
	srv.mu.Unlock()
	now = now.Add(time.Hour)
	_, err = v.Verify(context.Background(), beat(signed(t, cur, srv.URL, q), "john_doe"), Expect{})
	assert.NoError(t, err)
}

func TestVerifyJWKSUnavailable(t *testing.T) {
	srv := newJWKS(t)
	srv.down = true
	v := &Verifier{JWKSURL: srv.URL}
	_, err := v.Verify(context.Background(), beat("a.b.c", "x"), Expect{})
	assert.ErrorIs(t, err, ErrJWKS)
}
