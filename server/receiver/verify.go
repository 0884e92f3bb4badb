package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/pulsehq/pulse/server/token"
)

// Errors of Verify, besides the token package's (token.ErrExpired,
// token.ErrSignature, token.ErrUnknownKey …), which it wraps.
var (
	ErrNoToken  = errors.New("receiver: no token: the webhook sends events off, or the player is not Pulse's")
	ErrMismatch = errors.New("receiver: heartbeat does not match its token")
	ErrJWKS     = errors.New("receiver: cannot load the JWKS")
)

// Verifier checks heartbeats' page tokens (PROTOCOL.md §5) against the
// public keys a Pulse server publishes at /.well-known/jwks.json. It caches
// the key set and refetches it when a token names a key it does not know
// (a rotation), at most once per MinRefresh. It is safe for concurrent use.
type Verifier struct {
	// JWKSURL is the Pulse server's key set, such as
	// https://pulse.example.edu/.well-known/jwks.json.
	JWKSURL string
	// Issuer is the iss every token must carry: the Pulse server's public
	// base URL. Empty means the origin of JWKSURL.
	Issuer string
	// Client fetches the key set; nil means a client with a 10 s timeout.
	Client *http.Client
	// TTL is how long a fetched key set is trusted; 0 means 10 minutes.
	TTL time.Duration
	// MinRefresh bounds refetches for unknown keys; 0 means
	// DefaultMinRefresh.
	MinRefresh time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// DefaultMinRefresh is the least time between two fetches of the JWKS for
// a token with an unknown key. A Pulse server publishes a new key longer
// than that before it signs with it (keyring.PublishDelay).
const DefaultMinRefresh = 30 * time.Second

// Expect says how a webhook maps the player URL to the payload: the value
// of the URL parameter RequestField, as signed in the token's q claim, must
// be what arrived under ResponseField. With RequestField empty, the value
// must equal one of the token's q values (weaker: for demos).
type Expect struct {
	RequestField  string
	ResponseField string
}

// Verify checks that hb carries a valid token from the Pulse server and
// that the token vouches for what hb says: its uuid, its session, and the
// response field's value. It returns the token's claims (LV tells whether
// the page was opened with a signed link).
func (v *Verifier) Verify(ctx context.Context, hb *Heartbeat, e Expect) (*token.Claims, error) {
	if hb.Token == "" {
		return nil, ErrNoToken
	}
	c, err := v.check(ctx, hb.Token)
	if err != nil {
		return nil, err
	}
	if c.UUID != hb.UUID {
		return nil, fmt.Errorf("%w: uuid %q, token says %q", ErrMismatch, hb.UUID, c.UUID)
	}
	if c.SID != hb.Session {
		return nil, fmt.Errorf("%w: session %q, token says %q", ErrMismatch, hb.Session, c.SID)
	}
	name := e.ResponseField
	if name == "" {
		name, _ = hb.Custom()
	}
	got := hb.Get(name)
	if e.RequestField != "" {
		if want := c.Q[e.RequestField]; got != want {
			return nil, fmt.Errorf("%w: %s %q, token says %s=%q", ErrMismatch, name, got, e.RequestField, want)
		}
		return c, nil
	}
	for _, want := range c.Q {
		if got == want {
			return c, nil
		}
	}
	if got == "" && len(c.Q) == 0 {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %s %q is not a value the page was opened with", ErrMismatch, name, got)
}

// check verifies a raw token, refreshing the key set once if the token's
// key is unknown or the set is stale.
func (v *Verifier) check(ctx context.Context, raw string) (*token.Claims, error) {
	now := v.now()
	set, fresh, err := v.keys(ctx, false)
	if err != nil {
		return nil, err
	}
	c, err := token.Verify(raw, set, v.issuer(), now)
	if errors.Is(err, token.ErrUnknownKey) && !fresh {
		if set, _, err = v.keys(ctx, true); err != nil {
			return nil, err
		}
		c, err = token.Verify(raw, set, v.issuer(), now)
	}
	return c, err
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) issuer() string {
	if v.Issuer != "" {
		return v.Issuer
	}
	u, err := url.Parse(v.JWKSURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// keys returns the cached key set, fetching it when missing, stale, or
// when refresh asks and the last fetch is older than MinRefresh. fresh
// reports whether it was fetched just now.
func (v *Verifier) keys(ctx context.Context, refresh bool) (set *jose.JSONWebKeySet, fresh bool, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ttl, minRefresh := v.TTL, v.MinRefresh
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	if minRefresh == 0 {
		minRefresh = DefaultMinRefresh
	}
	age := v.now().Sub(v.fetched)
	if v.set != nil && age < ttl && (!refresh || age < minRefresh) {
		return v.set, false, nil
	}
	set, err = v.fetch(ctx)
	if err != nil {
		if v.set != nil && !refresh {
			return v.set, false, nil // a stale set beats none while the server is down
		}
		return nil, false, err
	}
	v.set, v.fetched = set, v.now()
	return set, true, nil
}

func (v *Verifier) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	client := v.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", ErrJWKS, v.JWKSURL, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	set, err := token.ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	return set, nil
}
