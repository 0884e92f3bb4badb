// Package auth signs admins in and out and recognises them on each request:
// passwords hashed with bcrypt, sessions in HttpOnly cookies (stored as the
// SHA-256 of the cookie value), API tokens sent as "Authorization: Bearer"
// (stored as the SHA-256 of the secret, revocable), and sign-in attempts
// rate-limited per IP address and per user name from that address, and
// slowed down (never refused) per user name from everywhere, so that no one
// can lock an admin out.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pulsehq/pulse/server/pulse"
)

// Defaults of Config.
const (
	DefaultSessionTTL = 12 * time.Hour
	DefaultBcryptCost = 12
	// DefaultMaxUserDelay bounds how long a sign-in waits when its user
	// name failed too often from everywhere (see Config).
	DefaultMaxUserDelay = 5 * time.Second
	// TokenPrefix starts every API token, so that secret scanners and
	// people recognise one.
	TokenPrefix = "pulse_"
	// CookieName is the session cookie over http; over https it is
	// SecureCookieName, whose __Host- prefix makes browsers refuse it
	// unless it is Secure, host-only and for the whole site.
	CookieName       = "pulse_session"
	SecureCookieName = "__Host-pulse_session"
)

// Config tunes Auth; zero values take the defaults.
type Config struct {
	SessionTTL time.Duration
	BcryptCost int
	// Secure marks session cookies Secure on every request (set it when
	// the public base URL is https behind a TLS-terminating proxy).
	// Requests that arrive over TLS get Secure cookies anyway.
	Secure bool
	// RealIPHeader names a header set by a trusted reverse proxy that
	// holds the client's address (X-Forwarded-For: its last entry;
	// X-Real-IP). Empty means the connection's address.
	RealIPHeader string
	// Sign-in limits. Failures from one IP address (IPBurst, one forgiven
	// per IPEvery) and for one user name from one address (PairBurst, one
	// forgiven per PairEvery) are refused past their burst with a
	// *RateLimitError. Failures for one user name from all addresses
	// (UserBurst, one forgiven per UserEvery) never refuse an attempt:
	// past the burst, each attempt for that user name waits a second more
	// per failure over, at most MaxUserDelay, before its password is
	// checked. So a guesser spread over many addresses is slowed down, and
	// the admin, from an address without failures of its own, still signs
	// in with the right password.
	IPBurst, PairBurst, UserBurst int
	IPEvery, PairEvery, UserEvery time.Duration
	MaxUserDelay                  time.Duration
}

// Auth authenticates admins against a store.
type Auth struct {
	store pulse.Store
	cfg   Config
	Now   func() time.Time // the clock; tests replace it
	// Sleep waits d or until ctx is done; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error

	ips, pairs, users *Limiter

	dummyOnce sync.Once
	dummy     []byte // a bcrypt hash compared against when the user is unknown
}

// New returns an Auth on store.
func New(store pulse.Store, cfg Config) *Auth {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	if cfg.IPBurst <= 0 {
		cfg.IPBurst = 20
	}
	if cfg.PairBurst <= 0 {
		cfg.PairBurst = 10
	}
	if cfg.UserBurst <= 0 {
		cfg.UserBurst = 10
	}
	if cfg.IPEvery <= 0 {
		cfg.IPEvery = 30 * time.Second
	}
	if cfg.PairEvery <= 0 {
		cfg.PairEvery = time.Minute
	}
	if cfg.UserEvery <= 0 {
		cfg.UserEvery = time.Minute
	}
	if cfg.MaxUserDelay <= 0 {
		cfg.MaxUserDelay = DefaultMaxUserDelay
	}
	return &Auth{store: store, cfg: cfg, Now: time.Now, Sleep: sleep,
		ips: NewLimiter(cfg.IPBurst, cfg.IPEvery), pairs: NewLimiter(cfg.PairBurst, cfg.PairEvery),
		users: NewLimiter(cfg.UserBurst, cfg.UserEvery)}
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SessionTTL returns how long a session lasts.
func (a *Auth) SessionTTL() time.Duration { return a.cfg.SessionTTL }

// HashPassword returns the bcrypt hash of a password that passes
// pulse.ValidatePassword.
func HashPassword(password string, cost int) (string, error) {
	if err := pulse.ValidatePassword(password); err != nil {
		return "", err
	}
	if cost == 0 {
		cost = DefaultBcryptCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// HashPassword hashes with the Auth's cost.
func (a *Auth) HashPassword(password string) (string, error) {
	return HashPassword(password, a.cfg.BcryptCost)
}

// RandomPassword returns a password of 20 characters (about 119 bits) that
// people can copy: letters and digits without look-alikes.
func RandomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}

// EnsureAdmin creates the admin username when no admin exists yet, with
// password, or with a random one when password is empty. It returns the
// random password (to show once), or "" when it made none (also when
// another instance starting at the same time made the admin first).
func (a *Auth) EnsureAdmin(ctx context.Context, username, password string) (generated string, err error) {
	admins, err := a.store.Admins(ctx)
	if err != nil {
		return "", err
	}
	if len(admins) > 0 {
		return "", nil
	}
	if err := pulse.ValidateUsername(username); err != nil {
		return "", err
	}
	if password == "" {
		password = RandomPassword()
		generated = password
	}
	hash, err := a.HashPassword(password)
	if err != nil {
		return "", err
	}
	err = a.store.CreateAdmin(ctx, &pulse.Admin{Username: username, PasswordHash: hash})
	if pulse.ErrorCode(err) == pulse.EConflict {
		return "", nil // another instance, starting at the same time, made it
	}
	if err != nil {
		return "", err
	}
	return generated, nil
}

// RateLimitError is a refused sign-in attempt.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return e.pulseError().Error() }

// Unwrap lets pulse.ErrorCode see ERateLimited.
func (e *RateLimitError) Unwrap() error { return e.pulseError() }

func (e *RateLimitError) pulseError() *pulse.Error {
	return pulse.Errorf(pulse.ERateLimited, "too many failed sign-in attempts: try again in %s", humanDuration(e.RetryAfter))
}

func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()+0.5))
	}
	m := int((d + 59*time.Second) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// errBadCredentials says nothing about which part was wrong.
var errBadCredentials = pulse.Errorf(pulse.EUnauthorized, "wrong user name or password")

// Login checks a user name and password from the client at ip, and on
// success starts a session: it returns the cookie value (the only copy of
// the session's secret) and the session. Failures are EUnauthorized, or a
// *RateLimitError when ip, or username from ip, failed too often. When
// username failed too often from everywhere, Login first waits (see
// Config); it fails with ctx's error if ctx ends meanwhile.
func (a *Auth) Login(ctx context.Context, username, password, ip string) (string, *pulse.Session, error) {
	now := a.Now()
	userKey := strings.ToLower(username)
	pairKey := ip + "\x00" + userKey
	if wait := max(a.ips.Wait(ip, now), a.pairs.Wait(pairKey, now)); wait > 0 {
		return "", nil, &RateLimitError{RetryAfter: wait}
	}
	if d := a.UserDelay(username, now); d > 0 {
		if err := a.Sleep(ctx, d); err != nil {
			return "", nil, fmt.Errorf("auth: sign-in delay: %w", err)
		}
		now = a.Now()
	}
	admin, err := a.store.AdminByUsername(ctx, username)
	if err != nil && pulse.ErrorCode(err) != pulse.ENotFound {
		return "", nil, err
	}
	ok := false
	if admin != nil {
		ok = bcrypt.CompareHashAndPassword([]byte(admin.PasswordHash), []byte(password)) == nil
	} else {
		// Spend the same time as for a real user, so that timing does not
		// tell which user names exist.
		a.dummyOnce.Do(func() { a.dummy, _ = bcrypt.GenerateFromPassword([]byte("not a password"), a.cfg.BcryptCost) })
		bcrypt.CompareHashAndPassword(a.dummy, []byte(password))
	}
	if !ok {
		a.ips.Fail(ip, now)
		a.pairs.Fail(pairKey, now)
		a.users.Fail(userKey, now)
		return "", nil, errBadCredentials
	}
	if _, err := a.store.DeleteExpiredSessions(ctx, now); err != nil {
		return "", nil, err
	}
	secret := randomSecret()
	s := &pulse.Session{ID: hashSecret(secret), AdminID: admin.ID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.SessionTTL)}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	return secret, s, nil
}

// UserDelay returns how long a sign-in attempt for username waits at now
// because of failures for that name from every address: zero within
// UserBurst, then one second per failure over, at most MaxUserDelay.
func (a *Auth) UserDelay(username string, now time.Time) time.Duration {
	over := a.users.Over(strings.ToLower(username), now)
	if over <= 0 {
		return 0
	}
	return min(a.cfg.MaxUserDelay, time.Duration(math.Ceil(over))*time.Second)
}

// Logout ends the session whose cookie value is secret; an unknown one is
// not an error.
func (a *Auth) Logout(ctx context.Context, secret string) error {
	err := a.store.DeleteSession(ctx, hashSecret(secret))
	if pulse.ErrorCode(err) == pulse.ENotFound {
		return nil
	}
	return err
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Principal is who a request comes from.
type Principal struct {
	Admin   *pulse.Admin
	Session *pulse.Session // set when signed in with a cookie
	Token   *pulse.Token   // set when authenticated with an API token
}

// Via says how the principal authenticated: "session" or "token".
func (p *Principal) Via() string {
	if p.Token != nil {
		return "token"
	}
	return "session"
}

// Authenticate returns who sent r: the API token of its Authorization
// header, or else its session cookie. It fails with EUnauthorized when
// there are no credentials or they are wrong, expired or revoked.
func (a *Auth) Authenticate(r *http.Request) (*Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return nil, pulse.Errorf(pulse.EUnauthorized, "the Authorization header must be \"Bearer <API token>\"")
		}
		return a.authenticateToken(ctx, strings.TrimSpace(secret))
	}
	secret := a.cookie(r)
	if secret == "" {
		return nil, pulse.Errorf(pulse.EUnauthorized, "sign in first, or send an API token as \"Authorization: Bearer <token>\"")
	}
	s, err := a.store.Session(ctx, hashSecret(secret))
	if pulse.ErrorCode(err) == pulse.ENotFound {
		return nil, pulse.Errorf(pulse.EUnauthorized, "your session has ended: sign in again")
	}
	if err != nil {
		return nil, err
	}
	if s.Expired(a.Now()) {
		a.store.DeleteSession(ctx, s.ID)
		return nil, pulse.Errorf(pulse.EUnauthorized, "your session has expired: sign in again")
	}
	admin, err := a.store.Admin(ctx, s.AdminID)
	if pulse.ErrorCode(err) == pulse.ENotFound {
		return nil, pulse.Errorf(pulse.EUnauthorized, "your session has ended: sign in again")
	}
	if err != nil {
		return nil, err
	}
	return &Principal{Admin: admin, Session: s}, nil
}

// touchEvery bounds how often a token's last use is written.
const touchEvery = time.Minute

func (a *Auth) authenticateToken(ctx context.Context, secret string) (*Principal, error) {
	bad := pulse.Errorf(pulse.EUnauthorized, "this API token is not valid")
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, bad
	}
	hash := hashSecret(secret)
	t, err := a.store.TokenByHash(ctx, hash)
	if pulse.ErrorCode(err) == pulse.ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return nil, bad
	}
	if t.Revoked() {
		return nil, pulse.Errorf(pulse.EUnauthorized, "this API token was revoked")
	}
	admin, err := a.store.Admin(ctx, t.AdminID)
	if err != nil {
		if pulse.ErrorCode(err) == pulse.ENotFound {
			return nil, bad
		}
		return nil, err
	}
	now := a.Now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := a.store.TouchToken(ctx, t.ID, now); err == nil {
			t.LastUsedAt = &now
		}
	}
	return &Principal{Admin: admin, Token: t}, nil
}

// NewToken creates an API token for the admin and returns its secret,
// which is not stored and cannot be shown again.
func (a *Auth) NewToken(ctx context.Context, adminID, name string) (string, *pulse.Token, error) {
	name = strings.TrimSpace(name)
	if err := pulse.ValidateTokenName(name); err != nil {
		return "", nil, err
	}
	secret := TokenPrefix + randomSecret()
	t := &pulse.Token{Name: name, Prefix: secret[:len(TokenPrefix)+6], Hash: hashSecret(secret), AdminID: adminID}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// cookie returns the session cookie's value, or "".
func (a *Auth) cookie(r *http.Request) string {
	for _, name := range []string{SecureCookieName, CookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// Cookie returns the session cookie value of r, or "".
func (a *Auth) Cookie(r *http.Request) string { return a.cookie(r) }

func (a *Auth) secure(r *http.Request) bool { return a.cfg.Secure || r.TLS != nil }

// SetCookie sends the session cookie: HttpOnly, SameSite=Lax, Secure over
// https, lasting as long as the session.
func (a *Auth) SetCookie(w http.ResponseWriter, r *http.Request, secret string, s *pulse.Session) {
	name := CookieName
	if a.secure(r) {
		name = SecureCookieName
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.secure(r),
		Expires: s.ExpiresAt, MaxAge: int(s.ExpiresAt.Sub(a.Now()).Seconds()),
	})
}

// ClearCookie removes the session cookie from the browser.
func (a *Auth) ClearCookie(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{SecureCookieName, CookieName} {
		if _, err := r.Cookie(name); err != nil {
			continue
		}
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Secure: name == SecureCookieName || a.secure(r), MaxAge: -1})
	}
}

// ClientIP returns the address a request comes from: the configured real-IP
// header's when set and present, else the connection's.
func (a *Auth) ClientIP(r *http.Request) string {
	if h := a.cfg.RealIPHeader; h != "" {
		if v := r.Header.Values(h); len(v) > 0 {
			// Proxies append: the last entry is the one our proxy added.
			parts := strings.Split(v[len(v)-1], ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RetryAfter returns how long a rate-limited client must wait, or 0.
func RetryAfter(err error) time.Duration {
	var e *RateLimitError
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
