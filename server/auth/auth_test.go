package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func TestLimiter(t *testing.T) {
	l := NewLimiter(3, time.Minute)
	assert.Zero(t, l.Wait("a", t0))
	for range 3 {
		l.Fail("a", t0)
	}
	assert.Equal(t, 61*time.Second, l.Wait("a", t0), "Wait after 3 failures")
	assert.InDelta(t, 1, l.Over("a", t0), 1e-9, "Over after 3 failures")
	assert.InDelta(t, 0.5, l.Over("a", t0.Add(30*time.Second)), 1e-9, "Over after 3 failures and 30 s")
	assert.Zero(t, l.Over("b", t0), "Over of an unknown key")
	assert.Zero(t, l.Wait("b", t0), "keys are independent")
	assert.Equal(t, 31*time.Second, l.Wait("a", t0.Add(30*time.Second)))
	assert.Zero(t, l.Wait("a", t0.Add(time.Minute)), "one failure forgiven after a minute")
	l.Fail("a", t0.Add(time.Minute))
	assert.NotZero(t, l.Wait("a", t0.Add(time.Minute)))
	assert.Zero(t, l.Wait("a", t0.Add(10*time.Minute)))

	for i := range maxKeys + 10 {
		l.Fail(strings.Repeat("k", i%50)+string(rune('a'+i%26))+time.Duration(i).String(), t0)
	}
	l.Fail("late", t0.Add(time.Hour))
	assert.LessOrEqual(t, l.Len(), maxKeys, "drained keys are pruned")
}

type fixture struct {
	store *sqlite.Store
	auth  *Auth
	admin *pulse.Admin
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, now: t0}
	f.auth = New(store, Config{BcryptCost: bcrypt.MinCost})
	f.auth.Now = func() time.Time { return f.now }
	gen, err := f.auth.EnsureAdmin(context.Background(), "admin", "correct horse")
	require.NoError(t, err)
	assert.Empty(t, gen)
	f.admin, err = store.AdminByUsername(context.Background(), "admin")
	require.NoError(t, err)
	return f
}

func request(header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/admin/webhooks", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func TestEnsureAdmin(t *testing.T) {
	f := newFixture(t)
	gen, err := f.auth.EnsureAdmin(context.Background(), "admin", "")
	require.NoError(t, err)
	assert.Empty(t, gen, "an admin exists: nothing made")

	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"))
	require.NoError(t, err)
	defer store.Close()
	a := New(store, Config{BcryptCost: bcrypt.MinCost})
	gen, err = a.EnsureAdmin(context.Background(), "admin", "")
	require.NoError(t, err)
	assert.Len(t, gen, 20)
	_, _, err = a.Login(context.Background(), "admin", gen, "1.2.3.4")
	assert.NoError(t, err, "the printed password works")

	store2, _ := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"))
	defer store2.Close()
	_, err = New(store2, Config{BcryptCost: bcrypt.MinCost}).EnsureAdmin(context.Background(), "admin", "short")
	assert.Equal(t, pulse.EInvalid, pulse.ErrorCode(err), "a too short PULSE_ADMIN_PASSWORD is refused")
}

// lateStore hides the admins, as when another instance creates the first
// admin between this one's look and its insert.
type lateStore struct{ pulse.Store }

func (lateStore) Admins(context.Context) ([]*pulse.Admin, error) { return nil, nil }

// Instances starting together on an empty database both try to make the
// first admin: the one that loses starts anyway, printing no password.
func TestEnsureAdminRace(t *testing.T) {
	f := newFixture(t)
	gen, err := New(lateStore{f.store}, Config{BcryptCost: bcrypt.MinCost}).EnsureAdmin(context.Background(), "admin", "")
	require.NoError(t, err)
	assert.Empty(t, gen, "the other instance printed the password")
	_, _, err = f.auth.Login(context.Background(), "admin", "correct horse", "1.2.3.4")
	assert.NoError(t, err, "the first password stands")
}

func TestLoginAndSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, s, err := f.auth.Login(ctx, "admin", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(DefaultSessionTTL), s.ExpiresAt)
	assert.NotContains(t, s.ID, secret, "the store keeps a hash")

	p, err := f.auth.Authenticate(request("Cookie", CookieName+"="+secret))
	require.NoError(t, err)
	assert.Equal(t, f.admin.ID, p.Admin.ID)
	assert.Equal(t, "session", p.Via())

	for name, r := range map[string]*http.Request{
		"anonymous":      request(),
		"unknown cookie": request("Cookie", CookieName+"=nope"),
		"bad scheme":     request("Authorization", "Basic YWRtaW46eA=="),
		"empty bearer":   request("Authorization", "Bearer "),
		"unknown token":  request("Authorization", "Bearer pulse_nope"),
		"not a token":    request("Authorization", "Bearer "+secret),
	} {
		_, err := f.auth.Authenticate(r)
		assert.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err), name)
	}

	f.now = t0.Add(DefaultSessionTTL)
	_, err = f.auth.Authenticate(request("Cookie", CookieName+"="+secret))
	require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err), "an expired session is refused")
	assert.Contains(t, err.Error(), "expired")
	_, err = f.store.Session(ctx, s.ID)
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err), "and deleted")

	secret, _, err = f.auth.Login(ctx, "admin", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	require.NoError(t, f.auth.Logout(ctx, secret))
	_, err = f.auth.Authenticate(request("Cookie", SecureCookieName+"="+secret))
	assert.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err), "signed out")
	assert.NoError(t, f.auth.Logout(ctx, secret), "twice is fine")
}

func TestLoginFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.auth.Login(ctx, "admin", "wrong", "1.2.3.4")
	assert.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
	_, _, err2 := f.auth.Login(ctx, "nobody", "correct horse", "1.2.3.4")
	assert.Equal(t, err.Error(), err2.Error(), "an unknown user and a wrong password read the same")

	// Per user name from one address: 10 failures lock that pair.
	for range 9 {
		_, _, err := f.auth.Login(ctx, "Admin", "wrong", "1.2.3.4")
		require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
	}
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "1.2.3.4")
	require.Equal(t, pulse.ERateLimited, pulse.ErrorCode(err), "even the right password waits, from that address")
	assert.Equal(t, 61*time.Second, RetryAfter(err))
	assert.Contains(t, err.Error(), "try again in 2 minutes")
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "10.9.9.9")
	assert.NoError(t, err, "another address signs in")
	f.now = f.now.Add(time.Minute)
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "1.2.3.4")
	assert.NoError(t, err, "a minute later one attempt is allowed")

	// Per IP: 20 failures from one address lock it for every user name.
	f.now = f.now.Add(time.Hour)
	for i := range 20 {
		_, _, err := f.auth.Login(ctx, "user"+string(rune('a'+i)), "wrong", "6.6.6.6")
		require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
	}
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "6.6.6.6")
	assert.Equal(t, pulse.ERateLimited, pulse.ErrorCode(err))
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "7.7.7.7")
	assert.NoError(t, err, "other addresses are not blocked")
}

// TestAdminCannotBeLockedOut: guessers on many addresses fail thousands of
// times for "admin"; they are refused or slowed down, and the admin, from
// an address of their own, still signs in.
func TestAdminCannotBeLockedOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var delays []time.Duration
	f.auth.Sleep = func(_ context.Context, d time.Duration) error {
		delays = append(delays, d)
		return nil
	}
	// One attacker exhausts its attempts, then keeps trying once a minute
	// (which the old per-user-name limit turned into a permanent lockout).
	for range 10 {
		_, _, err := f.auth.Login(ctx, "admin", "guess", "6.6.6.6")
		require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
	}
	_, _, err := f.auth.Login(ctx, "admin", "guess", "6.6.6.6")
	require.Equal(t, pulse.ERateLimited, pulse.ErrorCode(err), "the attacker's address is refused")
	for range 30 {
		f.now = f.now.Add(time.Minute)
		_, _, err := f.auth.Login(ctx, "admin", "guess", "6.6.6.6")
		require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
	}
	delays = nil
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "192.0.2.7")
	require.NoError(t, err, "the admin signs in from another address")
	assert.Equal(t, []time.Duration{time.Second}, delays, "after a short wait: the user name is over its limit by one")

	// Many attackers: the user name is far over its limit, so attempts
	// are slowed down, never by more than MaxUserDelay, and never refused
	// for an address without failures.
	for i := range 50 {
		for range 10 {
			_, _, err := f.auth.Login(ctx, "admin", "guess", fmt.Sprintf("10.0.%d.%d", i/250, i%250))
			require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err))
		}
	}
	delays = nil
	_, _, err = f.auth.Login(ctx, "admin", "correct horse", "192.0.2.8")
	require.NoError(t, err, "the admin still signs in")
	assert.Equal(t, []time.Duration{DefaultMaxUserDelay}, delays)
	_, _, err = f.auth.Login(ctx, "admin", "guess", "10.0.0.1")
	assert.Equal(t, pulse.ERateLimited, pulse.ErrorCode(err), "each attacker address stays refused")
	assert.Zero(t, f.auth.UserDelay("ops", f.now), "other user names are not slowed down")

	// A client that gives up during the wait gets an error, not a session.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	f.auth.Sleep = sleep
	_, _, err = f.auth.Login(cancelled, "admin", "correct horse", "192.0.2.9")
	assert.ErrorIs(t, err, context.Canceled)

	// The failures are forgiven with time: one a minute.
	assert.Zero(t, f.auth.UserDelay("admin", f.now.Add(600*time.Minute)))
}

func TestUserDelay(t *testing.T) {
	a := New(nil, Config{UserBurst: 3, MaxUserDelay: 3 * time.Second})
	for i, want := range []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		assert.Equal(t, want, a.UserDelay("admin", t0), "UserDelay after %d failures", i)
		a.users.Fail("admin", t0)
	}
	a = New(nil, Config{UserBurst: 3, MaxUserDelay: 3 * time.Second})
	for range 3 {
		a.users.Fail("admin", t0)
	}
	assert.Equal(t, time.Second, a.UserDelay("ADMIN", t0), "user names are case-insensitive")
	assert.Equal(t, time.Second, a.UserDelay("admin", t0.Add(30*time.Second)), "half a failure forgiven: still 1 s")
	assert.Zero(t, a.UserDelay("admin", t0.Add(time.Minute)))
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, tok, err := f.auth.NewToken(ctx, f.admin.ID, "  LMS sync ")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(secret, TokenPrefix))
	assert.Equal(t, "LMS sync", tok.Name)
	assert.True(t, strings.HasPrefix(secret, tok.Prefix))
	assert.Len(t, secret, len(TokenPrefix)+43)

	p, err := f.auth.Authenticate(request("Authorization", "Bearer "+secret))
	require.NoError(t, err)
	assert.Equal(t, "token", p.Via())
	assert.Equal(t, f.admin.ID, p.Admin.ID)
	got, _ := f.store.TokenByHash(ctx, tok.Hash)
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, got.LastUsedAt.Equal(t0))

	_, err = f.auth.Authenticate(request("Authorization", "bearer  "+secret))
	assert.NoError(t, err, "the scheme is case-insensitive")

	require.NoError(t, f.store.RevokeToken(ctx, tok.ID, t0))
	_, err = f.auth.Authenticate(request("Authorization", "Bearer "+secret))
	require.Equal(t, pulse.EUnauthorized, pulse.ErrorCode(err), "a revoked token is refused")
	assert.Contains(t, err.Error(), "revoked")

	_, _, err = f.auth.NewToken(ctx, f.admin.ID, " ")
	assert.Equal(t, pulse.EInvalid, pulse.ErrorCode(err))
}

func TestCookies(t *testing.T) {
	f := newFixture(t)
	_, s, err := f.auth.Login(context.Background(), "admin", "correct horse", "1.2.3.4")
	require.NoError(t, err)
	w := httptest.NewRecorder()
	f.auth.SetCookie(w, request(), "secret", s)
	c := w.Result().Cookies()[0]
	assert.Equal(t, CookieName, c.Name)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.False(t, c.Secure, "plain http")
	assert.Equal(t, int(DefaultSessionTTL.Seconds()), c.MaxAge)

	f.auth.cfg.Secure = true
	w = httptest.NewRecorder()
	f.auth.SetCookie(w, request(), "secret", s)
	c = w.Result().Cookies()[0]
	assert.Equal(t, SecureCookieName, c.Name)
	assert.True(t, c.Secure, "https base URL")
}

func TestClientIP(t *testing.T) {
	r := request("X-Forwarded-For", "6.6.6.6, 10.0.0.1")
	r.RemoteAddr = "127.0.0.1:5555"
	assert.Equal(t, "127.0.0.1", New(nil, Config{}).ClientIP(r), "headers are ignored unless configured")
	assert.Equal(t, "10.0.0.1", New(nil, Config{RealIPHeader: "X-Forwarded-For"}).ClientIP(r), "the entry our proxy added")
	assert.Equal(t, "127.0.0.1", New(nil, Config{RealIPHeader: "X-Real-IP"}).ClientIP(r), "absent header")
}
