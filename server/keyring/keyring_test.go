package keyring

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/receiver"
	"github.com/pulsehq/pulse/server/sqlite"
	"github.com/pulsehq/pulse/server/token"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func newRing(t *testing.T) (*Keyring, *sqlite.Store) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return New(s, 0), s
}

func TestFirstKeyAndSigning(t *testing.T) {
	k, s := newRing(t)
	ctx := context.Background()
	raw, err := k.Sign(ctx, token.Claims{Issuer: "https://p.example", UUID: "u", SID: "s"}, t0)
	require.NoError(t, err)
	stored, _ := s.SigningKeys(ctx)
	require.Len(t, stored, 1, "the first key is created on first use")

	pub, err := k.Published(ctx, t0)
	require.NoError(t, err)
	b, _ := token.JWKS(pub)
	set, _ := token.ParseJWKS(b)
	c, err := token.Verify(raw, set, "https://p.example", t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(token.DefaultTTL).Unix(), c.Expiry)
}

func TestRotateKeepsOldTokensUntilTheyExpire(t *testing.T) {
	k, s := newRing(t)
	ctx := context.Background()
	old, err := k.Sign(ctx, token.Claims{UUID: "u", SID: "s"}, t0)
	require.NoError(t, err)

	t1 := t0.Add(time.Hour)
	nk, err := k.Rotate(ctx, t1)
	require.NoError(t, err)
	assert.Equal(t, t1.Add(PublishDelay), nk.SignsFrom)
	cur, err := k.Current(ctx, t1)
	require.NoError(t, err)
	assert.NotEqual(t, nk.ID, cur.ID, "the current key signs until the new one is due")
	cur, err = k.Current(ctx, t1.Add(PublishDelay))
	require.NoError(t, err)
	assert.Equal(t, nk.ID, cur.ID)

	verify := func(raw string, at time.Time) error {
		pub, err := k.Published(ctx, at)
		require.NoError(t, err)
		b, _ := token.JWKS(pub)
		set, _ := token.ParseJWKS(b)
		_, err = token.Verify(raw, set, "", at)
		return err
	}
	assert.NoError(t, verify(old, t1.Add(time.Minute)), "old tokens stay valid after a rotation")

	// Two rotations later, past the old tokens' lifetime, the old key is
	// gone from the JWKS and from the database.
	t2 := t1.Add(PublishDelay + token.DefaultTTL + 2*token.Leeway)
	_, err = k.Rotate(ctx, t2)
	require.NoError(t, err)
	assert.ErrorIs(t, verify(old, t2), token.ErrUnknownKey)
	stored, _ := s.SigningKeys(ctx)
	assert.Len(t, stored, 2)
}

func TestSeesRotationByAnotherInstance(t *testing.T) {
	a, s := newRing(t)
	b := New(s, 0)
	ctx := context.Background()
	ka, err := a.Current(ctx, t0)
	require.NoError(t, err)
	kb, err := b.Current(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, ka.ID, kb.ID, "two instances share the key")

	rotated, err := a.Rotate(ctx, t0.Add(10*time.Second))
	require.NoError(t, err)
	published := func(k *Keyring, at time.Time) []string {
		pub, err := k.Published(ctx, at)
		require.NoError(t, err)
		var ids []string
		for _, p := range pub {
			ids = append(ids, p.ID)
		}
		return ids
	}
	assert.Equal(t, []string{rotated.ID, ka.ID}, published(a, t0.Add(10*time.Second)), "a publishes the new key at once")
	assert.Equal(t, []string{ka.ID}, published(b, t0.Add(10*time.Second)), "b still uses its cached keys")
	assert.Equal(t, []string{rotated.ID, ka.ID}, published(b, t0.Add(Refresh)), "b reads them again after Refresh")
	due := rotated.SignsFrom
	for _, k := range []*Keyring{a, b} {
		cur, _ := k.Current(ctx, due.Add(-time.Millisecond))
		assert.Equal(t, ka.ID, cur.ID, "the old key signs until the new one is due")
		cur, _ = k.Current(ctx, due)
		assert.Equal(t, rotated.ID, cur.ID, "both switch when it is due, without reading the keys again")
	}
}

// A receiver with the kit's defaults verifies every token signed around a
// rotation, whenever it last fetched the JWKS: a new key is in the JWKS
// long enough before it signs. (Before, a key signed as soon as it was
// made, and a receiver that had fetched the JWKS less than 30 s earlier
// refused its tokens.)
func TestRotationReachesReceiversBeforeItSigns(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lastFetch is when the receiver last fetched the JWKS, from the
		// rotation.
		lastFetch time.Duration
	}{
		{"fetched just before the rotation", -time.Second},
		{"fetched 25 s before", -25 * time.Second},
		{"fetched 10 s after", 10 * time.Second},
		{"fetched 10 s before the new key signs", PublishDelay - 10*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := newRing(t)
			ctx := context.Background()
			now := t0
			fetches := 0
			jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetches++
				pub, err := k.Published(ctx, now)
				require.NoError(t, err)
				b, _ := token.JWKS(pub)
				w.Write(b)
			}))
			t.Cleanup(jwks.Close)
			v := &receiver.Verifier{JWKSURL: jwks.URL, Issuer: "https://p.example", Now: func() time.Time { return now }}
			expect := receiver.Expect{RequestField: "student", ResponseField: "student_id"}
			verifyNew := func() (kid string, err error) {
				raw, err := k.Sign(ctx, token.Claims{Issuer: "https://p.example", UUID: "u", SID: "s", Q: map[string]string{"student": "j"}}, now)
				require.NoError(t, err)
				_, err = v.Verify(ctx, &receiver.Heartbeat{UUID: "u", Session: "s", Token: raw, Fields: [][2]string{{"student_id", "j"}}}, expect)
				cur, _ := k.Current(ctx, now)
				return cur.ID, err
			}
			_, created, err := k.Ensure(ctx, now) // the first key, at the first start
			require.NoError(t, err)
			require.True(t, created)

			rotateAt := t0.Add(time.Hour)
			fetchAt := rotateAt.Add(tc.lastFetch)
			var next token.Key
			rotate := func() {
				now = rotateAt
				next, err = k.Rotate(ctx, now)
				require.NoError(t, err)
			}
			if tc.lastFetch > 0 {
				rotate()
			}
			now = fetchAt
			_, err = verifyNew() // the receiver's last fetch
			require.NoError(t, err)
			require.Equal(t, 1, fetches)
			if tc.lastFetch < 0 {
				rotate()
			}

			// Every 5 s from then until well after the new key signs, each
			// new page token verifies.
			for now = fetchAt.Add(5 * time.Second); now.Before(next.SignsFrom.Add(2 * time.Minute)); now = now.Add(5 * time.Second) {
				kid, err := verifyNew()
				require.NoError(t, err, "%v after the rotation, signed by %s", now.Sub(rotateAt), kid)
				if now.Equal(next.SignsFrom) {
					assert.Equal(t, next.ID, kid, "a token of the new key, checked %v after the last fetch", now.Sub(fetchAt))
				}
			}
			cur, _ := k.Current(ctx, now)
			assert.Equal(t, next.ID, cur.ID, "by the end the new key signs")
			assert.LessOrEqual(t, fetches, 2, "the receiver fetched the JWKS at most once more")
		})
	}
}

// failingStore fails every read of the signing keys while down is set.
type failingStore struct {
	*sqlite.Store
	down bool
}

func (f *failingStore) SigningKeys(ctx context.Context) ([]*pulse.SigningKey, error) {
	if f.down {
		return nil, pulse.Errorf(pulse.EUnavailable, "the database is unavailable")
	}
	return f.Store.SigningKeys(ctx)
}

func TestSignsWhileTheDatabaseIsAway(t *testing.T) {
	_, s := newRing(t)
	f := &failingStore{Store: s}
	k := New(f, 0)
	ctx := context.Background()
	_, err := k.Sign(ctx, token.Claims{UUID: "u", SID: "s"}, t0) // creates the first key
	require.NoError(t, err)

	f.down = true
	k.Invalidate() // as when change notifications are lost
	_, err = k.Sign(ctx, token.Claims{UUID: "u", SID: "s"}, t0.Add(2*Refresh))
	assert.NoError(t, err, "the keys in memory keep signing")
	pub, err := k.Published(ctx, t0.Add(2*Refresh))
	require.NoError(t, err)
	assert.Len(t, pub, 1)

	fresh := New(f, 0)
	_, err = fresh.Sign(ctx, token.Claims{UUID: "u", SID: "s"}, t0)
	assert.Equal(t, pulse.EUnavailable, pulse.ErrorCode(err), "with nothing in memory, the outage shows")
}
