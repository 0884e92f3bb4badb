// Package keyring keeps the server's page-token signing keys: it loads them
// from the store (so that every instance on one database signs with the
// same keys and publishes the same JWKS), creates the first one, rotates
// them, and caches them for a short while.
package keyring

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/receiver"
	"github.com/pulsehq/pulse/server/token"
)

// Refresh is how long loaded keys are used before they are read again, so
// that a rotation made by another instance or by `pulse keys rotate` shows
// within that time.
const Refresh = 30 * time.Second

// PublishDelay is how long a rotated-in key is in the JWKS before it signs.
// A receiver must have its public half before it sees a token it signed:
// another instance may publish it up to Refresh late, an HTTP cache may
// serve the JWKS up to JWKSMaxAge old, and the receiver kit refetches the
// JWKS for an unknown key at most once per receiver.DefaultMinRefresh.
// Until then the key that signed goes on signing.
const PublishDelay = Refresh + JWKSMaxAge + receiver.DefaultMinRefresh

// JWKSMaxAge is the Cache-Control max-age of the JWKS.
const JWKSMaxAge = 60 * time.Second

// Keyring is safe for concurrent use.
type Keyring struct {
	store pulse.Store
	ttl   time.Duration // page token lifetime

	mu     sync.Mutex
	keys   []token.Key
	loaded time.Time
}

// New returns a keyring for tokens that live ttl (0 means
// token.DefaultTTL).
func New(store pulse.Store, ttl time.Duration) *Keyring {
	if ttl <= 0 {
		ttl = token.DefaultTTL
	}
	return &Keyring{store: store, ttl: ttl}
}

// TTL returns the lifetime of the tokens the keys sign.
func (k *Keyring) TTL() time.Duration { return k.ttl }

// Invalidate makes the next use read the keys again.
func (k *Keyring) Invalidate() {
	k.mu.Lock()
	k.loaded = time.Time{}
	k.mu.Unlock()
}

func (k *Keyring) load(ctx context.Context, now time.Time) ([]token.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.loaded.IsZero() && now.Sub(k.loaded) < Refresh && now.After(k.loaded.Add(-time.Second)) {
		return k.keys, nil
	}
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		if k.keys != nil {
			return k.keys, nil // keep signing while the database is away
		}
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]token.Key, 0, len(stored))
	for _, s := range stored {
		if len(s.Private) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("signing key %s: %d bytes, want %d", s.ID, len(s.Private), ed25519.PrivateKeySize)
		}
		tk := token.Key{ID: s.ID, Private: ed25519.PrivateKey(s.Private), CreatedAt: s.CreatedAt, SignsFrom: s.SignsFrom}
		if s.RetiredAt != nil {
			tk.RetiredAt = *s.RetiredAt
		}
		keys = append(keys, tk)
	}
	k.keys, k.loaded = keys, now
	return keys, nil
}

// Current returns the key that signs at now, creating the first one if
// there is none yet.
func (k *Keyring) Current(ctx context.Context, now time.Time) (token.Key, error) {
	keys, err := k.load(ctx, now)
	if err != nil {
		return token.Key{}, err
	}
	if cur, ok := token.Current(keys, now); ok {
		return cur, nil
	}
	cur, _, err := k.Ensure(ctx, now)
	return cur, err
}

// Ensure creates the first key, which signs at once, unless there is a key
// already, and returns the key that signs at now and whether it made it.
// `pulse serve` calls it at start, so that the key exists before the first
// page load asks for it.
func (k *Keyring) Ensure(ctx context.Context, now time.Time) (cur token.Key, created bool, err error) {
	keys, err := k.load(ctx, now)
	if err != nil {
		return token.Key{}, false, err
	}
	if cur, ok := token.Current(keys, now); ok {
		return cur, false, nil
	}
	cur, err = k.add(ctx, now, now)
	return cur, err == nil, err
}

// Rotate adds the next key: it is published at once and signs from
// now+PublishDelay, while the current key goes on signing until then. The
// previous key retires then and stays published until its tokens expire;
// keys retired longer ago than that are deleted. With no key yet, the new
// one is the first and signs at once.
func (k *Keyring) Rotate(ctx context.Context, now time.Time) (token.Key, error) {
	k.Invalidate()
	keys, err := k.load(ctx, now)
	if err != nil {
		return token.Key{}, err
	}
	if len(keys) == 0 {
		return k.add(ctx, now, now)
	}
	return k.add(ctx, now, now.Add(PublishDelay))
}

func (k *Keyring) add(ctx context.Context, now, signsFrom time.Time) (token.Key, error) {
	nk, err := token.NewKey(now)
	if err != nil {
		return token.Key{}, err
	}
	sk := &pulse.SigningKey{ID: nk.ID, Private: nk.Private, CreatedAt: now, SignsFrom: signsFrom}
	if err := k.store.AddSigningKey(ctx, sk); err != nil {
		return token.Key{}, fmt.Errorf("rotate signing key: %w", err)
	}
	nk.CreatedAt, nk.SignsFrom = sk.CreatedAt, sk.SignsFrom
	if _, err := k.store.DeleteSigningKeys(ctx, now.Add(-k.ttl-token.Leeway)); err != nil {
		return token.Key{}, fmt.Errorf("prune signing keys: %w", err)
	}
	// Read them back now, so that the new key is in memory should the
	// database go away before the next refresh.
	k.Invalidate()
	if _, err := k.load(ctx, now); err != nil {
		return token.Key{}, err
	}
	return nk, nil
}

// Published returns the keys the JWKS shows at now.
func (k *Keyring) Published(ctx context.Context, now time.Time) ([]token.Key, error) {
	if _, err := k.Current(ctx, now); err != nil {
		return nil, err
	}
	keys, err := k.load(ctx, now)
	if err != nil {
		return nil, err
	}
	return token.Published(keys, now, k.ttl), nil
}

// Sign signs page-token claims with the current key, setting iat and exp.
func (k *Keyring) Sign(ctx context.Context, c token.Claims, now time.Time) (string, error) {
	key, err := k.Current(ctx, now)
	if err != nil {
		return "", err
	}
	c.IssuedAt, c.Expiry = now.Unix(), now.Add(k.ttl).Unix()
	return token.Sign(key, c)
}
