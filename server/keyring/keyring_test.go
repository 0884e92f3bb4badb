package keyring

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
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
	cur, err := k.Current(ctx, t1)
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
	t2 := t1.Add(token.DefaultTTL + 2*token.Leeway)
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
	kb, _ = b.Current(ctx, t0.Add(10*time.Second))
	assert.Equal(t, ka.ID, kb.ID, "b still uses its cached keys")
	kb, _ = b.Current(ctx, t0.Add(Refresh))
	assert.Equal(t, rotated.ID, kb.ID, "b reads them again after Refresh")
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
